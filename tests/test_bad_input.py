"""Hostile or broken JSON on every JSON route: a clear 400 or 422, never a 500, nothing stored."""

from __future__ import annotations

import json

import pytest

from tests.support import job_body


def error_of(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error["message"]


@pytest.fixture
def job(client):
    response = client.post("/jobs", json=job_body())
    assert response.status_code == 201, response.text
    return response.json()


def routes(job_id):
    """(method, path) of every route that reads a JSON body."""
    return [
        ("POST", "/jobs"),
        ("PATCH", f"/jobs/{job_id}"),
        ("POST", f"/jobs/{job_id}/status"),
        ("POST", f"/jobs/{job_id}/messages"),
    ]


def send(client, method, path, raw: str | bytes):
    return client.request(method, path, content=raw, headers={"content-type": "application/json"})


def stored(client, job_id):
    """The job and its conversation's texts (not their delivery status, which the sender moves on)."""
    texts = [(m["id"], m["body"]) for m in client.get(f"/jobs/{job_id}/messages").json()["messages"]]
    return client.get(f"/jobs/{job_id}").json(), texts


# -- deep nesting -----------------------------------------------------------------

DEEP = [
    "[" * 1000 + "]" * 1000,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    '{"notes": ' + "[" * 2000 + "]" * 2000 + "}",
    # Shallow enough for the parser, still far deeper than any body this API takes.
    '{"notes": ' + '{"a":' * 200 + "1" + "}" * 200 + "}",
]


@pytest.mark.parametrize("raw", DEEP, ids=["array-1k", "array-100k", "object-5k", "in-a-field", "object-200"])
def test_deeply_nested_json_is_400_on_every_route(client, job, raw):
    before = stored(client, job["id"])
    for method, path in routes(job["id"]):
        message = error_of(send(client, method, path, raw), 400, "bad_request")
        assert "nested" in message, (method, path, message)
    assert stored(client, job["id"]) == before
    assert [j["id"] for j in client.get("/jobs").json()["jobs"]] == [job["id"]]


# -- lone surrogates ------------------------------------------------------------------

# A JSON escape that decodes to half of a UTF-16 pair: valid JSON syntax, not text.
LONE = "\\ud800"


@pytest.mark.parametrize(
    ("field", "raw_value"),
    [
        ("customer_name", f'"Dana {LONE} Whitfield"'),
        ("notes", f'"gate code {LONE}"'),
        ("address", f'"{LONE}"'),
        ("service_type", f'"junk removal{LONE}"'),
        ("invoice_url", f'"https://pay.example/{LONE}"'),
        ("customer_phone", f'"512-555-0199{LONE}"'),
        ("scheduled_for", f'"2026-12-05{LONE}"'),
        ("total", f'"350{LONE}"'),
        ("notes", f'["{LONE}"]'),
    ],
)
def test_a_lone_surrogate_in_a_job_field_is_422_naming_it(client, job, field, raw_value):
    before = stored(client, job["id"])
    fields = {key: json.dumps(value) for key, value in job_body().items() if key != field}
    fields[field] = raw_value
    create = "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}"
    assert error_of(send(client, "POST", "/jobs", create), 422, "validation_error").startswith(f"{field}:")
    patch = f'{{"{field}": {raw_value}}}'
    assert error_of(send(client, "PATCH", f"/jobs/{job['id']}", patch), 422, "validation_error").startswith(f"{field}:")
    assert stored(client, job["id"]) == before
    assert len(client.get("/jobs").json()["jobs"]) == 1


@pytest.mark.parametrize(
    ("path_end", "raw", "field"),
    [
        ("status", f'{{"status": "arrived{LONE}"}}', "status"),
        ("status", f'{{"status": "complete", "total": "9{LONE}"}}', "total"),
        ("messages", f'{{"body": "See you at 9 {LONE}"}}', "body"),
    ],
)
def test_a_lone_surrogate_in_a_status_or_message_body_is_422_naming_it(client, job, path_end, raw, field):
    before = stored(client, job["id"])
    response = send(client, "POST", f"/jobs/{job['id']}/{path_end}", raw)
    assert error_of(response, 422, "validation_error").startswith(f"{field}:")
    assert stored(client, job["id"]) == before


def test_a_lone_surrogate_in_a_key_is_422_naming_the_key_readably(client, job):
    before = stored(client, job["id"])
    for method, path in routes(job["id"]):
        response = send(client, method, path, f'{{"colour{LONE}": "red"}}')
        message = error_of(response, 422, "validation_error")
        assert message.startswith("colour\\ud800:"), (method, path, message)  # escaped, so it can be shown
    assert stored(client, job["id"]) == before


def test_a_proper_surrogate_pair_is_an_ordinary_character(client):
    response = send(client, "POST", "/jobs", json.dumps(job_body(notes="Dog is friendly \U0001f415")))
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == "Dog is friendly \U0001f415"


# -- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["customer_name", "service_type", "invoice_url", "address", "notes"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"], ids=["NUL", "BEL", "ESC", "DEL", "NEL"])
def test_control_characters_are_422_naming_the_field(client, job, field, char):
    before = stored(client, job["id"])
    value = f"https://pay.example/x{char}y" if field == "invoice_url" else f"Dana{char}Whitfield"
    created = client.post("/jobs", json=job_body(**{field: value}))
    assert error_of(created, 422, "validation_error").startswith(f"{field}:")
    patched = client.patch(f"/jobs/{job['id']}", json={field: value})
    assert error_of(patched, 422, "validation_error").startswith(f"{field}:")
    assert stored(client, job["id"]) == before


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"], ids=["NUL", "ESC", "DEL"])
def test_control_characters_in_a_phone_are_422(client, job, char):
    created = client.post("/jobs", json=job_body(customer_phone=f"512-555-0199{char}"))
    assert error_of(created, 422, "validation_error").startswith("customer_phone:")
    listed = client.get("/jobs", params={"phone": f"{char}512-555-0199"})
    assert error_of(listed, 422, "validation_error").startswith("phone:")


@pytest.mark.parametrize("field", ["customer_name", "service_type", "invoice_url"])
@pytest.mark.parametrize("char", ["\n", "\t", "\r"])
def test_one_line_fields_take_no_line_breaks_or_tabs(client, field, char):
    value = f"https://pay.example/x{char}y" if field == "invoice_url" else f"Dana{char}Whitfield"
    created = client.post("/jobs", json=job_body(**{field: value}))
    assert error_of(created, 422, "validation_error").startswith(f"{field}:")


def test_address_and_notes_keep_lines_and_tabs(client):
    created = client.post(
        "/jobs", json=job_body(address="4512 Ridgeview Dr\r\nAustin, TX 78731", notes="Sofa\tx1\nMattress\tx2")
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["address"] == "4512 Ridgeview Dr\nAustin, TX 78731"  # CRLF from a text box is one line break
    assert job["notes"] == "Sofa\tx1\nMattress\tx2"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\r"])
def test_a_text_to_the_customer_refuses_control_characters(client, job, char):
    before = stored(client, job["id"])
    response = client.post(f"/jobs/{job['id']}/messages", json={"body": f"On our way{char} now"})
    assert error_of(response, 422, "validation_error").startswith("body:")
    assert stored(client, job["id"]) == before


def test_a_text_to_the_customer_keeps_its_lines(client, job):
    response = client.post(f"/jobs/{job['id']}/messages", json={"body": "On our way.\r\nGate code?\tThanks"})
    assert response.status_code == 201, response.text
    assert response.json()["body"] == "On our way.\nGate code?\tThanks"


@pytest.mark.parametrize("status", ["arrived\x00", "en\x1broute"])
def test_a_status_with_control_characters_is_422(client, job, status):
    response = client.post(f"/jobs/{job['id']}/status", json={"status": status})
    assert error_of(response, 422, "validation_error").startswith("status:")
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "scheduled"


# -- local-only phone numbers (item 8) --------------------------------------------------------


@pytest.mark.parametrize("phone", ["555-1234", "5551234", "+1 555 1234"])
def test_a_seven_digit_local_number_is_not_a_customer_phone(client, job, phone):
    created = client.post("/jobs", json=job_body(customer_phone=phone))
    message = error_of(created, 422, "validation_error")
    assert message.startswith("customer_phone:") and "area code" in message
    patched = client.patch(f"/jobs/{job['id']}", json={"customer_phone": phone})
    assert error_of(patched, 422, "validation_error").startswith("customer_phone:")
    assert client.get(f"/jobs/{job['id']}").json()["customer_phone"] == "+15125550199"
    assert len(client.get("/jobs").json()["jobs"]) == 1
