"""Sending an `unknown` text again: POST /jobs/{id}/messages/{message id}/resend, through the app to Twilio's HTTP side.

An `unknown` text is made the way the sender leaves one -- a send that timed out after Twilio may
have taken it, and a lookup that could not settle it -- by writing that outcome on the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import respx
from starlette.testclient import TestClient

from bot.jobs import new_job
from bot.messages import outbound_message
from bot.tokens import new_token
from cli import main as cli
from config.settings import load_settings
from sender.attempt import UNKNOWN_REASON
from store import JobWrite, open_store
from tests.support import API_TOKEN, CUSTOMER, LiveServer, base_environ, job_body
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


# -- listing them: GET /messages?status=unknown and `qdn log --unknown` ---------------------------


def test_the_unknown_texts_are_listed_until_sent_again_and_the_resend_is_not(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job, unknown = a_job_with_an_unknown_text(client, twilio)
        listed = client.get("/messages", params={"status": "unknown"})
        assert listed.status_code == 200, listed.text
        assert [m["id"] for m in listed.json()["messages"]] == [unknown["id"]]
        assert listed.json()["next_cursor"] is None
        resent = resend(client, job["id"], unknown["id"]).json()
        drain(client)
        # The unknown one stays unknown (the record); its resend is queued, not listed.
        assert [m["id"] for m in client.get("/messages", params={"status": "unknown"}).json()["messages"]] == [
            unknown["id"]
        ]
        assert resent["id"] not in str(client.get("/messages", params={"status": "unknown"}).json())
        for bad in [{"status": "queued"}, {"status": "unknown", "phone": CUSTOMER}, {}]:
            answer = client.get("/messages", params=bad)
            assert answer.status_code == 422, (bad, answer.text)


def test_the_unknown_list_pages_like_every_list_and_refuses_a_bad_limit(tmp_path):
    with app_with_twilio(tmp_path) as (client, twilio):
        job, first = a_job_with_an_unknown_text(client, twilio)
        second = client.post(f"/jobs/{job['id']}/messages", json={"body": "And one more thing."}).json()
        drain(client)
        make_unknown(client, second["id"])
        one = client.get("/messages", params={"status": "unknown", "limit": "1"}).json()
        assert [m["id"] for m in one["messages"]] == [first["id"]]
        rest = client.get("/messages", params={"status": "unknown", "limit": "1", "cursor": one["next_cursor"]}).json()
        assert ([m["id"] for m in rest["messages"]], rest["next_cursor"]) == ([second["id"]], None)
        for bad in [{"limit": "null"}, {"limit": "0"}, {"cursor": "junk"}, {"cursor": one["next_cursor"], "phone": ""}]:
            answer = client.get("/messages", params={"status": "unknown", **bad})
            assert answer.status_code == 422, (bad, answer.text)


async def seed_unknown(database_url: str) -> None:
    """A job whose booking text went out and whose later text ended unknown, as the sender leaves them."""
    store = await open_store(database_url)
    at = "2026-03-14T15:04:00.000Z"
    fields = {"customer_name": "Dana Whitfield", "customer_phone": CUSTOMER, "service_type": "junk removal"}
    booked = outbound_message(kind="notification", to=CUSTOMER, body="Booked (job 1001).", sender="+15125550123",
                              now=at, opted_out=False, job_id=1001)  # fmt: skip
    await store.create_job(lambda job_id: JobWrite(new_job(job_id, new_token(), fields, at), [booked]))
    late = outbound_message(kind="relay", to=CUSTOMER, body="Running late, sorry!", sender="+15125550123",
                            now="2026-03-14T16:00:00.000Z", opted_out=False, job_id=1001)  # fmt: skip
    await store.add_message({**late, "status": "unknown", "error_message": UNKNOWN_REASON})
    await store.close()


def qdn_log_unknown(tmp_path, monkeypatch, capsys, *, seeded: bool) -> list[str]:
    """What `qdn log --unknown` prints against a real service (with seed_unknown's texts, or none)."""
    env = base_environ(tmp_path)
    if seeded:
        asyncio.run(seed_unknown(env["DATABASE_URL"]))
    server = LiveServer(env, tmp_path).start()
    try:
        for key, value in {**env, "PORT": str(server.port), "HOST": "127.0.0.1"}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        assert cli.main(["log", "--unknown"]) == 0
        return capsys.readouterr().out.splitlines()
    finally:
        server.stop()


def test_qdn_log_unknown_lists_them_with_what_to_do(tmp_path, monkeypatch, capsys):
    out = qdn_log_unknown(tmp_path, monkeypatch, capsys, seeded=True)
    assert out[0] == "Texts whose outcome is unknown"
    assert out[1].startswith("Times in America/Chicago ("), out[1]
    assert f"11:00 → to {CUSTOMER}  [relay, unknown ({UNKNOWN_REASON})]" in out
    assert "      Running late, sorry!" in out
    assert "Booked (job 1001)." not in "\n".join(out)  # delivered texts are not listed
    assert out[-2] == "Check with the customer; to send one again: POST /jobs/{job}/messages/{message}/resend"
    assert re.fullmatch(r"  job 1001, message \S+", out[-1])


def test_qdn_log_unknown_with_none_says_so(tmp_path, monkeypatch, capsys):
    out = qdn_log_unknown(tmp_path, monkeypatch, capsys, seeded=False)
    assert out == ["Texts whose outcome is unknown", "None: every text's outcome is known."]
