"""Sending an `unknown` text again: POST /jobs/{id}/messages/{message id}/resend, through the app to Twilio's HTTP side.

An `unknown` text is made the way the sender leaves one -- a send that timed out after Twilio may
have taken it, and a lookup that could not settle it -- by writing that outcome on the row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import respx
from starlette.testclient import TestClient

from sender.attempt import UNKNOWN_REASON
from store.settings import load_settings
from tests.support import API_TOKEN, CUSTOMER, job_body
from tests.twilio_fake import FakeTwilio, drain, twilio_environ
from web.app import create_app


@contextlib.contextmanager
def app_with_twilio(tmp_path: Path) -> Iterator[tuple[TestClient, FakeTwilio]]:
    settings = load_settings(twilio_environ(tmp_path), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            yield client, twilio


def make_unknown(client: TestClient, message_id: str) -> None:
    """Leave `message_id` as the sender leaves a text it could not settle."""
    store = client.app_state["tenants"].default.services.store

    async def change() -> None:
        await store.update_message(
            message_id,
            lambda m: {**m, "status": "unknown", "twilio_sid": None, "error_message": UNKNOWN_REASON},
        )

    assert client.portal is not None  # the app runs (inside `with TestClient(...)`)
    client.portal.call(change)


def a_job_with_an_unknown_text(client: TestClient, twilio: FakeTwilio) -> tuple[dict[str, Any], dict[str, Any]]:
    job = client.post("/jobs", json=job_body()).json()
    drain(client)
    sent = client.post(f"/jobs/{job['id']}/messages", json={"body": "Running 10 minutes late, sorry!"}).json()
    drain(client)
    make_unknown(client, sent["id"])
    twilio.held.clear()  # Twilio never had it
    return job, sent


def resend(client: TestClient, job_id: int, message_id: str):
    return client.post(f"/jobs/{job_id}/messages/{message_id}/resend")


def test_a_resend_queues_a_new_text_linked_to_the_unknown_one_and_twilio_gets_it_once(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job, unknown = a_job_with_an_unknown_text(client, twilio)
        answer = resend(client, job["id"], unknown["id"])
        assert answer.status_code == 201, answer.text
        resent = answer.json()
        assert resent["id"] != unknown["id"] and resent["resend_of"] == unknown["id"]
        assert resent["body"] == "Running 10 minutes late, sorry!" and resent["to"] == CUSTOMER
        assert resent["kind"] == "relay" and resent["status"] == "pending"
        assert resent["text"] == {"id": resent["id"], "status": "pending", "reason": None}
        drain(client)
        assert twilio.bodies == ["Running 10 minutes late, sorry!"]
        conversation = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        by_id = {m["id"]: m for m in conversation}
        assert by_id[unknown["id"]]["status"] == "unknown"  # the record of the attempt stays
        assert by_id[unknown["id"]]["resend_of"] is None
        assert by_id[resent["id"]]["status"] == "queued" and by_id[resent["id"]]["resend_of"] == unknown["id"]

        # A second resend (a double click, a retry) gets the first answer and sends nothing.
        again = resend(client, job["id"], unknown["id"])
        assert again.status_code == 201
        assert again.json()["id"] == resent["id"]
        drain(client)
        assert twilio.bodies == ["Running 10 minutes late, sorry!"]


def test_resends_racing_each_other_make_one_text(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job, unknown = a_job_with_an_unknown_text(client, twilio)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: resend(client, job["id"], unknown["id"]), range(8)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        drain(client)
        assert twilio.bodies == ["Running 10 minutes late, sorry!"]


def test_only_an_unknown_text_is_resent(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job = client.post("/jobs", json=job_body()).json()
        drain(client)
        (booking,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert booking["status"] == "queued"
        answer = resend(client, job["id"], booking["id"])
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "invalid_transition"
        assert "queued" in answer.json()["error"]["message"]
        drain(client)
        assert len(twilio.held) == 1


def test_a_message_not_in_that_jobs_conversation_is_404(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job, unknown = a_job_with_an_unknown_text(client, twilio)
        other = client.post("/jobs", json=job_body(customer_phone="512-555-0142")).json()
        for job_id, message_id in [(other["id"], unknown["id"]), (job["id"], "nope"), (9999, unknown["id"])]:
            answer = resend(client, job_id, message_id)
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "not_found"
        stranger = {"Authorization": "Bearer not-the-token"}
        assert client.post(f"/jobs/{job['id']}/messages/{unknown['id']}/resend", headers=stranger).status_code == 401
