"""GET/POST /jobs/{id}/messages: a job's conversation, and free text to its customer through the queue."""

from __future__ import annotations

import pytest

from store.base import MESSAGE_FIELDS
from tests.support import CUSTOMER, job_body
from tests.twilio_fake import drain


def create(client) -> dict:
    response = client.post("/jobs", json=job_body())
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]["message"]


def test_messages_are_listed_oldest_first_in_the_public_shape(client):
    job = create(client)
    client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20})
    client.post(f"/jobs/{job['id']}/messages", json={"body": "Gate code is 4411?"})
    drain(client)
    messages = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
    assert [m["kind"] for m in messages] == ["notification", "notification", "relay"]
    assert [m["id"] for m in messages] == [f"{job['id']}-1", f"{job['id']}-2", f"{job['id']}-3"]
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)
    for message in messages:
        assert set(message) == set(MESSAGE_FIELDS)  # no internal bookkeeping (attempts, send_started_at ...)
        assert message["direction"] == "outbound" and message["to"] == message["phone"] == CUSTOMER
        assert message["status"] == "sent"  # console mode


def test_post_queues_a_relay_to_the_customer_and_answers_201(client, capsys):
    job = create(client)
    response = client.post(f"/jobs/{job['id']}/messages", json={"body": "  Running 10 min late, sorry!  "})
    assert response.status_code == 201
    message = response.json()
    assert set(message) == {*MESSAGE_FIELDS, "text"}
    assert message["text"] == {"id": message["id"], "status": "pending", "reason": None}
    assert message["kind"] == "relay" and message["job_id"] == job["id"]
    assert message["body"] == "Running 10 min late, sorry!"
    assert message["to"] == CUSTOMER and message["status"] == "pending"
    drain(client)
    assert "Running 10 min late, sorry!" in capsys.readouterr().out
    stored = client.get(f"/jobs/{job['id']}/messages").json()["messages"][-1]
    assert stored["id"] == message["id"] and stored["status"] == "sent"


def test_post_to_an_opted_out_customer_is_skipped_with_the_reason(client, capsys):
    job = create(client)
    drain(client)
    capsys.readouterr()

    async def opt_out() -> None:
        store = client.app_state["services"].store
        await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})

    client.portal.call(opt_out)
    response = client.post(f"/jobs/{job['id']}/messages", json={"body": "Are you home?"})
    assert response.status_code == 201
    assert response.json()["status"] == "skipped"
    assert "opted out" in response.json()["error_message"]
    drain(client)
    assert "Are you home?" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n "}, "body"),
        ({"body": "x" * 1601}, "body"),
        ({"body": 42}, "body"),
        ({}, "body"),
        ({"body": "hi", "to": "+15125550100"}, "to"),
        (["hi"], "body"),
        ("hi", "body"),
    ],
)
def test_post_refuses_bad_bodies_naming_the_field(client, payload, field):
    job = create(client)
    message = error_of(client.post(f"/jobs/{job['id']}/messages", json=payload), 422, "validation_error")
    assert message.startswith(field)
    assert len(client.get(f"/jobs/{job['id']}/messages").json()["messages"]) == 1  # nothing queued


def test_a_body_of_exactly_1600_characters_is_accepted(client):
    job = create(client)
    assert client.post(f"/jobs/{job['id']}/messages", json={"body": "x" * 1600}).status_code == 201


def test_post_that_is_not_json_is_400(client):
    job = create(client)
    response = client.post(
        f"/jobs/{job['id']}/messages", content=b"{body: hi", headers={"Content-Type": "application/json"}
    )
    error_of(response, 400, "bad_request")


def test_unknown_job_is_404_for_both(client):
    error_of(client.get("/jobs/9999/messages"), 404, "not_found")
    error_of(client.post("/jobs/9999/messages", json={"body": "hi"}), 404, "not_found")


def test_both_need_the_bearer_token(client):
    job = create(client)
    url = f"/jobs/{job['id']}/messages"
    wrong = {"Authorization": "Bearer nope"}
    error_of(client.get(url, headers=wrong), 401, "unauthorized")
    error_of(client.post(url, json={"body": "hi"}, headers=wrong), 401, "unauthorized")
    token = client.headers.pop("Authorization")
    error_of(client.get(url), 401, "unauthorized")
    error_of(client.post(url, json={"body": "hi"}), 401, "unauthorized")
    client.headers["Authorization"] = token
    assert len(client.get(url).json()["messages"]) == 1
