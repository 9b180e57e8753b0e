"""POST /twilio/sms from a customer with several open jobs, on each backend: the text goes under the job
it is about (SPEC "Which job a text is about"), not the newest one.

Dana has four open jobs: 1001 (no appointment) is en route, 1002 is booked for tomorrow at 9, 1003
for next Friday, 1004 for the day after tomorrow -- so the job under way is older than three booked
ones. The webhook decides at noon on Fri Dec 4 2026 in Chicago (a fixed clock); nothing is sent
(RUN_SENDER=false): the rows are checked as the webhook stored them, and through the dashboard API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import handlers.twilio.receive
from config.settings import load_settings
from tests.store_contract.conftest import BACKENDS, URL_MAKERS
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.test_sms_media import Harness, mms, replies_of, sid_of, twilio_media
from web.app import create_app

NOON_IN_CHICAGO = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # Fri Dec 4 2026, 12:00 PM
ACK = "QuickDumpNow: Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."
ISSUE_TEXT = "Can you come before noon? Dog is in the backyard."


@pytest.fixture(params=BACKENDS)
def dana(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app on each backend, with Dana's four open jobs (1001 en route, older than the other three)."""
    monkeypatch.setattr(handlers.twilio.receive, "clock", lambda: NOON_IN_CHICAGO)
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        environ = base_environ(tmp_path, DATABASE_URL=url, RUN_SENDER="false")
        settings = load_settings(environ, env_file=None)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            for scheduled_for in (None, "2026-12-05T09:00", "2026-12-11", "2026-12-06"):  # 1001 .. 1004
                body = job_body() if scheduled_for is None else job_body(scheduled_for=scheduled_for)
                assert client.post("/jobs", json=body).status_code == 201
            moved = client.post("/jobs/1001/status", json={"status": "en_route", "eta_minutes": 20})
            assert moved.json()["status"] == "en_route"
            yield Harness(client, settings)


def job_message_ids(harness: Harness, job_id: int) -> set[str]:
    """The ids of the messages the dashboard shows under job `job_id`."""
    response = harness.client.get(f"/jobs/{job_id}/messages", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {message["id"] for message in response.json()["messages"]}


def added_since(harness: Harness, before: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for key, message in harness.rows().items() if key not in before]


def test_a_question_is_relayed_acknowledged_and_logged_under_the_job_en_route(dana: Harness) -> None:
    before = dana.rows()
    body = mms(CUSTOMER, ISSUE_TEXT, ())
    assert replies_of(dana.post(body)) == [ACK]

    added = added_since(dana, before)
    (relay,) = [message for message in added if message["kind"] == "relay"]
    assert relay["to"] == DISPATCHER
    assert relay["body"] == f"Dana (1001, en route): {ISSUE_TEXT} Reply: R 1001 <text>"
    (ack,) = [message for message in added if message["kind"] == "system"]
    inbound = dana.inbound(sid_of(body))
    assert {relay["job_id"], ack["job_id"], inbound["job_id"]} == {1001}
    assert {inbound["id"], ack["id"]} <= job_message_ids(dana, 1001)
    assert inbound["id"] not in job_message_ids(dana, 1002) | job_message_ids(dana, 1004)


def test_a_picture_goes_under_the_job_en_route(dana: Harness) -> None:
    before = dana.rows()
    body = mms(CUSTOMER, "", (twilio_media(1),))
    assert replies_of(dana.post(body)) == [ACK]

    inbound = dana.inbound(sid_of(body))
    assert inbound["job_id"] == 1001 and len(inbound["media_fetch"]) == 1
    (relay,) = [message for message in added_since(dana, before) if message["kind"] == "relay"]
    assert relay["job_id"] == 1001
    assert relay["body"].startswith("Dana (1001, en route): Photo: https://sms.example.test/m/default/")
    assert relay["body"].endswith(" Reply: R 1001 <text>")
    assert inbound["id"] in job_message_ids(dana, 1001)
    assert inbound["id"] not in job_message_ids(dana, 1002) | job_message_ids(dana, 1004)


def test_status_lists_the_job_under_way_then_the_nearest_appointments(dana: Harness) -> None:
    body = mms(CUSTOMER, "STATUS", ())
    (reply,) = replies_of(dana.post(body))

    lines = reply.splitlines()
    assert lines[0] == "QuickDumpNow: your open jobs, soonest first:"
    assert lines[1].startswith("1001 junk removal: en route, ETA ")  # moved at the real time: 20 min from then
    assert lines[2].startswith("1002 junk removal: scheduled for Sat Dec 5, 9:00 AM.")
    assert lines[3].startswith("1004 junk removal: scheduled for Sun Dec 6.")
    assert lines[4:] == ["+1 more."]  # 1003, next Friday
    assert dana.inbound(sid_of(body))["job_id"] == 1001
