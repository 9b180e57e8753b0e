"""Statuses as people write them: the API takes the dispatcher's spellings, and refusals say the choices in words."""

from __future__ import annotations

import pytest

from bot.conversation import SetStatus, parse
from bot.errors import ValidationError
from bot.jobs import STATUS_WORDS, parse_status
from tests.support import job_body

CHOICES = "use scheduled, en route, arrived, complete or cancelled"


def create(client, **overrides):
    response = client.post("/jobs", json=job_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def ids(response):
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["jobs"]]


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("en_route", "en_route"),
        ("en route", "en_route"),
        ("EN-ROUTE", "en_route"),
        ("enroute", "en_route"),
        (" En Route ", "en_route"),
        ("omw", "en_route"),
        ("on site", "arrived"),
        ("Arrived", "arrived"),
        ("done", "complete"),
        ("DONE", "complete"),
        ("completed", "complete"),
        ("canceled", "cancelled"),
        ("Cancelled", "cancelled"),
        ("scheduled", "scheduled"),
    ],
)
def test_parse_status_takes_the_spellings_people_use(typed, status):
    assert parse_status(typed) == status


SPELLINGS = [(word, status) for status, words in STATUS_WORDS.items() for word in words]


@pytest.mark.parametrize(("word", "status"), SPELLINGS)
def test_the_api_and_a_dispatchers_text_read_each_spelling_alike(word, status):
    """One table (bot.jobs.STATUS_WORDS) for both; only `scheduled` is no command to text."""
    for typed in (word, word.upper(), word.replace(" ", "-"), word.replace(" ", "")):
        assert parse_status(typed) == status
        command = parse(f"{typed} 1042", "dispatcher")
        if status == "scheduled":
            assert not isinstance(command, SetStatus)
        else:
            assert command == SetStatus(f"{typed} 1042", "dispatcher", job_id=1042, status=status), typed


@pytest.mark.parametrize("typed", ["lost", "", "   ", "en  routed", "arrived\x00", 3, None])
def test_parse_status_refuses_others_in_words(typed):
    with pytest.raises(ValidationError) as refused:
        parse_status(typed)
    assert refused.value.field == "status"
    assert refused.value.message.endswith(CHOICES)
    assert "[" not in refused.value.message and "en_route" not in refused.value.message


def test_list_filter_takes_the_same_spellings(client):
    scheduled = create(client)
    on_way = create(client)
    there = create(client)
    done = create(client)
    gone = create(client)
    client.post(f"/jobs/{on_way['id']}/status", json={"status": "en_route", "eta_minutes": 10})
    client.post(f"/jobs/{there['id']}/status", json={"status": "arrived"})
    client.post(f"/jobs/{done['id']}/status", json={"status": "complete"})
    client.post(f"/jobs/{gone['id']}/status", json={"status": "cancelled"})
    assert ids(client.get("/jobs?status=en%20route")) == [on_way["id"]]
    assert ids(client.get("/jobs", params={"status": "EN-ROUTE, arrived"})) == [there["id"], on_way["id"]]
    assert ids(client.get("/jobs", params={"status": "enroute"})) == [on_way["id"]]
    assert ids(client.get("/jobs", params={"status": "done"})) == [done["id"]]
    assert ids(client.get("/jobs", params={"status": "canceled,scheduled"})) == [gone["id"], scheduled["id"]]


@pytest.mark.parametrize("status", ["lost", "en route,lost", "flying, done"])
def test_list_filter_refuses_unknown_statuses_in_words(client, status):
    response = client.get("/jobs", params={"status": status})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("status: ")
    assert error["message"].endswith(CHOICES)
    assert "[" not in error["message"]


def test_status_move_takes_the_same_spellings(client):
    job = create(client)
    moved = client.post(f"/jobs/{job['id']}/status", json={"status": "EN ROUTE", "eta_minutes": 20})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["eta_minutes"]) == ("en_route", 20)
    done = client.post(f"/jobs/{job['id']}/status", json={"status": "done", "total": 350})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["total"]) == ("complete", 350.0)
    other = create(client)
    cancelled = client.post(f"/jobs/{other['id']}/status", json={"status": "canceled"})
    assert cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize("body", [{"status": "lost"}, {}, {"status": ""}])
def test_status_move_refuses_unknown_statuses_in_words(client, body):
    job = create(client)
    response = client.post(f"/jobs/{job['id']}/status", json=body)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("status: ") and message.endswith(CHOICES)
    assert client.get(f"/jobs/{job['id']}").json() == job
