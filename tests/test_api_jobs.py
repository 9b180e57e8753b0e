"""The dashboard's jobs API, through a real app on a real TinyDB file."""

from __future__ import annotations

import pytest

from tests.support import job_body


def create(client, **overrides):
    response = client.post("/jobs", json=job_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]["message"]


# -- create ---------------------------------------------------------------------


def test_create_returns_the_whole_job_with_tracking_url(client):
    job = create(client, scheduled_for="2026-12-01T08:30", total=350, notes="gate code 4411")
    assert job["id"] == 1001
    assert job["customer_phone"] == "+15125550199"
    assert job["status"] == "scheduled"
    assert job["tracking_url"] == f"https://sms.example.test/track?token={job['token']}"
    assert job["scheduled_for"] == "2026-12-01T08:30:00-06:00"  # no zone means TIMEZONE (Chicago)
    assert job["total"] == 350.0
    assert job["eta_minutes"] is None and job["invoice_url"] is None
    assert [h["status"] for h in job["history"]] == ["scheduled"]
    assert job["history"][0]["by"] == "api"
    assert set(job) == {
        "id", "token", "tracking_url", "customer_name", "customer_phone", "service_type", "address",
        "scheduled_for", "total", "invoice_url", "notes", "status", "eta_minutes", "history", "reschedules",
        "reminder_held", "confirmed_at", "created_at", "updated_at", "phone_status",
    }  # fmt: skip
    assert job["phone_status"] is None  # texts reach this phone (docs/consent.md)
    assert job["confirmed_at"] is None  # until the customer texts C after the reminder


def test_ids_come_from_a_sequence_and_are_never_chosen_by_the_client(client):
    first = create(client)
    refused = client.post("/jobs", json=job_body(id=7))
    assert error_of(refused, 422, "validation_error").startswith("id")
    second = create(client)
    assert (first["id"], second["id"]) == (1001, 1002)
    assert first["token"] != second["token"]


def test_create_refuses_missing_required_fields(client):
    for field in ("customer_name", "customer_phone", "service_type"):
        body = job_body()
        del body[field]
        assert error_of(client.post("/jobs", json=body), 422, "validation_error").startswith(field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_name": None}, "customer_name"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_phone": "call me maybe"}, "customer_phone"),
        ({"customer_phone": "555-01"}, "customer_phone"),
        ({"service_type": 42}, "service_type"),
        ({"total": -5}, "total"),
        ({"total": "lots"}, "total"),
        ({"total": True}, "total"),
        ({"scheduled_for": "next tuesday"}, "scheduled_for"),
        ({"invoice_url": "javascript:alert(1)"}, "invoice_url"),
        ({"status": "complete"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_refuses_bad_fields_naming_them(client, change, field):
    message = error_of(client.post("/jobs", json=job_body(**change)), 422, "validation_error")
    assert message.startswith(field)
    assert client.get("/jobs").json() == {"jobs": [], "next_cursor": None}  # nothing was stored


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"customer_name": "Dana",'])
def test_unparseable_body_is_400(client, raw):
    error_of(client.post("/jobs", content=raw, headers={"content-type": "application/json"}), 400, "bad_request")


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_non_object_body_is_422(client, raw):
    error_of(client.post("/jobs", content=raw), 422, "validation_error")


def test_oversized_body_is_413_before_anything_is_stored(client):
    huge = job_body(notes="x" * (1024 * 1024 + 10))
    error_of(client.post("/jobs", json=huge), 413, "payload_too_large")
    assert client.get("/jobs").json() == {"jobs": [], "next_cursor": None}


def test_oversized_body_without_content_length_is_413(client):
    def chunks():
        yield b'{"notes": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    error_of(client.post("/jobs", content=chunks()), 413, "payload_too_large")


# -- auth -------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA==", "Bearer", "bearer  "])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/1001"),
        ("PATCH", "/jobs/1001"),
        ("POST", "/jobs/1001/status"),
    ],
)
def test_every_api_endpoint_needs_the_bearer_token(anon, header, method, path):
    headers = {"Authorization": header} if header else {}
    response = anon.request(method, path, headers=headers, json={})
    error_of(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_bearer_scheme_is_case_insensitive(anon):
    from tests.support import API_TOKEN

    assert anon.get("/jobs", headers={"Authorization": f"bearer {API_TOKEN}"}).status_code == 200


# -- read ---------------------------------------------------------------------------


def test_get_and_missing_job(client):
    job = create(client)
    assert client.get(f"/jobs/{job['id']}").json() == job
    assert error_of(client.get("/jobs/999999"), 404, "not_found") == "No job 999999."
    error_of(client.get("/jobs/abc"), 404, "not_found")


def test_list_is_newest_first_and_filters_by_status_and_phone(client):
    a = create(client)
    b = create(client, customer_phone="+1 737 555 0142", customer_name="Luis Ortega")
    c = create(client)
    client.post(f"/jobs/{c['id']}/status", json={"status": "cancelled"})
    ids = lambda response: [j["id"] for j in response.json()["jobs"]]  # noqa: E731
    assert ids(client.get("/jobs")) == [c["id"], b["id"], a["id"]]
    assert ids(client.get("/jobs", params={"status": "scheduled"})) == [b["id"], a["id"]]
    assert ids(client.get("/jobs", params={"status": "cancelled, scheduled"})) == [c["id"], b["id"], a["id"]]
    assert ids(client.get("/jobs", params={"phone": "(737) 555-0142"})) == [b["id"]]
    assert ids(client.get("/jobs", params={"phone": "512.555.0199", "status": "scheduled"})) == [a["id"]]
    assert ids(client.get("/jobs", params={"phone": "+19999999999"})) == []


@pytest.mark.parametrize(("params", "field"), [({"status": "lost"}, "status"), ({"phone": "nope"}, "phone")])
def test_list_refuses_bad_filters(client, params, field):
    assert error_of(client.get("/jobs", params=params), 422, "validation_error").startswith(field)


# -- edit ---------------------------------------------------------------------------


def test_patch_edits_fields_and_reindexes_phone(client):
    job = create(client)
    response = client.patch(
        f"/jobs/{job['id']}", json={"customer_phone": "737-555-0142", "notes": "dog in yard", "address": None}
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["customer_phone"] == "+17375550142"
    assert edited["notes"] == "dog in yard" and edited["address"] is None
    assert edited["status"] == "scheduled" and edited["history"] == job["history"]
    assert client.get(f"/jobs/{job['id']}").json() == edited
    assert [j["id"] for j in client.get("/jobs", params={"phone": "+17375550142"}).json()["jobs"]] == [job["id"]]
    assert client.get("/jobs", params={"phone": "+15125550199"}).json()["jobs"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "complete"}, "status"),
        ({"id": 5}, "id"),
        ({"token": "X"}, "token"),
        ({"history": []}, "history"),
        ({"customer_name": None}, "customer_name"),
        ({"customer_phone": "12"}, "customer_phone"),
    ],
)
def test_patch_refuses_other_fields_and_bad_values(client, body, field):
    job = create(client)
    assert error_of(client.patch(f"/jobs/{job['id']}", json=body), 422, "validation_error").startswith(field)
    assert client.get(f"/jobs/{job['id']}").json() == job


def test_patch_missing_job_is_404(client):
    error_of(client.patch("/jobs/4242", json={"notes": "x"}), 404, "not_found")


# -- status -------------------------------------------------------------------------


def test_status_moves_forward_with_history(client):
    job = create(client)
    on_way = client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20}).json()
    assert on_way["status"] == "en_route" and on_way["eta_minutes"] == 20
    done = client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": "1,200.00"}).json()
    assert done["status"] == "complete" and done["total"] == 1200.0 and done["eta_minutes"] is None
    assert [(h["status"], h["eta_minutes"]) for h in done["history"]] == [
        ("scheduled", None),
        ("en_route", 20),
        ("complete", None),
    ]


def test_refused_move_is_409_saying_why_and_changes_nothing(client):
    job = create(client)
    client.post(f"/jobs/{job['id']}/status", json={"status": "complete"})
    before = client.get(f"/jobs/{job['id']}").json()
    message = error_of(client.post(f"/jobs/{job['id']}/status", json={"status": "en_route"}), 409, "invalid_transition")
    assert message == f"{job['id']} is complete; it can't go en route"
    assert client.get(f"/jobs/{job['id']}").json() == before


def test_a_new_total_on_a_complete_job_is_refused_saying_how_to_correct_it(client):
    job = create(client)
    done = client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": 350}).json()
    assert done.pop("text")["status"] == "pending"  # the answer says the customer is texted; the job is the rest

    def texts():
        return [message["id"] for message in client.get(f"/jobs/{job['id']}/messages").json()["messages"]]

    sent = texts()
    refused = client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": 999})
    assert error_of(refused, 409, "invalid_transition") == (
        f"{job['id']} is already complete (total $350.00); correct the total by editing the job "
        f"(PATCH /jobs/{job['id']}), which texts no one"
    )
    assert client.get(f"/jobs/{job['id']}").json() == done
    # The same total again is the same status: nothing changes, nothing is sent.
    assert client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": "$350"}).json() == {
        **done,
        "text": None,
    }
    # The way the refusal points to corrects it without a text.
    edited = client.patch(f"/jobs/{job['id']}", json={"total": 999})
    assert edited.json()["total"] == 999.0 and edited.json()["history"] == done["history"]
    assert texts() == sent


def test_a_total_on_a_complete_job_without_one_is_refused_too(client):
    job = create(client)
    client.post(f"/jobs/{job['id']}/status", json={"status": "complete"})
    refused = client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": 120})
    assert error_of(refused, 409, "invalid_transition").startswith(f"{job['id']} is already complete (no total); ")
    assert client.get(f"/jobs/{job['id']}").json()["total"] is None


def test_same_status_is_a_no_op(client):
    job = create(client)
    again = client.post(f"/jobs/{job['id']}/status", json={"status": "scheduled"})
    assert again.status_code == 200
    assert again.json() == {**job, "text": None}  # nothing sent


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": 3}, "status"),
        ({"status": "lost"}, "status"),
        ({"status": "en_route", "eta_minutes": "soon"}, "eta_minutes"),
        ({"status": "en_route", "eta_minutes": -1}, "eta_minutes"),
        ({"status": "arrived", "eta_minutes": 5}, "eta_minutes"),
        ({"status": "complete", "total": "a lot"}, "total"),
        ({"status": "complete", "by": "me"}, "by"),
    ],
)
def test_bad_status_requests_are_422(client, body, field):
    job = create(client)
    message = error_of(client.post(f"/jobs/{job['id']}/status", json=body), 422, "validation_error")
    assert message.startswith(field)
    assert client.get(f"/jobs/{job['id']}").json() == job


def test_status_of_missing_job_is_404(client):
    error_of(client.post("/jobs/5555/status", json={"status": "arrived"}), 404, "not_found")


# -- health and CORS ------------------------------------------------------------------


def test_healthz(anon):
    assert anon.get("/healthz").json() == {"status": "ok", "store": "tinydb", "twilio": "console"}


def test_healthz_is_503_when_the_store_file_is_gone(anon, settings):
    (settings.data_folder / "qdn.json").unlink()
    response = anon.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_cors_allows_exactly_the_configured_origins(tmp_path):
    from starlette.testclient import TestClient

    from config.settings import load_settings
    from tests.support import base_environ
    from web.app import create_app

    env = base_environ(tmp_path, CORS_ORIGINS="https://dash.quickdumpnow.com")
    with TestClient(create_app(load_settings(env, env_file=None))) as c:
        ok = c.options(
            "/jobs",
            headers={"Origin": "https://dash.quickdumpnow.com", "Access-Control-Request-Method": "POST"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://dash.quickdumpnow.com"
        evil = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


def test_no_cors_headers_without_configured_origins(anon):
    response = anon.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
