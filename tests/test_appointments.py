"""The appointment on every surface: booking texts, PATCH reschedules, the tracking page, `qdn`, dispatchers.

Through the real app in console mode (tests.support: TIMEZONE America/Chicago,
BUSINESS_PHONE set); the texts a customer gets are read from the job's log.
"""

from __future__ import annotations

import asyncio
import time as timer
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

import handlers.twilio.receive
from bot import jobs
from bot.jobs import iso_utc
from bot.messages import OPTED_OUT_REASON
from cli import transcript
from config.settings import load_settings
from handlers.jobs import JOB_FIELDS
from handlers.services import Services
from store import open_store
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.test_sms_webhook import Harness, replies_of
from tests.test_track_page import Page
from tests.twilio_fake import drain
from web.app import create_app

CHICAGO = ZoneInfo("America/Chicago")


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body(**fields))
    assert response.status_code == 201, response.text
    drain(client)
    return response.json()


def texts_to_customer(client: TestClient, job_id: int) -> list[dict[str, Any]]:
    messages = client.get(f"/jobs/{job_id}/messages").json()["messages"]
    return [m for m in messages if m["direction"] == "outbound" and m["phone"] == CUSTOMER]


def patch(client: TestClient, job_id: int, **fields: Any) -> dict[str, Any]:
    response = client.patch(f"/jobs/{job_id}", json=fields)
    assert response.status_code == 200, response.text
    drain(client)
    return response.json()


# -- the booking text says when ----------------------------------------------------------------


def test_the_booking_text_says_when_in_the_business_zone(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    (booking,) = texts_to_customer(client, job["id"])
    assert booking["body"].startswith("QuickDumpNow: Hi Dana, your junk removal is booked (job 1001).")
    assert "Pick-up: Sat Dec 5, 9:00 AM." in booking["body"]


# -- PATCH of scheduled_for texts the customer once --------------------------------------------


def test_a_new_time_for_an_open_job_is_texted_once(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    answer = patch(client, job["id"], scheduled_for="2037-12-06T13:30")
    assert list(answer) == [*JOB_FIELDS, "phone_status"]  # the answer is the job, as before (the API adds phone_status)
    assert answer["scheduled_for"] == "2037-12-06T13:30:00-06:00"
    _, moved = texts_to_customer(client, job["id"])
    assert moved["kind"] == "notification" and moved["status"] == "sent"
    assert moved["body"] == (
        "QuickDumpNow: Dana, your junk removal (job 1001) has a new time. Pick-up: Sun Dec 6, 1:30 PM. "
        f"Track: {job['tracking_url']} Questions? Call (512) 555-0123."
    )
    # The same time again, in another spelling of the same moment, and other edits: nothing more.
    patch(client, job["id"], scheduled_for="2037-12-06T13:30")
    patch(client, job["id"], scheduled_for="2037-12-06T19:30:00Z")
    patch(client, job["id"], notes="gate code 4411", address="4514 Ridgeview Dr")
    assert len(texts_to_customer(client, job["id"])) == 2


def test_a_first_appointment_for_a_job_booked_without_one_is_texted(client):
    job = create(client)
    patch(client, job["id"], scheduled_for="2037-12-05")
    moved = texts_to_customer(client, job["id"])[-1]
    assert "has a new time. Pick-up: Sat Dec 5. Track:" in moved["body"]


def test_a_job_under_way_is_texted_a_new_time_too(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20})
    drain(client)
    patch(client, job["id"], scheduled_for="2037-12-05T11:00")
    assert "Pick-up: Sat Dec 5, 11:00 AM." in texts_to_customer(client, job["id"])[-1]["body"]


@pytest.mark.parametrize("status", ["complete", "cancelled"])
def test_a_closed_job_is_edited_but_nobody_is_texted(client, status):
    job = create(client, scheduled_for="2026-12-05T09:00")
    client.post(f"/jobs/{job['id']}/status", json={"status": status})
    drain(client)
    before = len(texts_to_customer(client, job["id"]))
    assert patch(client, job["id"], scheduled_for="2026-12-06T09:00")["scheduled_for"] == "2026-12-06T09:00:00-06:00"
    assert len(texts_to_customer(client, job["id"])) == before


def past(**delta: float) -> str:
    """A moment `delta` ago in the business's zone, as a dashboard would write it (no zone: TIMEZONE)."""
    return (datetime.now(CHICAGO) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def test_a_new_appointment_that_has_passed_is_refused_naming_the_field(client):
    job = create(client, scheduled_for="2037-12-05T09:00")
    yesterday = (datetime.now(CHICAGO) - timedelta(days=1)).date().isoformat()
    for gone in (yesterday, past(minutes=5), past(days=400)):
        refused = client.patch(f"/jobs/{job['id']}", json={"scheduled_for": gone, "notes": "moved"})
        assert refused.status_code == 422, (gone, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "validation_error" and error["message"].startswith("scheduled_for: ")
        assert "has passed" in error["message"]
    # Nothing was written (not even the notes given with it), nobody texted.
    assert client.get(f"/jobs/{job['id']}").json()["scheduled_for"] == "2037-12-05T09:00:00-06:00"
    assert client.get(f"/jobs/{job['id']}").json()["notes"] is None
    assert len(texts_to_customer(client, job["id"])) == 1
    # Today (a day, no time) and a time still to come are fine.
    today = datetime.now(CHICAGO).date().isoformat()
    assert patch(client, job["id"], scheduled_for=today)["scheduled_for"] == today
    later = (datetime.now(CHICAGO) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    assert patch(client, job["id"], scheduled_for=later)["scheduled_for"].startswith(later)


def test_a_job_whose_appointment_has_passed_takes_other_edits(client):
    job = create(client, scheduled_for="2020-06-01T09:00")  # booked late: its time went by
    edited = patch(client, job["id"], notes="call first", scheduled_for="2020-06-01T09:00")  # sent back as it was
    assert (edited["notes"], edited["scheduled_for"]) == ("call first", "2020-06-01T09:00:00-05:00")
    assert patch(client, job["id"], scheduled_for=None)["scheduled_for"] is None  # cleared: fine too


def test_a_closed_job_may_be_given_a_past_appointment(client):
    job = create(client, scheduled_for="2037-12-05T09:00")
    client.post(f"/jobs/{job['id']}/status", json={"status": "complete"})
    drain(client)
    assert patch(client, job["id"], scheduled_for="2020-06-02")["scheduled_for"] == "2020-06-02"  # the real day


def test_clearing_the_appointment_texts_nobody(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    assert patch(client, job["id"], scheduled_for=None)["scheduled_for"] is None
    assert len(texts_to_customer(client, job["id"])) == 1


def test_an_opted_out_customer_gets_a_skipped_row_with_the_reason(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    services: Services = client.app_state["services"]
    client.portal.call(services.store.update_phone, CUSTOMER, lambda state: {**state, "opted_out": True})
    patch(client, job["id"], scheduled_for="2037-12-07T09:00")
    moved = texts_to_customer(client, job["id"])[-1]
    assert moved["status"] == "skipped" and moved["error_message"] == OPTED_OUT_REASON


# -- a date is a day, never midnight, on every surface -----------------------------------------


def test_a_date_is_the_day_on_every_surface(client):
    job = create(client, scheduled_for="2026-12-05")
    assert job["scheduled_for"] == "2026-12-05"  # the API keeps the date
    (booking,) = texts_to_customer(client, job["id"])
    assert "Pick-up: Sat Dec 5. We'll text" in booking["body"]

    public = client.get(f"/jobs/token/{job['token']}").json()
    assert public["scheduled_for"] == "2026-12-05"

    doc = Page(client.get(f"/track?token={job['token']}").text)
    assert doc.text("time", class_="appointment-time") == "Sat Dec 5"
    assert doc.find("time", class_="appointment-time")[0]["attrs"]["datetime"] == "2026-12-05"
    assert "12:00 AM" not in doc.text("p", class_="appointment")

    details = transcript.job_details(client.get(f"/jobs/{job['id']}").json(), CHICAGO)
    assert "Appointment: Sat Dec 5\n" in details


# -- the tracking page keeps the booking and the appointment apart -------------------------------


def test_the_page_shows_the_appointment_and_the_booking_time_separately(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    doc = Page(client.get(f"/track?token={job['token']}").text)
    assert doc.text("time", class_="appointment-time") == "Sat Dec 5, 9:00 AM"
    assert doc.find("time", class_="appointment-time")[0]["attrs"]["datetime"] == "2026-12-05T09:00:00-06:00"
    (entry,) = doc.find("li", class_="timeline-entry")
    booked_at = datetime.fromisoformat(job["created_at"]).astimezone(CHICAGO)
    assert " ".join(entry["text"].split()).startswith("Booked")
    assert f"{booked_at.hour % 12 or 12}:{booked_at.minute:02d}" in entry["text"]
    assert "Dec 5" not in entry["text"]


def test_the_page_says_today_or_tomorrow_beside_the_appointment(client):
    tomorrow = datetime.now(CHICAGO).date() + timedelta(days=1)
    job = create(client, scheduled_for=f"{tomorrow.isoformat()}T10:00")
    doc = Page(client.get(f"/track?token={job['token']}").text)
    assert "Tomorrow" in doc.text("span", class_="appointment-label")


def test_a_finished_job_shows_no_appointment_block(client):
    job = create(client, scheduled_for="2026-12-05T09:00")
    client.post(f"/jobs/{job['id']}/status", json={"status": "complete"})
    assert not Page(client.get(f"/track?token={job['token']}").text).find(class_="appointment")


# -- dispatchers: STATUS 1042, JOBS, TODAY, TOMORROW -----------------------------------------------


@pytest.fixture
def dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The webhook at noon on Fri Dec 4 2026 in Chicago, with jobs on that day, the next and later."""
    monkeypatch.setattr(handlers.twilio.receive, "clock", lambda: datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    settings = load_settings(base_environ(tmp_path, SEND_RATE_PER_SECOND="1000"), env_file=None)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        harness = Harness(client, settings)
        for name, when in [
            ("Dana Whitfield", "2026-12-05T13:30"),  # 1001
            ("Marcus Bell", "2026-12-05"),  # 1002: tomorrow, no time
            ("Priya Raman", "2026-12-05T08:00"),  # 1003
            ("Tom Okafor", "2026-12-04T15:00"),  # 1004: today
            ("Lena Fischer", "2026-12-06T09:00"),  # 1005: the day after
            ("Cy Park", "2026-12-05T10:00"),  # 1006: cancelled below
        ]:
            harness.new_job(customer_name=name, scheduled_for=when)
        client.post("/jobs/1006/status", json={"status": "cancelled"})
        drain(client)
        yield harness


def answer(harness: Harness, text: str) -> str:
    (reply,) = replies_of(harness.text(DISPATCHER, text))
    return reply


def test_tomorrow_lists_that_days_open_jobs_in_order_of_appointment(dispatch):
    assert answer(dispatch, "TOMORROW") == (
        "Open jobs tomorrow, Sat Dec 5 (3):\n"
        "8:00 AM 1003 - Priya R., junk removal\n"
        "1:30 PM 1001 - Dana W., junk removal\n"
        "no time 1002 - Marcus B., junk removal"
    )
    assert answer(dispatch, "jobs tomorrow?") == answer(dispatch, "tmrw please")


def test_today_shows_where_each_job_stands(dispatch):
    dispatch.client.post("/jobs/1004/status", json={"status": "en_route", "eta_minutes": 30})
    reply = answer(dispatch, "Today")
    assert reply.splitlines()[0] == "Open jobs today, Fri Dec 4 (1):"
    assert reply.splitlines()[1].startswith("3:00 PM 1004 en route, ETA ")
    assert reply.endswith(" - Tom O., junk removal")


def test_a_day_without_open_jobs_says_so(dispatch):
    dispatch.client.post("/jobs/1004/status", json={"status": "complete"})
    assert answer(dispatch, "TODAY") == "No open jobs today (Fri Dec 4)."


def test_status_and_jobs_show_the_appointment(dispatch):
    assert answer(dispatch, "STATUS 1002").startswith("1002 Marcus Bell, junk removal: scheduled for Sat Dec 5.")
    assert answer(dispatch, "STATUS 1004").startswith("1004 Tom Okafor, junk removal: scheduled for 3:00 PM.")
    jobs_list = answer(dispatch, "JOBS").splitlines()
    assert "1001 scheduled for Sat Dec 5, 1:30 PM - Dana W., junk removal" in jobs_list
    assert "1002 scheduled for Sat Dec 5 - Marcus B., junk removal" in jobs_list


# -- the service runs the reminder loop --------------------------------------------------------


def test_the_running_service_sends_a_due_reminder_by_itself(tmp_path):
    # REMINDER_HOUR=0 and no quiet hours (nor the customer's state's calling hours: an Austin number
    # would wait for Texas's morning): whenever this runs, a job booked days ago for two hours from
    # now has its reminder due already, so the loop the service starts queues it at once.
    env = base_environ(tmp_path, REMINDER_HOUR="0", QUIET_HOURS="", STATE_QUIET_HOURS="false")
    settings = load_settings(env, env_file=None)
    now = datetime.now(UTC)

    async def book() -> None:
        store = await open_store(settings.database_url)
        try:
            fields = jobs.clean_fields(job_body(scheduled_for=(now + timedelta(hours=2)).isoformat()), CHICAGO,
                                       partial=False)  # fmt: skip
            await Services(settings=settings, store=store).create_job(fields, now=iso_utc(now - timedelta(days=3)))
        finally:
            await store.close()

    asyncio.run(book())
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        deadline = timer.monotonic() + 10  # only a hung loop gets near this
        while not (found := [m for m in texts_to_customer(client, 1001) if "a reminder about" in m["body"]]):
            assert timer.monotonic() < deadline, "no reminder was queued"
            timer.sleep(0.05)
        drain(client)
        (reminder,) = [m for m in texts_to_customer(client, 1001) if "a reminder about" in m["body"]]
        assert reminder["status"] == "sent" and reminder["id"] == found[0]["id"]
