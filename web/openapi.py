"""GET /openapi.json: the JSON API described in OpenAPI 3.1 for dashboards to generate clients from.

Written by hand from the SPEC's shapes (the schemas in web/openapi_schemas.py):
an `operationId` on every operation, every limit the API enforces, every
error it answers, and `servers` from PUBLIC_BASE_URL. tests/test_openapi.py
keeps it true (every JSON route described, real answers match), and
tests/test_schemathesis.py fuzzes the app through it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from handlers.idempotency import HEADER, KEY_PATTERN, MAX_KEY, REPLAYED
from handlers.jobs import INSTANT_PATTERN
from handlers.paging import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_CURSOR, MAX_LIMIT
from handlers.responses import ERROR_CODES
from handlers.tenancy import tenants
from web import openapi_admin, openapi_consent
from web.openapi_answers import ERROR
from web.openapi_answers import error_answer as _error
from web.openapi_answers import json_answer as _json
from web.openapi_answers import ref as _ref
from web.openapi_description import DESCRIPTION
from web.openapi_pictures import MEDIA_ID, PICTURE_BYTES, PUBLIC_JOB
from web.openapi_schemas import (
    JOB,
    JOB_INPUT,
    MESSAGE,
    MOVED_JOB,
    PHONE_INPUT,
    SENT_MESSAGE,
    STATUS_LIST_PATTERN,
    STATUS_MOVE,
    TEXT_TO_CUSTOMER,
    page_of,
)
from web.openapi_views import BUSINESS_INFO, HEALTH

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}}
_REPLAYED = {
    REPLAYED: {
        "description": "`true` when this is the kept answer to an earlier request with the same Idempotency-Key",
        "schema": {"const": "true"},
    }
}

# Every error the JSON API answers, by the situations that cause it.
_ANY = {
    "405": _error(405, "another method on this path; `Allow` names the ones served"),
    "408": _error(408, "the request body did not all arrive within 30 seconds of its headers"),
    "413": _error(413, "a body over 1 MB (checked before anything else)"),
    "503": _error(503, "the store cannot be used right now; try again after `Retry-After` seconds", _RETRY_AFTER),
}
_BEARER = {**_ANY, "401": _error(401, "missing or wrong bearer token")}
_LOOKUP = {
    **_BEARER,
    "404": _error(404, "no such job"),
    "422": _error(422, "a parameter is invalid; the message names it"),
}
_WRITE = {
    **_LOOKUP,
    "400": _error(400, "the body is not JSON, or is nested too deeply"),
    "422": _error(422, "a field (or the Idempotency-Key) is missing or invalid; the message names it"),
}
_TOKEN_ERRORS = {
    **_ANY,
    "404": _error(404, "unknown or malformed token (the same answer for both)"),
    "429": _error(429, "too many token misses from this client this minute", _RETRY_AFTER),
}

JOB_ID_MAX = 2**63 - 1  # PostgreSQL's bigint; a larger id names no job (404)
_JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": JOB_ID_MAX},
    "example": 1001,
}
_TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
_IDEMPOTENCY_KEY = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": KEY_PATTERN, "minLength": 1, "maxLength": MAX_KEY},
    "description": "makes a retry safe: the same key and body within 24 h get the first answer, and nothing is "
    "done again; the same key with another body is a 422. Use a new random key (a UUID) per request.",
}
_PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "description": "rows per page",
    },
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string", "pattern": CURSOR_PATTERN, "minLength": 1, "maxLength": MAX_CURSOR},
        "description": "`next_cursor` of the previous page, as it came (opaque); pages stay right while rows are added",
    },
]
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]

# The token holder's texts: not paged (one job's customer side is short).
_PUBLIC_MESSAGES = {
    "type": "object",
    "required": ["messages"],
    "properties": {"messages": {"type": "array", "items": _ref("Message")}},
}


# What a client can do next with a job it made: its id goes into these (and stateful fuzzing follows them).
_JOB_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
    for name, operation in (
        ("GetJob", "getJob"),
        ("EditJob", "editJob"),
        ("MoveJob", "moveJob"),
        ("ListJobMessages", "listJobMessages"),
        ("TextCustomer", "textCustomer"),
    )
}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}


_NEW_JOB = {
    "customer_name": "Dana Whitfield",
    "customer_phone": "512-555-0199",
    "service_type": "junk removal",
    "address": "4512 Ridgeview Dr, Austin, TX 78731",
    "scheduled_for": "2026-12-05T09:00",
    "total": "$350",
}


PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "operationId": "getHealth",
            "summary": "Is the service usable",
            "security": [],
            "responses": {
                "200": _json(HEALTH, "ok"),
                "405": _ANY["405"],
                "413": _ANY["413"],
                "503": _json(HEALTH, "the store cannot be used; `message` says so", _RETRY_AFTER),
            },
        }
    },
    "/jobs": {
        "post": {
            "operationId": "createJob",
            "summary": "Create a job (texts the customer the booking confirmation)",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _body(
                {
                    **JOB_INPUT,
                    "required": ["customer_name", "customer_phone", "service_type"],
                    "properties": {**JOB_INPUT["properties"], "consent": openapi_consent.CONSENT_INPUT},
                },
                _NEW_JOB,
            ),
            "responses": {"201": {**_json(_ref("Job"), "the new job", _REPLAYED), "links": _JOB_LINKS}, **_WRITE},
        },
        "get": {
            "operationId": "listJobs",
            "summary": "List jobs, newest first; with updated_since, oldest change first (for sync)",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "pattern": STATUS_LIST_PATTERN},
                    "description": "comma-separated statuses, e.g. `en_route,arrived`",
                },
                {"name": "phone", "in": "query", "schema": PHONE_INPUT, "description": "the customer's, any format"},
                {
                    "name": "updated_since",
                    "in": "query",
                    "schema": {"type": "string", "pattern": INSTANT_PATTERN},
                    "description": "only jobs changed at or after this ISO 8601 time (no zone means TIMEZONE), "
                    "oldest change first; keep the last `updated_at` you saw for the next sync",
                },
                *_PAGING,
            ],
            "responses": {"200": _json(_ref("JobPage"), "a page of matching jobs"), **_BEARER, "422": _LOOKUP["422"]},
        },
    },
    "/jobs/{job_id}": {
        "parameters": [_JOB_ID],
        "get": {
            "operationId": "getJob",
            "summary": "One job",
            "responses": {"200": _json(_ref("Job"), "the job"), **_BEARER, "404": _LOOKUP["404"]},
        },
        "patch": {
            "operationId": "editJob",
            "summary": "Edit a job's details (a new appointment for an open job texts the customer)",
            "description": "A new `scheduled_for` of an open job that has already passed (a day before today, "
            "or a time before now, in TIMEZONE) is a 422 naming it; an appointment that passed may stay as it "
            "is through other edits, and a closed job's may be set to any day.",
            "requestBody": _body(JOB_INPUT, {"notes": "Gate code 4411", "scheduled_for": "2037-12-06"}),
            "responses": {"200": _json(_ref("Job"), "the edited job"), **_WRITE},
        },
    },
    "/jobs/{job_id}/status": {
        "parameters": [_JOB_ID],
        "post": {
            "operationId": "moveJob",
            "summary": "Move a job and text the customer",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _body(STATUS_MOVE, {"status": "en_route", "eta_minutes": 20}),
            "responses": {
                "200": _json(
                    _ref("MovedJob"),
                    "the job after the move (unchanged for the same status), and its `text`",
                    _REPLAYED,
                ),
                "409": _error(409, "the move is refused; the message says why", code="invalid_transition"),
                **_WRITE,
            },
        },
    },
    "/jobs/{job_id}/messages": {
        "parameters": [_JOB_ID],
        "get": {
            "operationId": "listJobMessages",
            "summary": "The job's conversation, oldest first, relays to dispatchers included",
            "parameters": _PAGING,
            "responses": {"200": _json(_ref("MessagePage"), "a page of the messages"), **_LOOKUP},
        },
        "post": {
            "operationId": "textCustomer",
            "summary": "Text the job's customer (with pictures this business keeps: `media`, an MMS)",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _body(TEXT_TO_CUSTOMER, {"body": "Running 10 minutes late, sorry!"}),
            "responses": {
                "201": _json(
                    _ref("SentMessage"), "the queued text (`skipped` if opted out), and its `text`", _REPLAYED
                ),
                **_WRITE,
            },
        },
    },
    "/jobs/{job_id}/messages/{message_id}/resend": {
        "parameters": [
            _JOB_ID,
            {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}},
        ],
        "post": {
            "operationId": "resendMessage",
            "summary": "Send an `unknown` text again: a new text with `resend_of` naming it (a second call: the "
            "first answer)",
            "responses": {
                "201": _json(_ref("SentMessage"), "the new queued text (`skipped` if opted out), and its `text`"),
                **_BEARER,
                "404": _error(404, "no such job, or no such message in its conversation"),
                "409": _error(409, "the message is not `unknown`", code="invalid_transition"),
            },
        },
    },
    "/jobs/{job_id}/messages/{message_id}": {
        "parameters": [_JOB_ID, {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "delete": {
            "operationId": "cancelMessage",
            "summary": "Cancel a text not sent yet (one with `send_at`, or any still `pending` that no sender has "
            "taken): it stays in the log as `skipped`, its reason saying so",
            "responses": {
                "204": {"description": "cancelled (or cancelled before)"},
                **_BEARER,
                "404": _error(404, "no such job, or no such message in its conversation"),
                "409": _error(409, "sent, or being sent, already", code="invalid_transition"),
            },
        },
    },
    "/messages": {
        "get": {
            "operationId": "listPhoneMessages",
            "summary": "Every text to or from one phone, oldest first (used by `qdn log` and `qdn chat`); or, "
            "with `status=unknown` and no phone, every text whose outcome is unknown (`qdn log --unknown`), "
            "in one page",
            "parameters": [
                {"name": "phone", "in": "query", "required": False, "schema": {**PHONE_INPUT, "minLength": 1}},
                {"name": "status", "in": "query", "required": False, "schema": {"enum": ["unknown"]}},
                *_PAGING,
            ],
            "responses": {
                "200": _json(_ref("MessagePage"), "a page of the messages"),
                **_BEARER,
                "422": _LOOKUP["422"],
            },
        }
    },
    "/business": {
        "get": {
            "operationId": "getTokenBusiness",
            "summary": "The business this token acts for: its name and time zone (show times in it)",
            "responses": {"200": _json(BUSINESS_INFO, "the business"), **_BEARER},
        }
    },
    "/media/{media_id}": {
        "parameters": [MEDIA_ID],
        "get": {
            "operationId": "getPicture",
            "summary": "One of the business's pictures (a message's `media` item's `url`)",
            "responses": {
                "200": PICTURE_BYTES,
                **_BEARER,
                "404": _error(404, "no such picture here (another business's id too: the same answer)"),
            },
        },
    },
    "/jobs/token/{token}": {
        "parameters": [_TOKEN],
        "get": {
            "operationId": "getTrackedJob",
            "summary": "Public view of the job a tracking token opens",
            "security": [],
            "responses": {"200": _json(_ref("PublicJob"), "what the token holder may see"), **_TOKEN_ERRORS},
        },
    },
    "/jobs/token/{token}/messages": {
        "parameters": [_TOKEN],
        "get": {
            "operationId": "listTrackedJobMessages",
            "summary": "The customer's own texts with the business, phones masked",
            "security": [],
            "responses": {
                "200": _json(_PUBLIC_MESSAGES, "the texts"),
                **_TOKEN_ERRORS,
            },
        },
    },
}

_CONSENT_PATHS = openapi_consent.paths(
    paging=_PAGING,
    lookup={
        **_BEARER,
        "404": _error(404, "no consent is on record for this phone"),
        "422": _error(422, "a parameter is invalid; the message names it"),
    },
    json_answer=_json,
    ref=_ref,
)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "QDN SMS API", "version": "1.1.0", "description": DESCRIPTION},
    "security": _SECURED,
    "paths": PATHS | openapi_admin.PATHS | _CONSENT_PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "admin": openapi_admin.SECURITY_SCHEME},
        "schemas": {
            "Job": JOB,
            "MovedJob": MOVED_JOB,
            "JobPage": page_of("jobs", "Job"),
            "Message": MESSAGE,
            "SentMessage": SENT_MESSAGE,
            "MessagePage": page_of("messages", "Message"),
            "PublicJob": PUBLIC_JOB,
            "Error": ERROR,
            **openapi_admin.SCHEMAS,
            **openapi_consent.SCHEMAS,
        },
        # Every error answer, for reference (operations list the ones they can give).
        "responses": {
            str(status): _error(status, " or ".join(codes).replace("_", " ")) for status, codes in ERROR_CODES.items()
        },
    },
}


def document(public_base_url: str) -> dict[str, Any]:
    """The document for a service published at `public_base_url` (PUBLIC_BASE_URL)."""
    return {**DOCUMENT, "servers": [{"url": public_base_url}]}


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document(tenants(request).settings.public_base_url))
