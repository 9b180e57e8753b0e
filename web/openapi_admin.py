"""The admin API (handlers/admin.py) in /openapi.json: its paths, schemas and the `admin` bearer scheme.

web/openapi.py merges these into the document. As for the jobs API, every
limit here is the code's own (bot/business_fields.py), and no schema is
stricter than the API: what the schema refuses, the API refuses too
(tests/test_schemathesis.py fuzzes both ways). Rules a schema cannot say
simply (api_key and api_secret together; events_url and events_secret
together; a valid time zone, TOML, phone number) are the API's 422.
"""

from __future__ import annotations

from typing import Any

from bot.business_fields import (
    MAX_DISPATCHERS,
    MAX_NUMBERS,
    MAX_PER_HOUR_OR_SECOND,
    MAX_TEMPLATES_BYTES,
    NAME_LIMIT,
    TEXT_LIMIT,
)
from bot.dispatcher_entries import MAX_ENTRY, MAX_NAME
from bot.job_fields import SPACE
from bot.reviews import MAX_INTERVAL_DAYS, URL_CHARS, URL_LIMIT
from handlers.admin_views import BUSINESS_FIELDS, MANAGED_BY_API, MANAGED_BY_SETTINGS
from web.openapi_answers import error_answer, json_answer, ref
from web.openapi_schemas import NULLABLE_STRING, PHONE_INPUT, TIMESTAMP

ADMIN_SECURITY: list[dict[str, list[str]]] = [{"admin": []}]
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "ADMIN_TOKEN (the deployment operator's); a dashboard token or API_TOKEN gets 403",
}

# -- what a create or PATCH body may set -----------------------------------------------------------

_CHAR = r"[^\x00-\x1f\x7f-\x9f]"  # one line: no control characters (bot/job_fields.py NOT_TEXT)
_ONE_LINE = {"type": "string", "pattern": f"^{_CHAR}*$", "maxLength": TEXT_LIMIT}
_NOT_BLANK = {**_ONE_LINE, "pattern": f"^(?=[\\s\\S]*\\S){_CHAR}*$"}
_NULLABLE_PHONE = {**PHONE_INPUT, "type": ["string", "null"]}
_POSITIVE = {
    "type": ["number", "null"],
    "exclusiveMinimum": 0,
    "maximum": MAX_PER_HOUR_OR_SECOND,
    "description": "null: the deployment's setting",
}
_SID_HEX = "[0-9a-fA-F]{32}"
DISPATCHER_INPUT = {
    "type": "string",
    "format": "dispatcher",  # not a standard format: a phone, or "Name:phone" (DISPATCHER_NUMBERS' entries)
    "maxLength": MAX_ENTRY,
    "examples": ["+15125550177", "Maria:512-555-0177"],
    "description": f"a phone as people write it, optionally named: `Maria:512-555-0177` (the name 1 to {MAX_NAME} "
    "letters, spaces and . ' -; shown in the inbox for that dispatcher's texts)",
}

TWILIO_INPUT = {
    "type": ["object", "null"],
    "required": ["account_sid", "auth_token"],
    "properties": {
        "account_sid": {"type": "string", "pattern": f"^AC{_SID_HEX}$"},
        "auth_token": {**_NOT_BLANK, "description": "checks the signatures of its webhooks; stored encrypted"},
        "api_key": {"type": ["string", "null"], "pattern": f"^SK{_SID_HEX}$", "description": "with api_secret"},
        "api_secret": {**_NOT_BLANK, "type": ["string", "null"], "description": "with api_key; stored encrypted"},
    },
    "additionalProperties": False,
    "description": "the business's own Twilio account (null: the deployment's); replaced whole on PATCH",
}

_SETTABLE: dict[str, Any] = {
    "name": {**_NOT_BLANK, "maxLength": NAME_LIMIT},
    "phone": {**_NULLABLE_PHONE, "description": "shown to customers"},
    "timezone": {**NULLABLE_STRING, "maxLength": TEXT_LIMIT, "examples": ["America/Chicago"], "description": "IANA"},
    "numbers": {
        "type": "array",
        "items": PHONE_INPUT,
        "maxItems": MAX_NUMBERS,
        "description": "the Twilio numbers it texts from and is texted on; a number belongs to one business",
    },
    "messaging_service_sid": {"type": ["string", "null"], "pattern": f"^MG{_SID_HEX}$"},
    "dispatchers": {
        "type": "array",
        "items": DISPATCHER_INPUT,
        "maxItems": MAX_DISPATCHERS,
        "description": "the whole list, replaced on PATCH (an entry given bare has no name)",
    },
    "twilio": TWILIO_INPUT,
    "templates": {
        "type": ["string", "null"],
        "maxLength": MAX_TEMPLATES_BYTES,
        "description": f"TOML, the shape of the TEMPLATES_PATH file, at most {MAX_TEMPLATES_BYTES // 1024} KB",
    },
    "accent_color": {
        "type": ["string", "null"],
        "pattern": f"^{SPACE}*#(?:[0-9a-fA-F]{{3}}|[0-9a-fA-F]{{6}}){SPACE}*$",
        "description": "its tracking page's colour, #rrggbb or #rgb",
    },
    "ack_interval_hours": _POSITIVE,
    "send_rate_per_second": _POSITIVE,
    "quiet_hours": {
        **NULLABLE_STRING,
        "maxLength": TEXT_LIMIT,
        "examples": ["21-8"],
        "description": 'hours reminders never go out, local: "21-8"; "" for none; null: the deployment\'s',
    },
    "state_quiet_hours": {
        "type": ["boolean", "null"],
        "description": "also keep the customer's state's calling hours; null: the deployment's",
    },
    "reminder_hour": {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 23},
            {"type": "string", "pattern": f"^{SPACE}*(?:(?:[01]?[0-9]|2[0-3]){SPACE}*)?$"},
            {"type": "null"},
        ],
        "description": 'the local hour of day-before reminders; "" turns them off; null: the deployment\'s',
    },
    "review_url": {
        "type": ["string", "null"],
        "maxLength": 2 * URL_LIMIT,
        "pattern": f"^{SPACE}*(?:[hH][tT][tT][pP][sS]?://[{URL_CHARS}]+)?{SPACE}*$",
        "description": 'the review link (http(s)); "" turns review requests off; null: the deployment\'s',
    },
    "review_hour": {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": 23,
        "description": "the local hour of the day after completion the review request goes; null: the deployment's",
    },
    "review_interval_days": {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": MAX_INTERVAL_DAYS,
        "description": "at most one review request per phone in this many days; null: the deployment's",
    },
    "events_url": {**_ONE_LINE, "type": ["string", "null"], "description": "with events_secret (both or neither)"},
    "events_secret": {
        **_ONE_LINE,
        "type": ["string", "null"],
        "description": "Standard Webhooks secret (whsec_...), with events_url; stored encrypted",
    },
}
_SLUG = {
    "type": "string",
    "pattern": "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    "description": "lowercase letters, digits and '-'; not `default`; set once",
}
BUSINESS_CREATE = {
    "type": "object",
    "required": ["slug", "name"],
    "properties": {"slug": _SLUG, **_SETTABLE},
    "additionalProperties": False,
    # Texts reach a business by the number they were sent to: it needs one, or a Messaging Service.
    "anyOf": [
        {"required": ["numbers"], "properties": {"numbers": {"minItems": 1}}},
        {"required": ["messaging_service_sid"], "properties": {"messaging_service_sid": {"type": "string"}}},
    ],
}
BUSINESS_PATCH = {"type": "object", "properties": _SETTABLE, "additionalProperties": False}

# -- what the API answers --------------------------------------------------------------------------

_TOKEN_ID = {"type": "string", "pattern": "^tok_[0-9a-f]{8}$"}
_LAST4 = {"type": ["string", "null"], "maxLength": 4, "description": "the secret's last four characters"}
NEW_TOKEN = {
    "type": "object",
    "required": ["id", "token", "created_at"],
    "properties": {
        "id": _TOKEN_ID,
        "token": {"type": "string", "description": "the dashboard's bearer token: shown this once, only a hash kept"},
        "created_at": TIMESTAMP,
    },
    "additionalProperties": False,
}
_TOKEN_INFO = {
    "type": "object",
    "required": ["id", "created_at"],
    "properties": {"id": _TOKEN_ID, "created_at": TIMESTAMP},
    "additionalProperties": False,
}
_NULLABLE_TIME = {**TIMESTAMP, "type": ["string", "null"]}
_BUSINESS_PROPERTIES: dict[str, Any] = {
    "slug": {"type": "string"},
    "name": {"type": "string"},
    "phone": NULLABLE_STRING,
    "timezone": NULLABLE_STRING,
    "numbers": {"type": "array", "items": {"type": "string"}},
    "messaging_service_sid": NULLABLE_STRING,
    "webhook_url": {
        "type": "string",
        "description": "the address to configure in Twilio for its numbers' (or Messaging Service's) incoming "
        "messages: PUBLIC_BASE_URL/twilio/{slug}/sms",
    },
    "dispatchers": {
        "type": "array",
        "items": {"type": "string"},
        "examples": [["Maria:+15125550177", "+15125550178"]],
        "description": "E.164 phones, `Name:+1…` when named: the entries a body gives, as it would give them back",
    },
    "twilio": {
        "type": ["object", "null"],
        "required": ["account_sid", "api_key", "auth_token_last4", "api_secret_last4"],
        "properties": {
            "account_sid": {"type": "string"},
            "api_key": NULLABLE_STRING,
            "auth_token_last4": _LAST4,
            "api_secret_last4": _LAST4,
        },
        "additionalProperties": False,
    },
    "templates": NULLABLE_STRING,
    "templates_file": {
        **NULLABLE_STRING,
        "description": "the default business's TEMPLATES_PATH, the file its wording overrides come from (null when "
        "unset: the built-in wording); always null for a business of this API, whose overrides are `templates`",
    },
    "accent_color": NULLABLE_STRING,
    "ack_interval_hours": {"type": ["number", "null"]},
    "send_rate_per_second": {"type": ["number", "null"]},
    "quiet_hours": NULLABLE_STRING,
    "reminder_hour": {"type": ["integer", "string", "null"]},
    "review_url": NULLABLE_STRING,
    "review_hour": {"type": ["integer", "null"]},
    "review_interval_days": {"type": ["integer", "null"]},
    "state_quiet_hours": {"type": ["boolean", "null"]},
    "events_url": NULLABLE_STRING,
    "events_secret_last4": _LAST4,
    "tokens": {"type": "array", "items": _TOKEN_INFO, "description": "its dashboard tokens (never the token)"},
    "managed_by": {
        "enum": [MANAGED_BY_SETTINGS, MANAGED_BY_API],
        "description": f"`{MANAGED_BY_SETTINGS}`: the default business, read-only here; `{MANAGED_BY_API}`: this API's",
    },
    "created_at": _NULLABLE_TIME,
    "updated_at": _NULLABLE_TIME,
}
BUSINESS = {
    "type": "object",
    "required": list(BUSINESS_FIELDS),
    "properties": {field: _BUSINESS_PROPERTIES[field] for field in BUSINESS_FIELDS},
    "additionalProperties": False,
    "description": "null fields take the deployment's setting; secrets show their last four characters only",
}


def _wrapped(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: schema}, "additionalProperties": False}


SCHEMAS = {
    "Business": BUSINESS,
    "BusinessCreated": {
        "type": "object",
        "required": ["business", "token"],
        "properties": {"business": ref("Business"), "token": ref("NewToken")},
        "additionalProperties": False,
    },
    "NewToken": NEW_TOKEN,
}

# -- operations ------------------------------------------------------------------------------------

_ANY = {
    "401": error_answer(401, "missing or wrong admin token"),
    "403": error_answer(403, "a dashboard token (or API_TOKEN): businesses are managed with ADMIN_TOKEN"),
    "405": error_answer(405, "another method on this path; `Allow` names the ones served"),
    "413": error_answer(413, "a body over 1 MB (checked before anything else)"),
    "503": error_answer(
        503,
        "the store cannot be used right now; try again after `Retry-After` seconds",
        {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}},
    ),
}
_MISSING = {"404": error_answer(404, "no such business (or token)")}
_BODY = {
    "400": error_answer(400, "the body is not JSON, or is nested too deeply"),
    "422": error_answer(422, "a field is missing, unknown or invalid; the message names it"),
}
_ONE = _wrapped("business", ref("Business"))
_LIST = _wrapped("businesses", {"type": "array", "items": ref("Business")})
_DEFAULT = "`default` (the settings' own business: change its settings instead)"
_SLUG_PARAM = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}, "example": "acme"}
_TOKEN_PARAM = {"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"}}
_LINKS = {
    "GetBusiness": {"operationId": "getBusiness", "parameters": {"slug": "$response.body#/business/slug"}},
    "UpdateBusiness": {"operationId": "updateBusiness", "parameters": {"slug": "$response.body#/business/slug"}},
    "IssueToken": {"operationId": "issueBusinessToken", "parameters": {"slug": "$response.body#/business/slug"}},
    "RevokeToken": {
        "operationId": "revokeBusinessToken",
        "parameters": {"slug": "$response.body#/business/slug", "token_id": "$response.body#/token/id"},
    },
}
_NEW_BUSINESS = {
    "slug": "acme-hauling",
    "name": "Acme Hauling",
    "phone": "+15125550150",
    "timezone": "America/Chicago",
    "numbers": ["+15125550140"],
    "dispatchers": ["Maria:+15125550177"],
}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}


PATHS: dict[str, Any] = {
    "/admin/businesses": {
        "post": {
            "operationId": "createBusiness",
            "summary": "Register a business; the answer holds its first dashboard token, shown this once",
            "security": ADMIN_SECURITY,
            "requestBody": _body(BUSINESS_CREATE, _NEW_BUSINESS),
            "responses": {
                "201": {**json_answer(ref("BusinessCreated"), "the business and its first token"), "links": _LINKS},
                **_ANY,
                **_BODY,
                "409": error_answer(409, "its slug, a number or its messaging service is taken", code="conflict"),
            },
        },
        "get": {
            "operationId": "listBusinesses",
            "summary": "Every business: the default one (the settings') first, then the others, oldest first",
            "security": ADMIN_SECURITY,
            "responses": {"200": json_answer(_LIST, "the businesses"), **_ANY},
        },
    },
    "/admin/businesses/{slug}": {
        "parameters": [_SLUG_PARAM],
        "get": {
            "operationId": "getBusiness",
            "summary": "One business (`default`: the settings', read-only)",
            "security": ADMIN_SECURITY,
            "responses": {"200": json_answer(_ONE, "the business"), **_ANY, **_MISSING},
        },
        "patch": {
            "operationId": "updateBusiness",
            "summary": "Change a business's fields (the slug stays); what is not given stays as it is",
            "security": ADMIN_SECURITY,
            "requestBody": _body(BUSINESS_PATCH, {"dispatchers": ["+15125550177", "+15125550178"]}),
            "responses": {
                "200": json_answer(_ONE, "the business as changed"),
                **_ANY,
                **_BODY,
                **_MISSING,
                "409": error_answer(409, f"a number or messaging service is taken, or {_DEFAULT}", code="conflict"),
            },
        },
    },
    "/admin/businesses/{slug}/tokens": {
        "parameters": [_SLUG_PARAM],
        "post": {
            "operationId": "issueBusinessToken",
            "summary": "Another dashboard token for the business, shown this once (only its hash is kept)",
            "security": ADMIN_SECURITY,
            "responses": {
                "201": json_answer(_wrapped("token", ref("NewToken")), "the new token"),
                **_ANY,
                **_MISSING,
                "409": error_answer(409, f"{_DEFAULT}: its dashboard token is API_TOKEN", code="conflict"),
            },
        },
    },
    "/admin/businesses/{slug}/tokens/{token_id}": {
        "parameters": [_SLUG_PARAM, _TOKEN_PARAM],
        "delete": {
            "operationId": "revokeBusinessToken",
            "summary": "Revoke a dashboard token: refused (401) from the next request on",
            "security": ADMIN_SECURITY,
            "responses": {
                "204": {"description": "revoked"},
                **_ANY,
                **_MISSING,
                "409": error_answer(409, f"{_DEFAULT}: its dashboard token is API_TOKEN", code="conflict"),
            },
        },
    },
}
