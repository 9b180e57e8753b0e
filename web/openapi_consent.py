"""Consent on record and numbers that cannot take texts, in the OpenAPI document (docs/consent.md).

GET /consent (handlers/consent.py) and POST /jobs' `consent`; web/openapi.py puts them in its paths
and schemas (the job's `phone_status` is with the job's, in web/openapi_schemas.py).
"""

from __future__ import annotations

from typing import Any

from bot.consent import DEFAULT_SOURCE, OPTED_IN, OPTED_OUT, SOURCES
from web.openapi_schemas import PHONE_INPUT

_AT = {"type": "string", "format": "date-time"}
_STATE = {"enum": [OPTED_IN, OPTED_OUT]}

CONSENT_INPUT = {
    "type": ["string", "null"],
    "enum": [*SOURCES, None],
    "description": f"how the customer agreed to texts; left out (or null): `{DEFAULT_SOURCE}`",
}

CONSENT_EVENT = {
    "type": "object",
    "required": ["at", "type", "source"],
    "properties": {
        "at": _AT,
        "type": {"enum": ["consent", "opt_out", "opt_in"]},
        "source": {
            "type": "string",
            "description": f"consent: {', '.join((DEFAULT_SOURCE, *SOURCES))}; opt_out / opt_in: the keyword "
            "texted (STOP, START ...) or `Twilio error 21610 ...`",
        },
        "by": {"type": "string", "description": "consent: the dashboard token that booked (`token:api` for API_TOKEN)"},
        "job_id": {"type": "integer", "description": "consent: the job booked"},
        "words": {"type": "string", "description": "opt_out / opt_in by text: the words texted"},
        "sid": {"type": "string", "description": "opt_out / opt_in by text: the inbound text's MessageSid"},
    },
    "additionalProperties": False,
}

_SUMMARY_PROPERTIES: dict[str, Any] = {
    "phone": {"type": "string", "description": "E.164"},
    "state": _STATE,
    "since": {"type": ["string", "null"], "format": "date-time", "description": "when the state began"},
    "source": {"type": ["string", "null"], "description": "the source of the event that began it"},
}
CONSENT_HISTORY = {
    "type": "object",
    "required": [*_SUMMARY_PROPERTIES, "events", "next_cursor"],
    "properties": {
        **_SUMMARY_PROPERTIES,
        "events": {"type": "array", "items": CONSENT_EVENT, "description": "oldest first"},
        "next_cursor": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}
CONSENT_ROW = {
    "type": "object",
    "required": [*_SUMMARY_PROPERTIES, "evidence"],
    "properties": {
        **_SUMMARY_PROPERTIES,
        "evidence": {"type": "string", "description": "what the state rests on, in one line"},
    },
    "additionalProperties": False,
}
CONSENT_PAGE = {
    "type": "object",
    "required": ["phones", "next_cursor"],
    "properties": {"phones": {"type": "array", "items": CONSENT_ROW}, "next_cursor": {"type": ["string", "null"]}},
    "additionalProperties": False,
}
SCHEMAS = {"ConsentHistory": CONSENT_HISTORY, "ConsentPage": CONSENT_PAGE}


def paths(*, paging: list[dict[str, Any]], lookup: dict[str, Any], json_answer: Any, ref: Any) -> dict[str, Any]:
    """The /consent path, with web/openapi.py's paging parameters and lookup errors."""
    return {
        "/consent": {
            "get": {
                "operationId": "getConsent",
                "summary": "A phone's consent history (with `phone`), or every phone with one, a page at a time "
                "(`qdn consent export`)",
                "parameters": [
                    {
                        "name": "phone",
                        "in": "query",
                        "required": False,
                        "schema": {**PHONE_INPUT, "minLength": 1},
                        "description": "the customer's, any format; without it, every phone's state",
                    },
                    *paging,
                ],
                "responses": {
                    "200": json_answer(
                        {"oneOf": [ref("ConsentHistory"), ref("ConsentPage")]},
                        "with `phone`: its history; without: a page of phones",
                    ),
                    **lookup,
                },
            }
        }
    }
