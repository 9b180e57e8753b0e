"""The JSON shapes of the API (SPEC "JSON shapes") as OpenAPI 3.1 schemas, for web/openapi.py.

Fields, limits and patterns are the code's own (bot.jobs, bot.job_fields,
handlers/...), so the schema says exactly what the API accepts -- a client
generated from it never sends what is refused, and schemathesis
(tests/test_schemathesis.py) finds nothing the API takes that the schema
forbids. Where the API reads loosely (statuses in dispatchers' spellings,
totals as "$1,200.00"), the pattern spells out that reading.
"""

from __future__ import annotations

from typing import Any

from bot.job_fields import MAX_ETA_MINUTES, MAX_TOTAL, MONEY_PATTERN, SCHEDULED_PATTERN, SPACE, TEXT_LIMITS
from bot.jobs import EDITABLE_FIELDS, STATUS_WORDS, STATUSES
from bot.media import KEPT_TYPES, MAX_PER_TEXT
from bot.messages import MAX_BODY_CHARS
from bot.undeliverable import REASONS as UNDELIVERABLE_REASONS
from handlers.jobs import JOB_FIELDS
from store.base import MESSAGE_FIELDS
from store.media import MEDIA_ID as MEDIA_ID_PATTERN

NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
MONEY = {"type": ["number", "null"], "minimum": 0, "maximum": MAX_TOTAL}

# -- text as the API takes it (bot/job_fields.py: no control characters; limits hold as sent) ------

_ONE_LINE = r"[^\x00-\x1f\x7f-\x9f]"
_MULTILINE = r"(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)"  # line breaks (a CRLF too) and tabs
_PHONE_MAX = 250  # phonenumbers refuses longer input


def _text(field: str, *, required: bool) -> dict[str, Any]:
    char = _MULTILINE if field in ("address", "notes") else _ONE_LINE
    # A required field needs something besides spaces (it is stripped); an optional one may be blank (null).
    pattern = f"^(?=[\\s\\S]*\\S){char}*$" if required else f"^{char}*$"
    schema: dict[str, Any] = {"type": "string" if required else ["string", "null"], "pattern": pattern}
    return {**schema, "maxLength": TEXT_LIMITS[field]}


def _status_spellings() -> str:
    """Every spelling of a status the API reads (bot.jobs.parse_status): any case, separators anywhere."""
    separator = f"(?:{SPACE}|[_-])*"
    words = sorted({"".join(word.split()) for spellings in STATUS_WORDS.values() for word in spellings})
    spelled = ["".join(f"[{c}{c.upper()}]{separator}" for c in word) for word in words]
    return f"{separator}(?:{'|'.join(spelled)})"


STATUS_SPELLING = _status_spellings()
STATUS_INPUT = {
    "type": "string",
    "pattern": f"^{STATUS_SPELLING}$",
    "description": "one of " + ", ".join(STATUSES) + ", in any case, or as dispatchers text it (`en route`, "
    "`EN-ROUTE`, `omw`, `done`, `canceled` ...); answers use the stored names",
}
# GET /jobs?status=: a comma-separated list of those (empty parts are ignored).
STATUS_LIST_PATTERN = f"^(?:{STATUS_SPELLING}|\\s*)(?:,(?:{STATUS_SPELLING}|\\s*))*$"
PHONE_INPUT = {
    "type": "string",
    "format": "phone",  # not a standard format: a name for "a phone number as people write it"
    "maxLength": _PHONE_MAX,
    "examples": ["512-555-0199", "+1 (512) 555-0199"],
    "description": "any usual format (default region US), e.g. 512-555-0199 or +1 (512) 555-0199; "
    "refused unless it is a possible number with its area code",
}
TOTAL_INPUT: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_TOTAL},
        {"type": "string", "pattern": MONEY_PATTERN, "description": "dollars as written: 350, $1,200.00"},
        {"type": "null"},
    ],
    "description": f"USD, 0 to {MAX_TOTAL:,}, kept to the cent",
}

# -- a job ---------------------------------------------------------------------------------------

HISTORY_ENTRY = {
    "type": "object",
    "required": ["status", "at", "by", "eta_minutes"],
    "properties": {
        "status": {"enum": list(STATUSES)},
        "at": TIMESTAMP,
        "by": {
            "type": "string",
            "description": "`api`, or the dispatcher's phone (masked as `dispatcher` in public views)",
        },
        "eta_minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ETA_MINUTES},
    },
    "additionalProperties": False,
}

RESCHEDULE_ENTRY = {
    "type": "object",
    "description": "a change of the appointment (PATCH `scheduled_for`); `history` keeps the status changes alone",
    "required": ["at", "by", "from", "to"],
    "properties": {
        "at": TIMESTAMP,
        "by": {"type": "string", "description": "`api` (masked as a dispatcher's would be in public views)"},
        "from": {"type": ["string", "null"], "description": "`scheduled_for` before; null: there was none"},
        "to": {"type": ["string", "null"], "description": "`scheduled_for` after; null: cleared"},
    },
    "additionalProperties": False,
}

# Whether texts reach the customer's phone (bot/undeliverable.py; docs/consent.md).
PHONE_STATUS = {
    "type": ["object", "null"],
    "description": "null while texts can reach the customer's phone; else why they cannot (Twilio said "
    "30006, 30005 or 21614): texts to it are skipped until the customer texts in",
    "required": ["can_text", "reason", "since"],
    "properties": {
        "can_text": {"const": False},
        "reason": {"enum": sorted(set(UNDELIVERABLE_REASONS.values()))},
        "since": TIMESTAMP,
    },
    "additionalProperties": False,
}

_JOB_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "token": {"type": "string", "pattern": "^[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){4}$"},
    "tracking_url": {"type": "string", "format": "uri"},
    "customer_name": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMITS["customer_name"]},
    "customer_phone": {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$", "description": "E.164"},
    "service_type": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMITS["service_type"]},
    "address": {**NULLABLE_STRING, "maxLength": TEXT_LIMITS["address"]},
    "scheduled_for": {
        "type": ["string", "null"],
        "description": "ISO 8601: a date-time with its offset, or a date (2026-12-05) for a day with no time",
    },
    "total": MONEY,
    "invoice_url": {**NULLABLE_STRING, "maxLength": TEXT_LIMITS["invoice_url"]},
    "notes": {**NULLABLE_STRING, "maxLength": TEXT_LIMITS["notes"]},
    "status": {"enum": list(STATUSES)},
    "eta_minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ETA_MINUTES},
    "history": {"type": "array", "items": HISTORY_ENTRY, "minItems": 1},
    "reschedules": {"type": "array", "items": RESCHEDULE_ENTRY, "description": "appointment changes, oldest first"},
    "reminder_held": {
        "type": ["object", "null"],
        "required": ["until", "outcome"],
        "properties": {"until": TIMESTAMP, "outcome": {"type": "string", "examples": ["held until 8:00 AM CST"]}},
        "additionalProperties": False,
        "description": "its day-before reminder waits out the customer's quiet hours until then; null otherwise",
    },
    "confirmed_at": {
        **TIMESTAMP,
        "type": ["string", "null"],
        "description": "when the customer confirmed the appointment by text (a C after the reminder); "
        "null until then, and again after a new appointment",
    },
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "phone_status": PHONE_STATUS,
}
# The API adds `phone_status`, from the customer's phone's state (handlers/jobs.py job_json).
JOB = {
    "type": "object",
    "required": [*JOB_FIELDS, "phone_status"],
    "properties": _JOB_PROPERTIES,
    "additionalProperties": False,
}

# What a create or PATCH body may set, as the API reads it (bot.jobs.clean_fields).
_INPUT_READINGS: dict[str, Any] = {
    "customer_name": _text("customer_name", required=True),
    "customer_phone": PHONE_INPUT,
    "service_type": _text("service_type", required=True),
    "address": _text("address", required=False),
    "scheduled_for": {
        "type": ["string", "null"],
        "pattern": SCHEDULED_PATTERN,
        "description": "ISO 8601 date-time (no zone means TIMEZONE) or date (a day with no time)",
    },
    "total": TOTAL_INPUT,
    "invoice_url": {
        **_text("invoice_url", required=False),
        "pattern": f"^(?:{SPACE}*https?://{_ONE_LINE}*|{SPACE}*)$",
        "description": "an http(s) URL",
    },
    "notes": _text("notes", required=False),
}
JOB_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {field: _INPUT_READINGS[field] for field in EDITABLE_FIELDS},
    "additionalProperties": False,
}
STATUS_MOVE = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": STATUS_INPUT,
        "eta_minutes": {
            "type": ["integer", "null"],
            "minimum": 0,
            "maximum": MAX_ETA_MINUTES,
            "description": "minutes, with en_route only",
        },
        "total": {**TOTAL_INPUT, "description": TOTAL_INPUT["description"] + ", with complete only"},
    },
    "additionalProperties": False,
}

# -- a message -----------------------------------------------------------------------------------

# A picture a message carries (SPEC "Pictures (MMS)"): `type` and `size` are null while a picture
# still being fetched from Twilio is not known yet.
MEDIA_ITEM = {
    "type": "object",
    "required": ["id", "type", "size", "url"],
    "properties": {
        "id": {"type": "string", "description": "the picture's id (POST /jobs/{job_id}/messages `media` takes it)"},
        "type": {"enum": [*KEPT_TYPES, None], "description": "the type its bytes show; null until it is kept"},
        "size": {"type": ["integer", "null"], "minimum": 1, "description": "bytes; null until it is kept"},
        "url": {
            "type": "string",
            "format": "uri",
            "description": "where to open it: GET /media/{id} with the bearer token (on token endpoints, a "
            "private link that expires)",
        },
    },
    "additionalProperties": False,
}

MESSAGE = {
    "type": "object",
    "required": list(MESSAGE_FIELDS),
    "properties": {
        "id": {"type": "string", "description": "opaque: keep it and pass it back, never parse it"},
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
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "media": {
            "type": "array",
            "items": MEDIA_ITEM,
            "maxItems": MAX_PER_TEXT,
            "description": "the pictures it carries (an MMS), in order; [] for none",
        },
        "resend_of": {
            "type": ["string", "null"],
            "description": "the id of the `unknown` text this one sends again (POST "
            "/jobs/{job_id}/messages/{message_id}/resend); null for a text of its own",
        },
        "send_at": {
            **TIMESTAMP,
            "type": ["string", "null"],
            "description": "a text sent later: not before then (its `created_at` too: its place in the "
            "conversation); `pending` until sent, cancellable until a sender takes it; null: sent at once",
        },
    },
    "additionalProperties": False,
}
MEDIA_ID = {
    "type": "string",
    "pattern": f"^{MEDIA_ID_PATTERN.pattern}$",
    "description": "a picture's id, from a message's `media`",
}
_SOME_WORDS = f"^(?=[\\s\\S]*\\S){_MULTILINE}*$"
TEXT_TO_CUSTOMER = {
    "type": "object",
    "properties": {
        "body": {
            "type": "string",
            "pattern": f"^{_MULTILINE}*$",
            "maxLength": MAX_BODY_CHARS,
            "description": "the text; line breaks and tabs are kept, surrounding spaces dropped. Required, and not "
            "blank, unless `media` names a picture: then it may be empty or left out",
        },
        "media": {
            "type": "array",
            "items": MEDIA_ID,
            "maxItems": MAX_PER_TEXT,
            "uniqueItems": True,
            "description": "pictures this business keeps (ids from messages' `media`), sent with the text as an "
            "MMS; an id it does not keep is a 422 naming `media`",
        },
        "send_at": {
            "type": "string",
            "examples": ["2026-12-05T09:00", "2026-12-05T15:00:00Z"],
            "description": "send it later: ISO 8601 date and time (no zone: the business's), in the future, "
            "at most 30 days ahead",
        },
    },
    # Words, or at least one picture.
    "anyOf": [
        {"required": ["body"], "properties": {"body": {"pattern": _SOME_WORDS}}},
        {"required": ["media"], "properties": {"media": {"minItems": 1}}},
    ],
    "additionalProperties": False,
}

# What became of the customer's text, in the answer of a status move or a dashboard text.
TEXT_OUTCOME = {
    "type": ["object", "null"],
    "required": ["id", "status", "reason"],
    "properties": {
        "id": {"type": "string", "description": "the text's message id"},
        "status": {"enum": ["pending", "skipped"], "description": "pending: queued to send; skipped: never sent"},
        "reason": {"enum": ["opted_out", None], "description": "why it was skipped"},
    },
    "additionalProperties": False,
    "description": "null when no text was sent (the job already had that status)",
}


def _with_text(shape: dict[str, Any]) -> dict[str, Any]:
    return {
        **shape,
        "required": [*shape["required"], "text"],
        "properties": {**shape["properties"], "text": TEXT_OUTCOME},
    }


MOVED_JOB = _with_text(JOB)
SENT_MESSAGE = _with_text(MESSAGE)


def page_of(key: str, item: str) -> dict[str, Any]:
    """A page of a list: its rows, and the cursor of the next page (null at the end)."""
    return {
        "type": "object",
        "required": [key, "next_cursor"],
        "properties": {
            key: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next_cursor": {**NULLABLE_STRING, "description": "pass as `cursor` for the next page; null: no more"},
        },
        "additionalProperties": False,
    }


# -- the public token view, health ----------------------------------------------------------------

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
        "scheduled_for": {**_JOB_PROPERTIES["scheduled_for"]},
        "confirmed_at": {**_JOB_PROPERTIES["confirmed_at"]},
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
