"""Values at the edges of what Python's types hold: a clear 4xx naming the field, never a 500.

Year 1 and 9999 are what .NET's default(DateTime) and date pickers' "no end" send; a job id of
thousands of digits is past int()'s 4,300-digit limit. And the schema's date patterns say exactly
what the server takes: a string the published pattern allows is accepted, one it refuses is refused.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import job_body

EDGE_YEARS = [
    "0001-01-01",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "9999-12-31T23:59:59-12:00",
    "1899-12-31T23:59",
    "3000-01-01",
]


def error_of(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


@pytest.fixture
def job(client):
    """A closed job: any day the patterns allow is an appointment it may be given (an open job's new
    appointment must not have passed: tests/test_appointments.py)."""
    response = client.post("/jobs", json=job_body(scheduled_for="2026-12-05T09:00"))
    assert response.status_code == 201, response.text
    assert client.post(f"/jobs/{response.json()['id']}/status", json={"status": "cancelled"}).status_code == 200
    return response.json()


@pytest.mark.parametrize("value", EDGE_YEARS)
def test_an_appointment_in_year_1_or_9999_is_a_422_naming_the_field(client, job, value):
    message = error_of(client.post("/jobs", json=job_body(scheduled_for=value)), 422, "validation_error")
    assert message.startswith("scheduled_for:") and "1900 to 2999" in message
    message = error_of(client.patch(f"/jobs/{job['id']}", json={"scheduled_for": value}), 422, "validation_error")
    assert message.startswith("scheduled_for:")
    # Nothing was made or changed.
    assert [j["id"] for j in client.get("/jobs").json()["jobs"]] == [job["id"]]
    assert client.get(f"/jobs/{job['id']}").json()["scheduled_for"] == job["scheduled_for"]


def test_the_years_either_side_of_the_edges_still_work(client):
    for value, stored in [("1900-01-01", "1900-01-01"), ("2999-12-31T23:59+14:00", "2999-12-31T23:59:00+14:00")]:
        response = client.post("/jobs", json=job_body(scheduled_for=value))
        assert response.status_code == 201, response.text
        assert response.json()["scheduled_for"] == stored


HUGE_ID = "7" * 5000  # past int()'s 4,300-digit limit


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/{}"),
        ("PATCH", "/jobs/{}"),
        ("POST", "/jobs/{}/status"),
        ("GET", "/jobs/{}/messages"),
        ("POST", "/jobs/{}/messages"),
    ],
)
@pytest.mark.parametrize("job_id", [HUGE_ID, "9" * 20, "9223372036854775808"])
def test_a_job_id_too_long_for_any_job_is_a_404_like_any_unknown_job(client, job, method, path, job_id):
    body = {"status": "en_route"} if path.endswith("status") else {"body": "hi"} if "messages" in path else {}
    response = client.request(method, path.format(job_id), json=body if method != "GET" else None)
    error_of(response, 404, "not_found")
    assert len(response.text) < 300  # the answer does not echo 5,000 digits


def test_updated_since_takes_any_year_and_clamps_at_the_edges(client, job):
    def listed(since):
        response = client.get("/jobs", params={"updated_since": since})
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()["jobs"]]

    # "Since the beginning" (.NET's default) lists everything; "since the end of time" nothing.
    assert listed("0001-01-01") == [job["id"]]
    assert listed("0001-01-01T00:00:00+14:00") == [job["id"]]
    assert listed("9999-12-31T23:59:59-12:00") == []
    for bad in ["0000-00-00", "2026-02-30", "2025-02-29", "2026-12-05T24:00"]:
        response = client.get("/jobs", params={"updated_since": bad})
        assert error_of(response, 422, "validation_error").startswith("updated_since:")


# -- the published patterns are exactly what is accepted ------------------------------------------


def published_patterns(client) -> tuple[str, str]:
    """The patterns /openapi.json gives `scheduled_for` (in job bodies) and `updated_since`."""
    document = client.get("/openapi.json").json()
    found: set[str] = set()
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(field := node.get("scheduled_for"), dict) and "pattern" in field:
                found.add(field["pattern"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    assert len(found) == 1, found  # one reading of the field wherever a body takes it
    list_params = document["paths"]["/jobs"]["get"]["parameters"]
    since = next(p for p in list_params if p.get("name") == "updated_since")
    return found.pop(), since["schema"]["pattern"]


EXACT = settings(
    max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def test_every_date_the_published_patterns_allow_is_accepted(client, job):
    scheduled, since = published_patterns(client)

    @given(st.from_regex(scheduled, fullmatch=True), st.from_regex(since, fullmatch=True))
    @EXACT
    def accepted(appointment: str, moment: str) -> None:
        response = client.patch(f"/jobs/{job['id']}", json={"scheduled_for": appointment})
        assert response.status_code == 200, (appointment, response.text)
        response = client.get("/jobs", params={"updated_since": moment, "limit": 1})
        assert response.status_code == 200, (moment, response.text)

    accepted()


REFUSED = ["0000-00-00", "2026-00-10", "2026-13-01", "2026-04-31", "2026-02-29", "1900-02-29", "2100-02-29"]
REFUSED_TIMES = ["2026-12-05T24:00", "2026-12-05T09:60", "2026-12-05T09:00:60", "2026-12-05T09:00+24:00"]


@pytest.mark.parametrize("value", REFUSED + REFUSED_TIMES + ["2026-12-05T09:00-23:60"])
def test_what_the_published_patterns_refuse_the_server_refuses(client, job, value):
    scheduled, since = published_patterns(client)
    assert not re.search(scheduled, value) and not re.search(since, value)
    response = client.patch(f"/jobs/{job['id']}", json={"scheduled_for": value})
    assert error_of(response, 422, "validation_error").startswith("scheduled_for:")
    assert error_of(client.get("/jobs", params={"updated_since": value}), 422, "validation_error")


@pytest.mark.parametrize("value", ["2000-02-29", "2400-02-29T10:00", "2024-02-29 09:30:15.5-05:00"])
def test_leap_days_in_leap_years_are_taken(client, job, value):
    scheduled, since = published_patterns(client)
    assert re.search(scheduled, value) and re.search(since, value)
    assert client.patch(f"/jobs/{job['id']}", json={"scheduled_for": value}).status_code == 200
