"""The JSON shapes of the API (SPEC "JSON shapes") as OpenAPI 3.1 schemas, for web/openapi.py.

Fields are the code's own lists (bot.jobs, handlers.jobs, store.base), so a
field added there and not here fails at import or in tests/test_openapi.py.
"""

from __future__ import annotations

from typing import Any

from bot.jobs import EDITABLE_FIELDS, STATUSES
from handlers.jobs import JOB_FIELDS
from store.base import MESSAGE_FIELDS

NULLABLE_STRING = {"type": ["string", "null"]}
MONEY = {"type": ["number", "null"], "minimum": 0}

HISTORY_ENTRY = {
    "type": "object",
    "required": ["status", "at", "by", "eta_minutes"],
    "properties": {
        "status": {"enum": list(STATUSES)},
        "at": {"type": "string", "format": "date-time"},
        "by": {
            "type": "string",
            "description": "`api`, or the dispatcher's phone (masked as `dispatcher` in public views)",
        },
        "eta_minutes": {"type": ["integer", "null"]},
    },
    "additionalProperties": False,
}

_JOB_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "token": {"type": "string", "pattern": "^[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){4}$"},
    "tracking_url": {"type": "string"},
    "customer_name": {"type": "string"},
    "customer_phone": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"},
    "service_type": {"type": "string"},
    "address": NULLABLE_STRING,
    "scheduled_for": {
        "type": ["string", "null"],
        "description": "ISO 8601: a date-time with its offset, or a date (2026-12-05) for a day with no time",
    },
    "total": MONEY,
    "invoice_url": NULLABLE_STRING,
    "notes": NULLABLE_STRING,
    "status": {"enum": list(STATUSES)},
    "eta_minutes": {"type": ["integer", "null"]},
    "history": {"type": "array", "items": HISTORY_ENTRY},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}
JOB = {"type": "object", "required": list(JOB_FIELDS), "properties": _JOB_PROPERTIES, "additionalProperties": False}

# What a create or PATCH body may set: the stored fields, read more loosely.
_INPUT_READINGS = {
    "customer_phone": {"type": "string", "description": "any usual format; stored in E.164 (default region US)"},
    "scheduled_for": {
        "type": ["string", "null"],
        "description": "ISO 8601 date-time (no zone means TIMEZONE) or date (a day with no time)",
    },
}
JOB_INPUT = {
    "type": "object",
    "properties": {field: _INPUT_READINGS.get(field, _JOB_PROPERTIES[field]) for field in EDITABLE_FIELDS},
    "additionalProperties": False,
}

MESSAGE = {
    "type": "object",
    "required": list(MESSAGE_FIELDS),
    "properties": {
        "id": {"type": "string"},
        "direction": {"enum": ["inbound", "outbound"]},
        "kind": {"enum": ["command", "text", "reply", "notification", "relay", "system"]},
        "job_id": {"type": ["integer", "null"]},
        "phone": {"type": "string"},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "body": {"type": "string"},
        "twilio_sid": NULLABLE_STRING,
        "status": {
            "enum": [
                "received",
                "pending",
                "queued",
                "sending",
                "sent",
                "delivered",
                "undelivered",
                "failed",
                "skipped",
                "unknown",
                "read",
            ]
        },
        "error_code": {"type": ["integer", "string", "null"]},
        "error_message": NULLABLE_STRING,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

PUBLIC_VIEW = {
    "type": "object",
    "required": [
        "status",
        "history",
        "eta_minutes",
        "service_type",
        "first_name",
        "phone_masked",
        "business_name",
        "total",
        "invoice_url",
    ],
    "properties": {
        "status": {"enum": list(STATUSES)},
        "history": {"type": "array", "items": HISTORY_ENTRY},
        "eta_minutes": {"type": ["integer", "null"]},
        "service_type": {"type": "string"},
        "first_name": {"type": "string"},
        "phone_masked": {"type": "string"},
        "business_name": {"type": "string"},
        "total": {**MONEY, "description": "null until complete"},
        "invoice_url": {**NULLABLE_STRING, "description": "null until complete"},
    },
    "additionalProperties": False,
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "store", "twilio"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "store": {"type": "string"},
        "twilio": {"enum": ["live", "console"]},
    },
}
