"""Idempotency-Key: a retried write gets the first answer and does nothing again, even ten at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support import API_TOKEN, LiveServer, base_environ, job_body
from tests.twilio_fake import drain
from web.app import create_app

KEY = "8f14e45f-ceea-467f-a9d8-6d2a1d2f0b31"


def create(client, key: str | None = KEY, **fields: Any):
    return client.post("/jobs", json=job_body(**fields), headers={"Idempotency-Key": key} if key else {})


def job_count(client) -> int:
    return len(client.get("/jobs").json()["jobs"])


def texts_of(client, job_id: int) -> list[dict[str, Any]]:
    return client.get(f"/jobs/{job_id}/messages").json()["messages"]


def test_a_retried_create_gets_the_first_answer_and_makes_no_second_job_or_text(client):
    first = create(client)
    again = create(client)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert job_count(client) == 1
    assert len(texts_of(client, first.json()["id"])) == 1  # the customer got one booking text


def test_a_retry_may_spell_the_same_body_differently(client):
    body = job_body()
    first = client.post("/jobs", json=body, headers={"Idempotency-Key": KEY})
    respelled = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()  # other key order and spacing
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    again = client.post("/jobs", content=respelled, headers=headers)
    assert again.json() == first.json() and job_count(client) == 1


def test_the_same_key_with_another_body_or_endpoint_is_a_422(client):
    job = create(client).json()
    other = create(client, customer_name="Someone Else")
    assert other.status_code == 422 and other.json()["error"]["message"].startswith("Idempotency-Key:")
    moved = client.post(f"/jobs/{job['id']}/status", json={"status": "arrived"}, headers={"Idempotency-Key": KEY})
    assert moved.status_code == 422
    assert job_count(client) == 1 and client.get(f"/jobs/{job['id']}").json()["status"] == "scheduled"


def test_without_a_key_every_request_acts(client):
    create(client, key=None)
    create(client, key=None)
    assert job_count(client) == 2


def test_a_retried_move_answers_as_first_even_after_the_job_moved_on(client):
    job = create(client, key=None).json()
    url, key = f"/jobs/{job['id']}/status", {"Idempotency-Key": "move-1"}
    first = client.post(url, json={"status": "en_route", "eta_minutes": 20}, headers=key)
    client.post(f"/jobs/{job['id']}/status", json={"status": "arrived"})
    again = client.post(url, json={"status": "en_route", "eta_minutes": 20}, headers=key)
    assert (again.status_code, again.json()) == (200, first.json())  # not a 409: it is the same request
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "arrived"
    assert len(texts_of(client, job["id"])) == 3  # booked, on the way, arrived: no second "on the way"


def test_a_retried_text_is_sent_once(client, capsys):
    job = create(client, key=None).json()
    url, key = f"/jobs/{job['id']}/messages", {"Idempotency-Key": "text-1"}
    first = client.post(url, json={"body": "Running 10 min late"}, headers=key)
    again = client.post(url, json={"body": "Running 10 min late"}, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    drain(client)
    assert capsys.readouterr().out.count("Running 10 min late") == 1


def test_a_failed_request_keeps_no_key(client):
    refused = create(client, customer_phone="12")
    assert refused.status_code == 422
    assert create(client).status_code == 201  # the corrected retry, same key, acts


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "has space", "tab\tkey"])
def test_a_malformed_key_is_a_422_naming_the_header(client, key):
    response = client.post("/jobs", json=job_body(), headers={"Idempotency-Key": key.encode()})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("Idempotency-Key:")
    assert job_count(client) == 0


def test_keys_are_kept_across_a_restart(settings):
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        first = create(client).json()
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        assert create(client).json() == first
        assert job_count(client) == 1


# -- ten concurrent retries against a real server -----------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(base_environ(tmp_path), tmp_path).start()
    try:
        yield live
    finally:
        live.stop()


async def ten_at_once(url: str, path: str, body: dict[str, Any], key: str) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": key}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        return await asyncio.gather(*(client.post(path, json=body) for _ in range(10)))


def test_ten_concurrent_retries_make_one_job_one_move_and_one_text(server: LiveServer):
    created = asyncio.run(ten_at_once(server.url, "/jobs", job_body(), "race-create"))
    assert {r.status_code for r in created} == {201}
    assert len({r.text for r in created}) == 1  # one answer, ten times
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in created) == 9
    job = created[0].json()

    moves = asyncio.run(ten_at_once(server.url, f"/jobs/{job['id']}/status", {"status": "en route"}, "race-move"))
    assert {r.status_code for r in moves} == {200} and len({r.text for r in moves}) == 1
    sends = asyncio.run(ten_at_once(server.url, f"/jobs/{job['id']}/messages", {"body": "Gate?"}, "race-text"))
    assert {r.status_code for r in sends} == {201} and len({r.text for r in sends}) == 1

    with server.client() as client:
        assert len(client.get("/jobs").json()["jobs"]) == 1
        stored = client.get(f"/jobs/{job['id']}").json()
        assert [step["status"] for step in stored["history"]] == ["scheduled", "en_route"]
        kinds = [m["kind"] for m in client.get(f"/jobs/{job['id']}/messages").json()["messages"]]
        assert kinds == ["notification", "notification", "relay"]
