"""/openapi.json stays true: every JSON route is described, and real answers match the schemas."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from starlette.routing import Route

from handlers import inbox
from tests.support import job_body
from web.app import routes
from web.openapi import DOCUMENT

# Routes that are not part of the JSON API: Twilio's webhooks, HTML pages, pictures' signed links
# (like the page, opened by a person, never a client), the document itself.
NOT_JSON_API = {
    "/twilio/sms",
    "/twilio/status",
    "/twilio/{business}/sms",
    "/twilio/{business}/status",
    "/track",
    "/track/{token:path}",
    "/m/{rest:path}",
    "/openapi.json",
    # The office inbox: HTML pages and their forms, and its event stream (handlers/inbox/).
    *(route.path for route in inbox.routes if isinstance(route, Route)),
}


def openapi_path(route_path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route_path)


def check(response, path: str, method: str) -> None:
    """Validate a real response against the document's schema for it."""
    described = DOCUMENT["paths"][path][method]["responses"]
    assert str(response.status_code) in described, f"{method.upper()} {path} {response.status_code} not described"
    schema = described[str(response.status_code)]["content"]["application/json"]["schema"]
    resolver_doc = {**schema, "components": DOCUMENT["components"]}
    Draft202012Validator(resolver_doc).validate(response.json())


def test_document_is_served_and_valid_openapi_3_1(anon):
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_json_route_and_method_is_described():
    for route in routes:
        if not isinstance(route, Route) or route.path in NOT_JSON_API:
            continue
        path = openapi_path(route.path)
        assert path in DOCUMENT["paths"], f"{path} missing from /openapi.json"
        for method in (route.methods or set()) - {"HEAD"}:
            assert method.lower() in DOCUMENT["paths"][path], f"{method} {path} missing"
    described = {(p, m) for p, ops in DOCUMENT["paths"].items() for m in ops if m != "parameters"}
    served = {
        (openapi_path(r.path), m.lower())
        for r in routes
        if isinstance(r, Route) and r.path not in NOT_JSON_API
        for m in (r.methods or set()) - {"HEAD"}
    }
    assert described == served  # nothing described that is not served


def test_real_answers_match_the_schemas(client):
    anon = client  # public endpoints ignore the bearer header; one app, one store lock
    created = client.post("/jobs", json=job_body(total=120, scheduled_for="2026-12-02T09:00"))
    check(created, "/jobs", "post")
    job = created.json()
    check(client.get("/jobs"), "/jobs", "get")
    check(client.get(f"/jobs/{job['id']}"), "/jobs/{job_id}", "get")
    check(client.patch(f"/jobs/{job['id']}", json={"notes": "side gate"}), "/jobs/{job_id}", "patch")
    check(client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 15}),
          "/jobs/{job_id}/status", "post")  # fmt: skip
    check(client.post(f"/jobs/{job['id']}/messages", json={"body": "Running 5 min late"}),
          "/jobs/{job_id}/messages", "post")  # fmt: skip
    check(client.get(f"/jobs/{job['id']}/messages"), "/jobs/{job_id}/messages", "get")
    check(client.get("/messages", params={"phone": job["customer_phone"]}), "/messages", "get")
    check(anon.get(f"/jobs/token/{job['token']}"), "/jobs/token/{token}", "get")
    check(anon.get(f"/jobs/token/{job['token']}/messages"), "/jobs/token/{token}/messages", "get")
    check(client.post(f"/jobs/{job['id']}/status", json={"status": "scheduled"}), "/jobs/{job_id}/status", "post")
    check(client.post(f"/jobs/{job['id']}/status", json={"status": "complete", "total": 140}),
          "/jobs/{job_id}/status", "post")  # fmt: skip
    check(anon.get(f"/jobs/token/{job['token']}"), "/jobs/token/{token}", "get")
    check(anon.get("/healthz"), "/healthz", "get")


@pytest.mark.parametrize(
    ("method", "path", "template", "kwargs"),
    [
        ("post", "/jobs", "/jobs", {"json": {"customer_name": "x"}}),
        ("get", "/jobs/999", "/jobs/{job_id}", {}),
        ("post", "/jobs/999/status", "/jobs/{job_id}/status", {"json": {"status": "arrived"}}),
        ("get", "/jobs/token/NOPE", "/jobs/token/{token}", {}),
    ],
)
def test_error_answers_match_the_schemas(client, method, path, template, kwargs):
    check(client.request(method.upper(), path, **kwargs), template, method)
