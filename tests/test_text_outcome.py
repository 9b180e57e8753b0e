"""What became of the customer's text: `"text": {"id", "status", "reason"}` in the answers of a move and a
dashboard text, and `qdn jobs status` saying so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.jobs import utc_now
from bot.messages import opted_out
from cli import main as cli
from cli.api_client import ApiClient
from config.settings import load_settings
from tests.support import API_TOKEN, CUSTOMER, job_body
from web.app import create_app


def create(client) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body())
    assert response.status_code == 201, response.text
    return response.json()


def opt_out(client, phone: str = CUSTOMER) -> None:
    async def stop() -> None:
        await client.app_state["services"].store.update_phone(phone, lambda state: opted_out(state, utc_now(), "STOP"))

    client.portal.call(stop)


def logged(client, job_id: int, message_id: str) -> dict[str, Any]:
    return next(m for m in client.get(f"/jobs/{job_id}/messages").json()["messages"] if m["id"] == message_id)


def test_a_move_says_the_customer_is_texted_and_names_the_text(client):
    job = create(client)
    moved = client.post(f"/jobs/{job['id']}/status", json={"status": "en route", "eta_minutes": 15}).json()
    assert moved["text"]["status"] == "pending" and moved["text"]["reason"] is None
    text = logged(client, job["id"], moved["text"]["id"])
    assert text["kind"] == "notification" and "15 min" in text["body"]


def test_a_move_for_an_opted_out_customer_says_it_was_not_texted(client):
    job = create(client)
    opt_out(client)
    moved = client.post(f"/jobs/{job['id']}/status", json={"status": "arrived"}).json()
    assert moved["status"] == "arrived"
    assert moved["text"]["status"] == "skipped" and moved["text"]["reason"] == "opted_out"
    assert logged(client, job["id"], moved["text"]["id"])["status"] == "skipped"


def test_a_move_that_changes_nothing_sends_nothing_and_says_so(client):
    job = create(client)
    assert client.post(f"/jobs/{job['id']}/status", json={"status": "scheduled"}).json()["text"] is None


def test_a_dashboard_text_says_what_became_of_it(client):
    job = create(client)
    sent = client.post(f"/jobs/{job['id']}/messages", json={"body": "On our way"}).json()
    assert sent["text"] == {"id": sent["id"], "status": "pending", "reason": None}
    opt_out(client)
    skipped = client.post(f"/jobs/{job['id']}/messages", json={"body": "Hello?"}).json()
    assert skipped["text"] == {"id": skipped["id"], "status": "skipped", "reason": "opted_out"}


@pytest.fixture
def quiet(environ) -> Iterator[TestClient]:
    """An app that queues texts but does not send them (the console would print them amid qdn's output)."""
    settings = load_settings({**environ, "RUN_SENDER": "false"}, env_file=None)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as app:
        yield app


@pytest.fixture
def qdn(quiet, monkeypatch, capsys):
    """`qdn ARGS...` in-process, talking to the test app."""
    settings = quiet.app_state["services"].settings
    api = ApiClient("http://testserver", API_TOKEN)
    api._http = quiet  # the app's TestClient speaks httpx's API
    monkeypatch.setattr(api, "close", lambda: None)
    monkeypatch.setattr(cli, "connect", lambda args: (settings, api))

    def run(*argv: str) -> str:
        capsys.readouterr()
        assert cli.main(list(argv)) == 0
        return capsys.readouterr().out

    return run


def test_qdn_jobs_status_says_when_the_customer_was_not_texted(quiet, qdn):
    client = quiet
    job = create(client)
    texted = qdn("jobs", "status", str(job["id"]), "en route", "--eta", "10").splitlines()
    assert texted == [f"Job {job['id']} is en route (ETA 10 min). Tracking: {job['tracking_url']}"]
    assert qdn("jobs", "status", str(job["id"]), "en route", "--eta", "10").splitlines()[1:] == [
        "Nothing changed; the customer was not texted again."
    ]
    opt_out(client)
    assert qdn("jobs", "status", str(job["id"]), "arrived").splitlines()[1:] == ["Customer has opted out; not texted."]
