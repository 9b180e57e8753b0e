"""Send later (POST /jobs/{id}/messages with `send_at`) and cancelling (DELETE /jobs/{id}/messages/{id}).

On each backend: the real app sending nothing (RUN_SENDER=false) with its `send_at` clock injected
(handlers.messages.clock), then -- after the app stopped, as a restart -- the real sender (console
transport) on the same store with an injected clock, one drain at a time. The business is in
America/Chicago; job 1001 is Dana's.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import handlers.messages
from bot.send_later import CANCELLED_REASON
from config.settings import Settings, load_settings
from sender.transports.console import ConsoleTransport
from sender.worker import Sender, running
from store import open_store
from tests.store_contract.conftest import BACKENDS, URL_MAKERS
from tests.support import API_TOKEN, CUSTOMER, base_environ, job_body
from web.app import create_app

NOW = datetime(2027, 3, 5, 12, 0, tzinfo=UTC)  # Fri Mar 5 2027, 6:00 AM in Chicago
LATER = "2027-03-05T15:00:00.000Z"  # 9:00 AM in Chicago


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class App:
    """The app on one backend (sending nothing), its settings and its `send_at` clock."""

    def __init__(self, client: TestClient, settings: Settings, clock: Clock) -> None:
        self.client, self.settings, self.clock = client, settings, clock

    def later(self, send_at: object, body: str = "Your driver is 10 min out tomorrow", **headers: str) -> Any:
        return self.client.post("/jobs/1001/messages", json={"body": body, "send_at": send_at}, headers=headers)

    def messages(self, job_id: int = 1001) -> list[dict[str, Any]]:
        return self.client.get(f"/jobs/{job_id}/messages").json()["messages"]

    def delete(self, message_id: str, job_id: int = 1001) -> Any:
        return self.client.delete(f"/jobs/{job_id}/messages/{message_id}")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        yield url


def app_on(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Any:
    monkeypatch.setattr(handlers.messages, "clock", clock)
    settings = load_settings(base_environ(tmp_path, DATABASE_URL=database_url, RUN_SENDER="false"), env_file=None)
    return settings, TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"})


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    clock = Clock()
    settings, client = app_on(tmp_path, database_url, monkeypatch, clock)
    with client:
        assert client.post("/jobs", json=job_body(scheduled_for="2027-03-06T09:00")).status_code == 201
        yield App(client, settings, clock)


# The rows not sent later are stamped with the real time, before NOW: a sender on NOW's clock would
# give them up (SEND_GIVE_UP_HOURS) unless its horizon is wide. The 30-days-ahead test uses 24 hours.
WIDE = 24 * 365 * 5


def drain(settings: Settings, at: datetime, give_up_hours: float = WIDE) -> str:
    """Start the store again and let the real sender send whatever is due `at`; what it printed."""
    out = io.StringIO()

    async def main() -> None:
        store = await open_store(settings.database_url)
        try:
            sender = Sender(
                store, ConsoleTransport(out), rate_per_second=1000, give_up_hours=give_up_hours, now=lambda: at
            )
            async with running(sender):
                await asyncio.wait_for(sender.wait_idle(), 15)
        finally:
            await store.close()

    asyncio.run(main())
    return out.getvalue()


def error_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["message"]


# -- asking for it -------------------------------------------------------------------------------


def test_a_text_for_later_is_pending_with_its_time(app: App) -> None:
    answer = app.later("2027-03-05T15:00:00Z")
    assert answer.status_code == 201, answer.text
    text = answer.json()
    assert (text["status"], text["send_at"], text["created_at"]) == ("pending", LATER, LATER)
    assert text["text"] == {"id": text["id"], "status": "pending", "reason": None}
    shown = {m["id"]: m for m in app.messages()}
    assert shown[text["id"]]["send_at"] == LATER and shown[text["id"]]["status"] == "pending"
    booking = next(m for m in app.messages() if m["kind"] == "notification")
    assert booking["send_at"] is None  # a text sent at once


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("2027-03-05T09:00", LATER),  # no zone: the business's (CST, UTC-6)
        ("2027-03-05 09:00:00", LATER),
        ("2027-03-05T10:00:00-05:00", LATER),
        ("2027-03-14T09:00", "2027-03-14T14:00:00.000Z"),  # the day clocks spring forward: CDT, UTC-5
        ("2027-03-14T02:30", "2027-03-14T08:30:00.000Z"),  # a wall time that day skips: read as 3:30 CDT
        ("2027-04-04T12:00:00.000Z", "2027-04-04T12:00:00.000Z"),  # 30 days ahead exactly
    ],
)
def test_send_at_is_read_in_the_business_zone_unless_it_names_one(app: App, given: str, meant: str) -> None:
    answer = app.later(given)
    assert answer.status_code == 201, answer.text
    assert answer.json()["send_at"] == meant


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("2027-03-05T11:59:00Z", "must be in the future"),
        ("2027-03-05T12:00:00Z", "must be in the future"),
        ("2027-04-04T12:00:01Z", "at most 30 days ahead"),
        ("2027-03-06", "date and time"),
        ("tomorrow at 9", "date and time"),
        ("2027-02-30T09:00", "not a real date"),
        (1772722800, "date and time"),
        (None, "date and time"),
    ],
)
def test_a_bad_send_at_is_a_422_naming_it_and_queues_nothing(app: App, given: object, says: str) -> None:
    before = len(app.messages())
    message = error_field(app.later(given))
    assert message.startswith("send_at") and says in message
    assert len(app.messages()) == before


def test_idempotency_key_keeps_working_with_send_at(app: App) -> None:
    first = app.later("2027-03-05T09:00", **{"Idempotency-Key": "later-1"})
    again = app.later("2027-03-05T09:00", **{"Idempotency-Key": "later-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert [m["id"] for m in app.messages() if m["send_at"]] == [first.json()["id"]]
    # The same key for another time is another request: refused.
    assert app.later("2027-03-05T10:00", **{"Idempotency-Key": "later-1"}).status_code == 422
    # A retry after the moment passed gets the first answer, not a 422 for a time now in the past.
    app.clock.at = NOW + timedelta(hours=4)
    assert app.later("2027-03-05T09:00", **{"Idempotency-Key": "later-1"}).json() == first.json()


# -- held, then sent: through a restart --------------------------------------------------------------


def test_held_until_send_at_then_sent_once_after_a_restart(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    settings, client = app_on(tmp_path, database_url, monkeypatch, clock)
    with client:
        client.post("/jobs", json=job_body())
        held = client.post("/jobs/1001/messages", json={"body": "See you at 9!", "send_at": LATER}).json()
        # Queued after it, to the same phone, and due at once: not held behind the later text.
        now_text = client.post("/jobs/1001/messages", json={"body": "Gate code is 4411?"}).json()
        assert now_text["created_at"] < held["created_at"]

    # A restart before it is due: only the texts due now go out.
    printed = drain(settings, NOW + timedelta(minutes=1))
    assert "Gate code is 4411?" in printed and "See you at 9!" not in printed
    assert "See you at 9!" not in drain(settings, datetime(2027, 3, 5, 14, 59, 59, tzinfo=UTC))
    # Due: the service was down from before 9:00 to 9:07 (a restart between due and sent): sent once.
    assert drain(settings, datetime(2027, 3, 5, 15, 7, tzinfo=UTC)).count("See you at 9!") == 1
    assert "See you at 9!" not in drain(settings, datetime(2027, 3, 5, 15, 8, tzinfo=UTC))

    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        sent = {m["id"]: m for m in client.get("/jobs/1001/messages").json()["messages"]}[held["id"]]
        assert (sent["status"], sent["send_at"], sent["to"]) == ("sent", LATER, CUSTOMER)
        # Its place in the conversation is when it went out: after the text queued after it.
        order = [m["id"] for m in client.get("/jobs/1001/messages").json()["messages"]]
        assert order.index(now_text["id"]) < order.index(held["id"])
        assert client.delete(f"/jobs/1001/messages/{held['id']}").status_code == 409  # sent: too late


def test_a_text_for_30_days_ahead_is_not_given_up_when_it_falls_due(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    settings, client = app_on(tmp_path, database_url, monkeypatch, clock)
    with client:
        client.post("/jobs", json=job_body())
        send_at = NOW + timedelta(days=30)
        client.post("/jobs/1001/messages", json={"body": "A month on: how was it?", "send_at": send_at.isoformat()})
    # SEND_GIVE_UP_HOURS (24) counts from send_at, not from when it was asked for.
    assert drain(settings, send_at + timedelta(minutes=5), give_up_hours=24).count("A month on: how was it?") == 1


def test_a_time_in_the_customers_quiet_hours_is_kept_a_person_chose_it(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC "Compliance in code": texts a person sends are never held (only reminders and review
    requests wait for the morning), so a dispatcher's 10:30 PM text goes at 10:30 PM, not at 8 AM."""
    settings, client = app_on(tmp_path, database_url, monkeypatch, Clock())
    with client:
        client.post("/jobs", json=job_body())  # the customer's 512 number: Texas, quiet 21-8 (QUIET_HOURS)
        queued = client.post("/jobs/1001/messages", json={"body": "Crew leaves at 5 AM", "send_at": "2027-03-05T22:30"})
        assert queued.status_code == 201, queued.text
        assert queued.json()["send_at"] == "2027-03-06T04:30:00.000Z"  # as asked, in the business's time
    assert drain(settings, datetime(2027, 3, 6, 4, 31, tzinfo=UTC)).count("Crew leaves at 5 AM") == 1


# -- cancelling ------------------------------------------------------------------------------------


def test_a_pending_text_is_cancelled_and_never_sent(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, client = app_on(tmp_path, database_url, monkeypatch, Clock())
    with client:
        client.post("/jobs", json=job_body())
        held = client.post("/jobs/1001/messages", json={"body": "Never mind this one", "send_at": LATER}).json()
        assert client.delete(f"/jobs/1001/messages/{held['id']}").status_code == 204
        shown = {m["id"]: m for m in client.get("/jobs/1001/messages").json()["messages"]}[held["id"]]
        assert (shown["status"], shown["error_message"], shown["send_at"]) == ("skipped", CANCELLED_REASON, LATER)
        assert client.delete(f"/jobs/1001/messages/{held['id']}").status_code == 204  # a retry: the same answer
    assert "Never mind this one" not in drain(settings, datetime(2027, 3, 5, 16, 0, tzinfo=UTC))


def test_only_this_jobs_texts_can_be_cancelled_here(app: App) -> None:
    other = app.client.post("/jobs", json=job_body(customer_phone="(512) 555-0142")).json()["id"]
    held = app.later(LATER).json()
    assert app.delete(held["id"], job_id=other).status_code == 404  # another job's message
    assert app.delete("not-a-message-id").status_code == 404
    assert app.delete("999999").status_code == 404
    assert app.client.delete(f"/jobs/4242/messages/{held['id']}").status_code == 404  # no such job
    assert {m["id"]: m for m in app.messages()}[held["id"]]["status"] == "pending"  # untouched by the 404s


def test_a_sent_text_cannot_be_cancelled(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, client = app_on(tmp_path, database_url, monkeypatch, Clock())
    with client:
        client.post("/jobs", json=job_body())
        held = client.post("/jobs/1001/messages", json={"body": "See you at 9!", "send_at": LATER}).json()
    drain(settings, datetime(2027, 3, 5, 15, 1, tzinfo=UTC))
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        booking = next(m for m in client.get("/jobs/1001/messages").json()["messages"] if m["kind"] == "notification")
        for message_id in (booking["id"], held["id"]):
            refused = client.delete(f"/jobs/1001/messages/{message_id}")
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "invalid_transition"
            assert "is sent" in refused.json()["error"]["message"]
