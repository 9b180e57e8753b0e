"""The public token view, the token's business and health in the OpenAPI document.

What a tracking-link holder (GET /jobs/token/{token}), a dashboard asking whose token it holds
(GET /business) and a load balancer (GET /healthz) are answered; web/openapi.py puts them in its paths.
"""

from __future__ import annotations

from bot.jobs import STATUSES
from web.openapi_schemas import (
    HISTORY_ENTRY,
    JOB_PROPERTIES,
    MONEY,
    NULLABLE_STRING,
    RESCHEDULE_ENTRY,
)

PUBLIC_VIEW = {
    "type": "object",
    "required": [
        "status",
        "history",
        "reschedules",
        "eta_minutes",
        "service_type",
        "scheduled_for",
        "confirmed_at",
        "first_name",
        "phone_masked",
        "business_name",
        "total",
        "invoice_url",
    ],
    "properties": {
        "status": {"enum": list(STATUSES)},
        "history": {"type": "array", "items": HISTORY_ENTRY},
        "reschedules": {"type": "array", "items": RESCHEDULE_ENTRY},
        "eta_minutes": {"type": ["integer", "null"]},
        "service_type": {"type": "string"},
        "scheduled_for": {**JOB_PROPERTIES["scheduled_for"]},
        "confirmed_at": {**JOB_PROPERTIES["confirmed_at"]},
        "first_name": {"type": "string"},
        "phone_masked": {"type": "string"},
        "business_name": {"type": "string"},
        "total": {**MONEY, "description": "null until complete"},
        "invoice_url": {**NULLABLE_STRING, "description": "null until complete"},
    },
    "additionalProperties": False,
}

# GET /business: the business a dashboard token acts for (handlers/business_info.py).
BUSINESS_INFO = {
    "type": "object",
    "required": ["slug", "name", "phone", "timezone"],
    "properties": {
        "slug": {"type": "string", "description": "`default` for the settings' own business"},
        "name": {"type": "string"},
        "phone": {**NULLABLE_STRING, "description": "the phone shown to customers"},
        "timezone": {
            "type": "string",
            "examples": ["America/Chicago"],
            "description": "IANA zone: appointments without a zone, texts and pages use it; show times in it",
        },
    },
    "additionalProperties": False,
}

HEALTH = {
    "type": "object",
    "required": ["status", "store", "twilio"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "store": {"type": "string"},
        "twilio": {"enum": ["live", "console"]},
        "message": {"type": "string", "description": "with `unavailable`: what cannot be used"},
    },
}
