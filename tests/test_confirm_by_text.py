"""Confirm by text (SPEC "Confirmations and reviews"): a reminder, then the customer's C, YES, 👍 or reschedule request.

On each backend: the real app (sending nothing, RUN_SENDER=false), the real reminder loop on an injected
clock, and signed webhooks decided at an injected clock (handlers.twilio.receive.clock). Job 1001 (Dana,
junk removal) is booked for Sat Mar 6 2038 at 9:00 AM in Chicago; its reminder goes out Fri Mar 5 at
5:00 PM (REMINDER_HOUR 17).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

import handlers.twilio.receive
from bot import conversation as talk
from bot.jobs import iso_utc
from cli import transcript
from config.settings import load_settings
from sender.reminders import Reminders
from store import events
from tests.store_contract.conftest import BACKENDS, URL_MAKERS
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.test_sms_media import Harness, mms, replies_of, sid_of, twilio_media
from web.app import create_app

CHICAGO = ZoneInfo("America/Chicago")
APPOINTMENT = "2038-03-06T09:00"
WHEN = "Sat Mar 6, 9:00 AM"
REMINDED = datetime(2038, 3, 5, 17, 0, tzinfo=CHICAGO)
CONFIRMED = f"QuickDumpNow: Thanks, you're confirmed for {WHEN}."
ACK = "QuickDumpNow: Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."
SECRET = "whsec_" + base64.b64encode(b"qdn-test-events-secret-32-bytes!").decode()


class Clock:
    def __init__(self) -> None:
        self.at = REMINDED

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)


class World(Harness):
    """The app, its clock, and Dana's job 1001."""

    clock: Clock

    def remind(self, at: datetime = REMINDED) -> None:
        """One pass of the reminder loop at `at`; exactly one reminder is queued."""
        self.clock.at = at
        svc = self.client.app_state["services"]
        loop = Reminders(svc.store, svc.notifier, self.settings.reminder_policy, now=self.clock)
        assert self.call(loop.run_once) == 1

    def text(self, words: str, *, at: datetime | None = None, sender: str = CUSTOMER) -> list[str]:
        """`words` from `sender` at `at` (default: an hour after the reminder); the answer's texts."""
        self.clock.at = at or REMINDED + timedelta(hours=1)
        self.last = mms(sender, words, ())
        response = self.post(self.last)
        assert response.status_code == 200, response.text
        return replies_of(response)

    def job(self, job_id: int = 1001) -> dict[str, Any]:
        return self.client.get(f"/jobs/{job_id}").json()

    def relays(self) -> list[str]:
        return [m["body"] for m in self.call(self.store.phone_messages, DISPATCHER) if m["kind"] == "relay"]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = Clock()
    monkeypatch.setattr(handlers.twilio.receive, "clock", clock)
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        environ = base_environ(
            tmp_path, DATABASE_URL=url, RUN_SENDER="false", EVENTS_URL="https://dash.example.test/hooks"
        )
        environ["EVENTS_SECRET"] = SECRET
        settings = load_settings(environ, env_file=None)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            assert client.post("/jobs", json=job_body(scheduled_for=APPOINTMENT)).json()["id"] == 1001
            harness = World(client, settings)
            harness.clock = clock
            yield harness


def reminder_of(w: World, job_id: int = 1001) -> dict[str, Any]:
    (reminder,) = [m for m in w.call(w.store.job_messages, job_id) if "a reminder about" in m["body"]]
    return reminder


# -- a C within 48 hours confirms -----------------------------------------------------------------


def test_the_reminder_asks_for_a_c_and_a_c_confirms_the_job(world: World) -> None:
    world.remind()
    assert reminder_of(world)["body"].endswith("Reply C to confirm.")
    assert world.job()["confirmed_at"] is None

    assert world.text("C") == [CONFIRMED]
    job = world.job()
    assert job["confirmed_at"] == iso_utc(REMINDED + timedelta(hours=1))
    assert list(job).index("confirmed_at") == list(job).index("reminder_held") + 1  # in the documented order
    inbound = world.inbound(sid_of(world.last))
    assert (inbound["kind"], inbound["job_id"]) == ("command", 1001)
    assert world.relays() == []  # nothing for a person to do

    # A second confirmation later keeps the first time; no second event.
    world.text("confirm", at=REMINDED + timedelta(hours=3))
    assert world.job()["confirmed_at"] == job["confirmed_at"]
    types = []
    while (event := world.call(world.store.claim_event, iso_utc(datetime.now(UTC)), 30.0)) is not None:
        types.append(event["type"])
        world.call(world.store.complete_event, event["id"], lambda e: {**e, "status": "delivered"})
    assert types.count(events.JOB_CONFIRMED) == 1


@pytest.mark.parametrize("words", ["c", "C.", "CONFIRM", "Confirm!", "YES", "yes please", "Y", "👍", "👍🏽"])
def test_every_way_of_saying_yes_confirms(world: World, words: str) -> None:
    world.remind()
    assert world.text(words) == [CONFIRMED]
    assert world.job()["confirmed_at"] is not None


def test_just_inside_the_window_confirms(world: World) -> None:
    world.remind()
    assert world.text("C", at=REMINDED + timedelta(hours=47, minutes=59)) == [CONFIRMED]


@pytest.mark.parametrize("after", [timedelta(hours=48, minutes=1), timedelta(days=5)])
def test_after_the_window_a_c_is_ordinary_text(world: World, after: timedelta) -> None:
    world.remind()
    assert world.text("C", at=REMINDED + after) == [ACK]
    assert world.relays() == ["Dana (1001, scheduled): C Reply: R 1001 <text>"]
    assert world.inbound(sid_of(world.last))["kind"] == "text"
    assert world.job()["confirmed_at"] is None


def test_without_a_reminder_a_c_is_ordinary_text(world: World) -> None:
    assert world.text("C") == [ACK]
    assert world.job()["confirmed_at"] is None


def test_from_an_opted_out_number_yes_opts_in_and_confirms_nothing(world: World) -> None:
    world.remind()
    assert world.text("STOP") == []
    assert world.text("YES", at=REMINDED + timedelta(hours=2)) == [
        "QuickDumpNow: You're opted back in to job texts. Text HELP for help, STOP to opt out."
    ]
    assert world.job()["confirmed_at"] is None
    # Opted out, a C is not answered (nothing is sent to the number), only relayed.
    world.text("STOP", at=REMINDED + timedelta(hours=3))
    assert world.text("C", at=REMINDED + timedelta(hours=4)) == []
    assert world.job()["confirmed_at"] is None


# -- the job moved on, or its time changed after the reminder ---------------------------------------


def test_rescheduled_after_the_reminder_the_new_time_is_asked_then_confirmed(world: World) -> None:
    world.remind()
    assert world.client.patch("/jobs/1001", json={"scheduled_for": "2038-03-07T13:30"}).status_code == 200
    assert world.text("C") == ["QuickDumpNow: Your appointment changed to Sun Mar 7, 1:30 PM. Reply C to confirm."]
    assert world.job()["confirmed_at"] is None
    assert world.text("C", at=REMINDED + timedelta(hours=2)) == [
        "QuickDumpNow: Thanks, you're confirmed for Sun Mar 7, 1:30 PM."
    ]
    assert world.job()["confirmed_at"] == iso_utc(REMINDED + timedelta(hours=2))


def test_a_new_time_clears_the_confirmation(world: World) -> None:
    world.remind()
    world.text("C")
    assert world.job()["confirmed_at"] is not None
    moved = world.client.patch("/jobs/1001", json={"scheduled_for": "2038-03-08T09:00"}).json()
    assert moved["confirmed_at"] is None


@pytest.mark.parametrize(("status", "said"), [("en_route", "en route"), ("cancelled", "cancelled")])
def test_a_job_that_moved_on_has_nothing_to_confirm(world: World, status: str, said: str) -> None:
    world.remind()
    assert world.client.post("/jobs/1001/status", json={"status": status}).status_code == 200
    (answer,) = world.text("C")
    assert answer.startswith("QuickDumpNow: Job 1001 (junk removal) is " + said)
    assert "nothing to confirm. Track: https://sms.example.test/track" in answer
    assert world.job()["confirmed_at"] is None


def test_with_two_reminded_jobs_the_one_meant_is_confirmed(world: World) -> None:
    later = world.client.post("/jobs", json=job_body(scheduled_for="2038-03-07T09:00")).json()["id"]
    world.remind()  # 1001's, Fri 5 PM (1002's is not due before Sat 5 PM)
    assert world.text("C", at=datetime(2038, 3, 6, 8, 0, tzinfo=CHICAGO)) == [CONFIRMED]
    assert world.job(later)["confirmed_at"] is None
    world.remind(datetime(2038, 3, 6, 17, 0, tzinfo=CHICAGO))
    # Both were asked within 48 hours; with 1001 done, the one meant is 1002 (bot.job_choice).
    world.client.post("/jobs/1001/status", json={"status": "complete"})
    assert world.text("C", at=datetime(2038, 3, 6, 18, 0, tzinfo=CHICAGO)) == [
        "QuickDumpNow: Thanks, you're confirmed for Sun Mar 7, 9:00 AM."
    ]
    assert world.job(later)["confirmed_at"] is not None


def test_the_window_is_48_real_hours_across_the_day_the_clocks_spring_forward(world: World) -> None:
    # Reminded Sat Mar 13 2038 at 5 PM CST (UTC-6); on Sunday 2 AM becomes 3 AM. 48 real hours later is
    # Mon Mar 15 at 6 PM CDT on the wall: a C at 5:30 PM (48.5 hours by the wall) still confirms, and
    # one at 6:30 PM is too late.
    world.client.post("/jobs/1001/status", json={"status": "cancelled"})  # its reminder is long past
    job = world.client.post("/jobs", json=job_body(scheduled_for="2038-03-14T10:00")).json()["id"]
    world.remind(datetime(2038, 3, 13, 17, 0, tzinfo=CHICAGO))
    assert reminder_of(world, job)["created_at"] == "2038-03-13T23:00:00.000Z"
    assert world.text("Y", at=datetime(2038, 3, 15, 17, 30, tzinfo=CHICAGO)) == [
        "QuickDumpNow: Thanks, you're confirmed for Sun Mar 14, 10:00 AM."
    ]
    assert world.job(job)["confirmed_at"] == "2038-03-15T22:30:00.000Z"
    assert world.text("C", at=datetime(2038, 3, 15, 18, 30, tzinfo=CHICAGO)) == [ACK]  # relayed: 48.5 h
    assert world.relays() == ["Dana (1002, scheduled): C Reply: R 1002 <text>"]


# -- a reschedule request ------------------------------------------------------------------------


@pytest.mark.parametrize("words", ["RESCHEDULE", "change", "can we move it", "Can I change the time?"])
def test_a_reschedule_request_is_relayed_marked_and_acknowledged(world: World, words: str) -> None:
    world.remind()
    assert world.text(words) == [
        "QuickDumpNow: Thanks, we got your request to reschedule. A person will reply soon."
        " Urgent? Call (512) 555-0123."
    ]
    assert world.relays() == [f"Reschedule request from Dana (1001, {WHEN}): {words} Reply: R 1001 <text>"]
    inbound = world.inbound(sid_of(world.last))
    assert (inbound["kind"], inbound["job_id"]) == ("text", 1001)  # a person answers it
    assert world.job()["confirmed_at"] is None


def test_a_reschedule_request_outside_the_window_is_an_ordinary_relay(world: World) -> None:
    world.remind()
    assert world.text("can we move it", at=REMINDED + timedelta(hours=49)) == [ACK]
    assert world.relays() == ["Dana (1001, scheduled): can we move it Reply: R 1001 <text>"]


# -- the pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("C", talk.Confirm),
        ("confirm please", talk.Confirm),
        ("👍", talk.Confirm),
        ("YES", talk.OptIn),  # the opt-in keyword; decide() reads it as a confirmation when not opted out
        ("can we move it?", talk.RescheduleRequest),
        ("cc", talk.FreeText),
        ("C you at 9", talk.FreeText),
        ("can you stop at the gate and change the lock? we will leave the key under the mat for you", talk.FreeText),
    ],
)
def test_what_parses_as_a_confirmation_or_a_reschedule_request(words: str, kind: type) -> None:
    assert type(talk.parse(words, talk.CUSTOMER)) is kind


def test_a_dispatcher_c_is_no_confirmation() -> None:
    assert not isinstance(talk.parse("C", talk.DISPATCHER), talk.Confirm)


# -- where a confirmation shows -------------------------------------------------------------------


def test_the_tracking_page_and_its_json_say_confirmed(world: World) -> None:
    token = world.job()["token"]
    world.clock.at = REMINDED
    assert "Confirmed" not in world.client.get(f"/track/{token}").text
    world.remind()
    world.text("C")
    assert world.client.get(f"/jobs/token/{token}").json()["confirmed_at"] == iso_utc(REMINDED + timedelta(hours=1))
    page = world.client.get(f"/track/{token}").text
    assert '<span class="appointment-confirmed">Confirmed</span>' in page


def test_qdn_jobs_show_says_when_the_customer_confirmed(world: World) -> None:
    world.remind()
    assert "Confirmed:   not yet" in transcript.job_details(world.job(), CHICAGO)
    world.text("C")
    assert "Confirmed:   Fri Mar 05 18:00" in transcript.job_details(world.job(), CHICAGO)


def test_a_thumbs_up_with_a_picture_is_for_a_person_to_see(world: World) -> None:
    world.remind()
    world.clock.at = REMINDED + timedelta(hours=1)
    response = world.post(mms(CUSTOMER, "👍", (twilio_media(1),)))
    assert replies_of(response) == [ACK]
    (relay,) = world.relays()
    assert relay.startswith("Dana (1001, scheduled): 👍 Photo: https://sms.example.test/m/default/")
    assert world.job()["confirmed_at"] is None
