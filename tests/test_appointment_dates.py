"""`scheduled_for` as a date: that day, no time -- kept as a date, never shown as midnight."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import jobs
from bot.conversation import Context, Facts, decide, parse
from cli import transcript
from tests.support import CUSTOMER, DISPATCHER, job_body

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)  # Friday Nov 27, 12:30 PM in Austin
CONTEXT = Context(
    business_name="QuickDumpNow",
    business_phone="+15125550123",
    timezone=CHICAGO,
    ack_interval_hours=3,
    tracking_url=lambda token: f"https://sms.example.test/track?token={token}",
)


def create(client, **overrides):
    response = client.post("/jobs", json=job_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


# -- the API keeps the date ------------------------------------------------------------


def test_a_date_is_stored_and_returned_as_a_date(client):
    job = create(client, scheduled_for="2026-12-05")
    assert job["scheduled_for"] == "2026-12-05"
    assert client.get(f"/jobs/{job['id']}").json()["scheduled_for"] == "2026-12-05"
    edited = client.patch(f"/jobs/{job['id']}", json={"scheduled_for": " 2037-12-06 "})
    assert edited.status_code == 200, edited.text
    assert edited.json()["scheduled_for"] == "2037-12-06"
    listed = client.get("/jobs").json()["jobs"]
    assert [j["scheduled_for"] for j in listed] == ["2037-12-06"]


def test_a_date_time_without_zone_still_gets_the_timezone(client):
    assert create(client, scheduled_for="2026-12-05T09:00")["scheduled_for"] == "2026-12-05T09:00:00-06:00"
    assert create(client, scheduled_for="2026-12-05T00:00")["scheduled_for"] == "2026-12-05T00:00:00-06:00"


@pytest.mark.parametrize("garbage", ["2026-13-45", "2026-12-5x", "next tuesday", "12/05/2026", 20261205])
def test_garbage_is_still_422(client, garbage):
    response = client.post("/jobs", json=job_body(scheduled_for=garbage))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("scheduled_for:")


# -- never shown as midnight -------------------------------------------------------------


def make_job(scheduled_for: str, job_id: int = 1042) -> dict:
    fields = {
        "customer_name": "Dana Whitfield",
        "customer_phone": CUSTOMER,
        "service_type": "junk removal",
        "scheduled_for": jobs.clean_fields({"scheduled_for": scheduled_for}, CHICAGO, partial=True)["scheduled_for"],
    }
    return jobs.new_job(job_id, "K7M2-9XPQ-2HTR-4VWA-C3DF", fields, "2026-11-27T17:00:00.000Z")


def test_the_dispatchers_job_list_says_the_day_without_a_time():
    open_jobs = [make_job("2026-12-05", 1043), make_job("2026-11-27", 1042)]
    reply = decide(parse("JOBS", "dispatcher"), Facts(sender=DISPATCHER, now=NOW, open_jobs=open_jobs), CONTEXT).reply
    assert reply is not None
    assert reply.splitlines()[1:] == [
        "1043 scheduled for Sat Dec 5 - Dana W., junk removal",
        "1042 scheduled for today - Dana W., junk removal",
    ]


def test_the_customers_status_reply_says_the_day_without_a_time():
    facts = Facts(sender=CUSTOMER, now=NOW, sender_open_jobs=[make_job("2026-12-05")])
    reply = decide(parse("STATUS", "customer"), facts, CONTEXT).reply
    assert reply is not None
    assert "is scheduled for Sat Dec 5." in reply
    assert "AM" not in reply and "12:00" not in reply


def test_qdn_shows_the_day_without_a_time():
    job = {**make_job("2026-12-05"), "tracking_url": "https://sms.example.test/track?token=x"}
    details = dict(line.split(":", 1) for line in transcript.job_details(job, CHICAGO).splitlines()[:8])
    assert details["Appointment"].strip() == "Sat Dec 5"
    row = transcript.jobs_table([job], CHICAGO).splitlines()[1]
    assert "Sat Dec 5" in row and "00:00" not in row and "12:00" not in row
    assert transcript.job_created(job, CHICAGO).startswith("Job 1042 for Dana Whitfield: scheduled for Sat Dec 5.")
    with_time = {**job, "scheduled_for": make_job("2026-12-05T08:30")["scheduled_for"]}
    assert "Sat Dec 5, 8:30 AM" in transcript.jobs_table([with_time], CHICAGO)
