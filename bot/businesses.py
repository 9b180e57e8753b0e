"""A business as the admin API sets it (POST /admin/businesses, PATCH /admin/businesses/{slug}).

`clean_business` turns a JSON body into the values to store, each refusal a
ValidationError naming its field ("twilio.auth_token", "numbers[1]"). What
is stored, field by field (None always means "the deployment's setting"):

- slug: str, lowercase letters, digits and '-' (never "default": that is the
  deployment's own business, the one the settings describe); set once.
- name: str, stripped.  phone: E.164 str or None.  timezone: IANA name or None.
- numbers, dispatchers: lists of E.164 str, duplicates dropped, order kept.
  A body's dispatchers may be named as DISPATCHER_NUMBERS' are
  ("Maria:+15125550100"): the names go in dispatcher_names (phone -> name),
  replaced with the list (an entry given bare is unnamed).
- messaging_service_sid: "MG…" or None.
- twilio: None (the deployment's account) or {"account_sid", "auth_token"[,
  "api_key", "api_secret"]}, plaintext: the caller encrypts SECRET_FIELDS.
- templates: TOML str (checked as TEMPLATES_PATH is) or None.
- accent_color: "#rrggbb" (lowercase) or None.
- ack_interval_hours, send_rate_per_second: float or None.
- quiet_hours: "21-8" (normalized), "" for none, or None.
- reminder_hour: int 0-23, "" for off, or None. "" (not "off") because it is
  what REMINDER_HOUR means by off, like quiet_hours' "": `parse_hour(str(v))`
  reads every stored value but None back.
- review_url: an http(s) link, "" for off, or None.  review_hour: int 0-23 or
  None.  review_interval_days: int 0-3650 or None (bot/review_fields.py).
- events_url, events_secret: both str, or both None.
"""

from __future__ import annotations

from typing import Any

from bot.business_fields import CLEANERS, one_line
from bot.errors import ValidationError
from bot.events_config import check_events
from bot.job_fields import printable

# What the caller encrypts before storing and masks (last four characters) in answers:
# (object, key) pairs, None for a top-level field.
SECRET_FIELDS: tuple[tuple[str | None, str], ...] = (
    ("twilio", "auth_token"),
    ("twilio", "api_secret"),
    (None, "events_secret"),
)

# A business record as the registry keeps it (store/deployment.py): the fields cleaned here, its
# secrets sealed by config/secret_box.py, `tokens` holding dashboard-token hashes.
BusinessRecord = dict[str, Any]

FIELDS = (*CLEANERS, "events_url", "events_secret")
REQUIRED = ("slug", "name")


def create_defaults() -> dict[str, Any]:
    """A created business holds every field: what is not given takes these (None: the deployment's setting)."""
    return {field: None for field in FIELDS} | {"numbers": [], "dispatchers": [], "dispatcher_names": {}}


def _events(payload: dict[str, Any]) -> dict[str, Any]:
    if "events_url" not in payload and "events_secret" not in payload:
        return {}
    url, secret = (payload.get(field) for field in ("events_url", "events_secret"))
    url = None if url is None else one_line("events_url", url)
    secret = None if secret is None else one_line("events_secret", secret)
    # The deployment's rule (EVENTS_URL / EVENTS_SECRET): both or neither, null or "" being neither.
    checked = check_events(url or None, secret or None)
    url, secret = checked if checked is not None else (None, None)
    return {"events_url": url, "events_secret": secret}


def require_routing(numbers: list[str], messaging_service_sid: str | None) -> None:
    """ValidationError naming `numbers` unless a business can be texted: run on a created or PATCHed whole."""
    if not numbers and not messaging_service_sid:
        raise ValidationError(
            "numbers",
            "needs at least one Twilio number or a messaging_service_sid: "
            "texts to a business are routed by the number they were sent to",
        )


def clean_business(payload: object, *, creating: bool) -> dict[str, Any]:
    """The values to store from a create (`creating`) or PATCH body; see the module docstring for each.

    A PATCH gets back only the fields it gave (events_url and events_secret
    go together: giving one gives both); a create gets every field, those
    not given at their default (`create_defaults`). Raises ValidationError
    naming the field: unknown fields are refused (a typo never silently
    does nothing), a slug cannot be changed, and a created business needs
    a slug, a name, and a number or messaging service to be texted on. A
    PATCH that empties both of those is for the caller to refuse, on the
    merged business, with `require_routing`.
    """
    if not isinstance(payload, dict):
        raise ValidationError("body", "must be a JSON object of business fields")
    for field in payload:
        if field not in FIELDS:
            raise ValidationError(printable(str(field)), "unknown field; a business has " + ", ".join(FIELDS))
    if not creating and "slug" in payload:
        raise ValidationError("slug", "cannot be changed")
    if creating:
        for field in REQUIRED:
            if payload.get(field) is None:
                raise ValidationError(field, "is required")
    cleaned = {field: clean(payload[field]) for field, clean in CLEANERS.items() if field in payload}
    if "dispatchers" in cleaned:  # the phones match dispatchers; the names are what people read
        cleaned["dispatchers"], cleaned["dispatcher_names"] = cleaned["dispatchers"]
    cleaned.update(_events(payload))
    if creating:
        cleaned = create_defaults() | cleaned
        require_routing(cleaned["numbers"], cleaned["messaging_service_sid"])
    return cleaned
