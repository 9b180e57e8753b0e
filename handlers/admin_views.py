"""A business's record as the admin API writes it, and its public view as the API answers it.

    record = new_record(clean_business(body, creating=True), box, token)   # secrets sealed, token hashed
    business_json(record, settings)                                        # no secret, no hash: last fours

The registry keeps each secret (bot.businesses.SECRET_FIELDS) as
`{"sealed": <Fernet token>, "last4": ...}` (config/business_settings.py opens
them) and each dashboard token as `{"id", "hash", "created_at"}`. An answer
never holds a secret or a hash: secrets show their last four characters (none
for a secret too short to spare four), tokens their id and age.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from bot.businesses import SECRET_FIELDS
from bot.dispatcher_entries import entry_of
from bot.jobs import utc_now
from bot.webhook_paths import sms_path
from config.secret_box import SecretBox, last_four
from config.settings import Settings
from handlers.tenancy import Tenant, new_dashboard_token, token_hash
from store import DEFAULT_BUSINESS, BusinessRecord

# A secret shorter than this shows no last four: four of its few characters would be most of it.
# (Twilio's auth tokens and API secrets are 32 characters; Standard Webhooks secrets longer.)
MIN_SHOWN_SECRET = 16
MANAGED_BY_SETTINGS = "settings"
MANAGED_BY_API = "admin_api"


def seal(cleaned: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """`cleaned` (clean_business's values) with every plaintext secret sealed as {"sealed", "last4"}."""
    out = dict(cleaned)
    for holder_key, key in SECRET_FIELDS:
        if holder_key is None:
            holder = out
        elif isinstance(out.get(holder_key), dict):
            holder = out[holder_key] = dict(out[holder_key])
        else:
            continue
        plain = holder.get(key)
        if isinstance(plain, str):
            shown = last_four(plain) if len(plain) >= MIN_SHOWN_SECRET else None
            holder[key] = {"sealed": box.seal(plain), "last4": shown}
    return out


def new_token() -> tuple[dict[str, str], dict[str, str]]:
    """A dashboard token: (what the registry keeps: id, hash, created_at; what the caller sees once: id, token)."""
    plain = new_dashboard_token()
    kept = {"id": "tok_" + secrets.token_hex(4), "hash": token_hash(plain), "created_at": utc_now()}
    return kept, {"id": kept["id"], "token": plain, "created_at": kept["created_at"]}


def new_record(cleaned: dict[str, Any], box: SecretBox, token: dict[str, str]) -> BusinessRecord:
    """A created business as the registry keeps it: sealed secrets, times, its first token."""
    now = utc_now()
    return {**seal(cleaned, box), "tokens": [token], "created_at": now, "updated_at": now}


def with_token(record: BusinessRecord, kept: dict[str, str]) -> BusinessRecord:
    """The record with one more token (a fresh id if this one is taken: 8 hex digits may meet)."""
    tokens = list(record.get("tokens") or [])
    while any(token["id"] == kept["id"] for token in tokens):
        kept = {**kept, "id": "tok_" + secrets.token_hex(4)}
    return {**record, "tokens": [*tokens, kept], "updated_at": utc_now()}


def _last4(sealed: Any) -> str | None:
    return sealed.get("last4") if isinstance(sealed, dict) else None


def webhook_url(settings: Settings, slug: str) -> str:
    """The address to paste into Twilio as the business's numbers' (or Messaging Service's) incoming-message webhook."""
    return settings.public_base_url + sms_path(slug)


def dispatcher_entries(phones: Iterable[str], names: Mapping[str, str]) -> list[str]:
    """The dispatchers as a body gives them back: "Maria:+15125550100" when named, else the phone."""
    return [entry_of(phone, names.get(phone)) for phone in phones]


def business_json(record: BusinessRecord, settings: Settings) -> dict[str, Any]:
    """A registered business as the API shows it: every stored field but secrets and token hashes,
    and the webhook address its numbers are configured with (`settings`: the deployment's)."""
    hidden = ("twilio", "events_secret", "tokens", "dispatcher_names")
    shown = {key: value for key, value in record.items() if key not in hidden}
    shown["dispatchers"] = dispatcher_entries(record.get("dispatchers") or [], record.get("dispatcher_names") or {})
    twilio = record.get("twilio")
    shown["twilio"] = (
        None
        if not twilio
        else {
            "account_sid": twilio["account_sid"],
            "api_key": twilio.get("api_key"),
            "auth_token_last4": _last4(twilio.get("auth_token")),
            "api_secret_last4": _last4(twilio.get("api_secret")),
        }
    )
    shown["events_secret_last4"] = _last4(record.get("events_secret"))
    shown["tokens"] = [{"id": token["id"], "created_at": token["created_at"]} for token in record.get("tokens") or []]
    shown["managed_by"] = MANAGED_BY_API
    shown["templates_file"] = None  # its wording is `templates`; a file is the settings' business's alone
    shown["webhook_url"] = webhook_url(settings, record["slug"])
    return dict(sorted(shown.items(), key=lambda item: _ORDER.get(item[0], len(_ORDER))))


# The order an answer lists a business's fields in (what people read first, first).
_ORDER = {
    field: i
    for i, field in enumerate(
        (
            "slug",
            "name",
            "phone",
            "timezone",
            "numbers",
            "messaging_service_sid",
            "webhook_url",
            "dispatchers",
            "twilio",
            "templates",
            "templates_file",
            "accent_color",
            "ack_interval_hours",
            "send_rate_per_second",
            "quiet_hours",
            "reminder_hour",
            "review_url",
            "review_hour",
            "review_interval_days",
            "state_quiet_hours",
            "events_url",
            "events_secret_last4",
            "tokens",
            "managed_by",
            "created_at",
            "updated_at",
        )
    )
}
BUSINESS_FIELDS = tuple(_ORDER)  # every field of an answer's business (web/openapi_admin.py reads it)


def default_json(tenant: Tenant) -> dict[str, Any]:
    """The default business (the settings' own), in the same shape, read-only.

    Its values are the settings' in force (there is no deployment setting
    under it to fall back on); it has no own Twilio account (it *is* the
    deployment's), no templates text (TEMPLATES_PATH is a file: `templates_file`), no tokens
    (its dashboard token is API_TOKEN) and no creation time.
    """
    s = tenant.settings
    quiet = s.quiet_hours
    return {
        "slug": DEFAULT_BUSINESS,
        "name": s.business_name,
        "phone": s.business_phone,
        "timezone": s.timezone.key,
        "numbers": [s.twilio_from_number] if s.twilio_from_number else [],
        "messaging_service_sid": s.twilio_messaging_service_sid,
        "webhook_url": webhook_url(s, DEFAULT_BUSINESS),
        "dispatchers": dispatcher_entries(s.dispatcher_numbers, s.dispatcher_names),
        "twilio": None,
        "templates": None,
        "templates_file": str(s.templates_path) if s.templates_path else None,
        "accent_color": s.accent_color,
        "ack_interval_hours": s.ack_interval_hours,
        "send_rate_per_second": s.send_rate_per_second,
        "quiet_hours": f"{quiet.start}-{quiet.end}" if quiet else "",
        "reminder_hour": "" if s.reminder_hour is None else s.reminder_hour,
        "review_url": s.review_url or "",
        "review_hour": s.review_hour,
        "review_interval_days": s.review_interval_days,
        "state_quiet_hours": s.state_quiet_hours,
        "events_url": s.events_url,
        "events_secret_last4": None,
        "tokens": [],
        "managed_by": MANAGED_BY_SETTINGS,
        "created_at": None,
        "updated_at": None,
    }
