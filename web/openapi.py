"""GET /openapi.json: the JSON API described in OpenAPI 3.1 for dashboards to generate clients from.

Written by hand from the SPEC's shapes (the schemas in web/openapi_schemas.py);
tests/test_openapi.py keeps it true by checking every JSON route is described
and real responses validate against these schemas.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.job_fields import MAX_ETA_MINUTES
from bot.jobs import STATUSES
from bot.messages import MAX_BODY_CHARS
from web.openapi_schemas import ERROR, HEALTH, JOB, JOB_INPUT, MESSAGE, MONEY, PUBLIC_VIEW


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list_of(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": _ref(item)}}}


_ERRORS = {
    "400": _json(_ref("Error"), "unparseable body"),
    "401": _json(_ref("Error"), "missing or wrong bearer token"),
    "404": _json(_ref("Error"), "no such job"),
    "413": _json(_ref("Error"), "body over 1 MB"),
    "422": _json(_ref("Error"), "a field is missing or invalid; the message names it"),
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
_TOKEN_ERRORS = {
    "404": _json(_ref("Error"), "unknown or malformed token (the same answer for both)"),
    "429": _json(_ref("Error"), "too many token misses from this client this minute (see Retry-After)"),
}
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "summary": "Is the service usable",
            "security": [],
            "responses": {"200": _json(HEALTH, "ok"), "503": _json(HEALTH, "the store cannot be used")},
        }
    },
    "/jobs": {
        "post": {
            "summary": "Create a job (texts the customer the scheduled confirmation)",
            "requestBody": _body({**JOB_INPUT, "required": ["customer_name", "customer_phone", "service_type"]}),
            "responses": {"201": _json(_ref("Job"), "the new job"), **_ERRORS},
        },
        "get": {
            "summary": "List jobs, newest first",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "comma-separated"},
                {"name": "phone", "in": "query", "schema": {"type": "string"}, "description": "any format"},
            ],
            "responses": {"200": _json(_list_of("jobs", "Job"), "matching jobs"), **_ERRORS},
        },
    },
    "/jobs/{job_id}": {
        "parameters": [_JOB_ID],
        "get": {"summary": "One job", "responses": {"200": _json(_ref("Job"), "the job"), **_ERRORS}},
        "patch": {
            "summary": "Edit a job's details (no texts sent)",
            "requestBody": _body(JOB_INPUT),
            "responses": {"200": _json(_ref("Job"), "the edited job"), **_ERRORS},
        },
    },
    "/jobs/{job_id}/status": {
        "parameters": [_JOB_ID],
        "post": {
            "summary": "Move a job and text the customer",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"enum": list(STATUSES)},
                        "eta_minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ETA_MINUTES},
                        "total": MONEY,
                    },
                    "additionalProperties": False,
                }
            ),
            "responses": {
                "200": _json(_ref("Job"), "the job after the move (unchanged for the same status)"),
                "409": _json(_ref("Error"), "the move is refused; the message says why"),
                **_ERRORS,
            },
        },
    },
    "/jobs/{job_id}/messages": {
        "parameters": [_JOB_ID],
        "get": {
            "summary": "The job's conversation, oldest first, relays to dispatchers included",
            "responses": {"200": _json(_list_of("messages", "Message"), "the messages"), **_ERRORS},
        },
        "post": {
            "summary": "Text the job's customer",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["body"],
                    "properties": {"body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY_CHARS}},
                    "additionalProperties": False,
                }
            ),
            "responses": {"201": _json(_ref("Message"), "the queued text (`skipped` if opted out)"), **_ERRORS},
        },
    },
    "/messages": {
        "get": {
            "summary": "Every text to or from one phone, oldest first (used by `qdn log` and `qdn chat`)",
            "parameters": [{"name": "phone", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(_list_of("messages", "Message"), "the messages"), **_ERRORS},
        }
    },
    "/jobs/token/{token}": {
        "parameters": [_TOKEN],
        "get": {
            "summary": "Public view of the job a tracking token opens",
            "security": [],
            "responses": {"200": _json(_ref("PublicJob"), "what the token holder may see"), **_TOKEN_ERRORS},
        },
    },
    "/jobs/token/{token}/messages": {
        "parameters": [_TOKEN],
        "get": {
            "summary": "The customer's own texts with the business, phones masked",
            "security": [],
            "responses": {"200": _json(_list_of("messages", "Message"), "the texts"), **_TOKEN_ERRORS},
        },
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "QDN SMS API", "version": "1.0.0", "description": "Jobs, texts and tracking for QuickDumpNow."},
    "security": _SECURED,
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Job": JOB, "Message": MESSAGE, "PublicJob": PUBLIC_VIEW, "Error": ERROR},
    },
}


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)
