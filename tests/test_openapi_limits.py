"""/openapi.json states exactly the limits the API enforces: for tricky values on both sides of each
limit, the published schema and the API agree on whether the value is taken.

Schemathesis (tests/test_schemathesis.py) samples at random; this table checks the edges every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.support import job_body
from web.openapi import DOCUMENT

PATHS = DOCUMENT["paths"]
CREATE = PATHS["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
MOVE = PATHS["/jobs/{job_id}/status"]["post"]["requestBody"]["content"]["application/json"]["schema"]
TEXT = PATHS["/jobs/{job_id}/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]


def schema_takes(schema: dict[str, Any], value: Any) -> bool:
    return Draft202012Validator(schema).is_valid(value)


def answer_says_taken(response) -> bool:
    """422 is a refusal of the value; anything else in 2xx/409 means it was read."""
    assert response.status_code in (200, 201, 409, 422), response.text
    return response.status_code != 422


LONG = {"customer_name": 100, "service_type": 60, "address": 300, "notes": 2000}
CREATE_CASES = [
    *[(field, "a" * size) for field, size in LONG.items()],
    *[(field, "a" * (size + 1)) for field, size in LONG.items()],
    *[(field, " " + "a" * size) for field, size in LONG.items()],  # the limit counts what is sent
    ("customer_name", "   "),
    ("customer_name", " Dana "),
    ("customer_name", "Dana\x1c"),
    ("customer_name", "\x1cDana"),
    ("customer_name", "Dana\nW"),
    ("address", "4512 Ridgeview Dr\r\nAustin"),
    ("address", "4512 Ridgeview Dr\rAustin"),
    ("address", "\t4512 Ridgeview Dr"),
    ("notes", "   "),
    ("notes", None),
    ("invoice_url", "https://pay.example.test/i/1"),
    ("invoice_url", " https://pay.example.test/i/1 "),
    ("invoice_url", "ftp://pay.example.test"),
    ("invoice_url", "HTTPS://pay.example.test"),
    ("invoice_url", "https://" + "a" * 1992),
    ("invoice_url", "https://" + "a" * 1993),
    ("invoice_url", "  "),
    ("customer_phone", "5" * 251),
    ("customer_phone", 5125550199),
    ("total", 350),
    ("total", 0),
    ("total", 1_000_000),
    ("total", 1_000_000.01),
    ("total", -1),
    ("total", "350"),
    ("total", "$1,200.00"),
    ("total", " $350 "),
    ("total", "1,20"),
    ("total", "1e3"),
    ("total", "1_000"),
    ("total", "-5"),
    ("total", "$"),
    ("total", True),
    ("total", None),
    ("scheduled_for", "2026-12-06"),
    ("scheduled_for", " 2026-12-06 "),
    ("scheduled_for", "2026-12-06T09:00"),
    ("scheduled_for", "2026-12-06 09:00"),
    ("scheduled_for", "2026-12-06T09:00:00.5-06:00"),
    ("scheduled_for", "20261206"),
    ("scheduled_for", "2026-W49-6"),
    ("scheduled_for", "tomorrow"),
    ("scheduled_for", "2026-12-06\x1c"),
    ("colour", "red"),
]


@pytest.mark.parametrize(("field", "value"), CREATE_CASES, ids=[f"{f}={v!r:.30}" for f, v in CREATE_CASES])
def test_create_fields_schema_and_api_agree(client, field, value):
    body = job_body(**{field: value})
    api = answer_says_taken(client.post("/jobs", json=body))
    assert schema_takes(CREATE, body) == api, f"schema {'takes' if not api else 'refuses'} what the API does not"


MOVE_CASES = [
    {"status": "en_route"},
    {"status": "EN-ROUTE"},
    {"status": " en route "},
    {"status": "On Site"},
    {"status": "omw", "eta_minutes": 20},
    {"status": "e n_r-o u t e"},
    {"status": "Canceled"},
    {"status": "en\troute"},
    {"status": "lost"},
    {"status": ""},
    {"status": 3},
    {"status": "en_route", "eta_minutes": 0},
    {"status": "en_route", "eta_minutes": 1440},
    {"status": "en_route", "eta_minutes": 1441},
    {"status": "en_route", "eta_minutes": -1},
    {"status": "en_route", "eta_minutes": "20"},
    {"status": "complete", "total": "$1,200.00"},
    {"status": "complete", "total": "a lot"},
    {"status": "en_route", "by": "me"},
    {},
]


@pytest.mark.parametrize("body", MOVE_CASES, ids=[repr(b)[:40] for b in MOVE_CASES])
def test_status_moves_schema_and_api_agree(client, body):
    job = client.post("/jobs", json=job_body()).json()
    api = answer_says_taken(client.post(f"/jobs/{job['id']}/status", json=body))
    assert schema_takes(MOVE, body) == api


TEXT_CASES = ["x" * 1600, "x" * 1601, " " + "x" * 1600, "   ", "two\nlines", "a\x00b", "tab\there", "\r\nhi\r\n"]


@pytest.mark.parametrize("text", TEXT_CASES, ids=[repr(t)[:30] for t in TEXT_CASES])
def test_dashboard_texts_schema_and_api_agree(client, text):
    job = client.post("/jobs", json=job_body()).json()
    api = answer_says_taken(client.post(f"/jobs/{job['id']}/messages", json={"body": text}))
    assert schema_takes(TEXT, {"body": text}) == api


def test_every_operation_has_an_operation_id_and_json_errors():
    ids = [op["operationId"] for ops in PATHS.values() for name, op in ops.items() if name != "parameters"]
    # 13 of jobs, texts (a resend and a cancel among them) and tracking; 1 of the token's business;
    # 1 of pictures; 6 of the admin API; 1 of consent
    assert len(ids) == len(set(ids)) == 22
    for ops in PATHS.values():
        for name, op in ops.items():
            if name == "parameters":
                continue
            for status, answer in op["responses"].items():
                if int(status) >= 400 and op["operationId"] != "getHealth":  # /healthz's 503 is its own shape
                    assert "Error" in str(answer["content"]["application/json"]["schema"]), (name, status)
            assert {"405", "413", "503"} <= set(op["responses"])


def test_servers_come_from_public_base_url(anon):
    assert anon.get("/openapi.json").json()["servers"] == [{"url": "https://sms.example.test"}]
