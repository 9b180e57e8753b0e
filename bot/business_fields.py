"""One field of a business as the admin API takes it: checks and normalizing, each refusal naming the field.

bot.businesses.clean_business runs CLEANERS over a create or PATCH body
(its docstring lists what each stores); the rules shared with a setting
are the setting's own (phones, QUIET_HOURS, REMINDER_HOUR, the templates
file), reused rather than copied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import review_fields
from bot.dispatcher_entries import parse_entry
from bot.errors import ValidationError
from bot.job_fields import check_characters, printable, quoted, refuse_surrogates
from bot.phones import normalize_phone
from bot.reminders import QuietHours, parse_hour
from bot.templates import TemplateError, templates_from_text

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
DEFAULT_SLUG = "default"  # the business the settings describe (SPEC "Businesses")
NAME_LIMIT = 100
MAX_NUMBERS = 20
MAX_DISPATCHERS = 50
MAX_TEMPLATES_BYTES = 64 * 1024
MAX_PER_HOUR_OR_SECOND = 1000  # ack_interval_hours, send_rate_per_second
TEXT_LIMIT = 2000  # timezone, URLs and secrets: far above any real one, so junk is refused early
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
TWILIO_SIDS = {"account_sid": re.compile(r"AC[0-9a-fA-F]{32}"), "api_key": re.compile(r"SK[0-9a-fA-F]{32}")}
TWILIO_KEYS = ("account_sid", "auth_token", "api_key", "api_secret")
# A TemplateError names its source ("templates file <source>, template 'generic'.en_route: ...").
TEMPLATES_SOURCE = "in the request body"
_OWN_ACCOUNT = (
    "a business with its own Twilio account needs account_sid and auth_token; "
    "api_key and api_secret are optional, together"
)
_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_HOUR_TEXT = re.compile(r"\s*[0-9]{1,2}\s*")


def one_line(field: str, value: Any, what: str = "a string or null") -> str:
    """`value` if it is one line of text within TEXT_LIMIT; else ValidationError naming `field`."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be {what}")
    if len(value) > TEXT_LIMIT:
        raise ValidationError(field, f"must be at most {TEXT_LIMIT} characters")
    return check_characters(field, value, multiline=False)


def _slug(value: Any) -> str:
    value = one_line("slug", value, "a string")
    if not SLUG.fullmatch(value):
        raise ValidationError(
            "slug",
            f"{quoted(value)} must be 1 to 40 lowercase letters, digits and '-', not starting or ending with '-'",
        )
    if value == DEFAULT_SLUG:
        raise ValidationError("slug", f"{DEFAULT_SLUG!r} is reserved: it is the deployment's own business")
    return value


def _name(value: Any) -> str:
    value = one_line("name", value, "a string")
    # Limits hold for the value as sent, as for a job's fields (bot/job_fields.py).
    if len(value) > NAME_LIMIT:
        raise ValidationError("name", f"must be at most {NAME_LIMIT} characters")
    if not value.strip():
        raise ValidationError("name", "must not be empty")
    return value.strip()


def _phone(value: Any) -> str | None:
    return None if value is None else normalize_phone(one_line("phone", value), "phone")


def _timezone(value: Any) -> str | None:
    if value is None:
        return None
    value = one_line("timezone", value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: "", "../x", "/etc/passwd"
        raise ValidationError("timezone", f"{quoted(value)} is not a known time zone (e.g. America/Chicago)") from None
    return value


def _phones(field: str, limit: int) -> Callable[[Any], list[str]]:
    def clean(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValidationError(field, "must be a list of phone numbers")
        # The limit counts entries as sent (as the published schema's maxItems would), before any work.
        if len(value) > limit:
            raise ValidationError(field, f"must hold at most {limit} numbers")
        normalized = (
            normalize_phone(one_line(f"{field}[{i}]", raw, "a string"), f"{field}[{i}]") for i, raw in enumerate(value)
        )
        return list(dict.fromkeys(normalized))

    return clean


def _dispatchers(value: Any) -> tuple[list[str], dict[str, str]]:
    """(phones, names): each entry a phone or a named phone ("Maria:512-555-0100"), as DISPATCHER_NUMBERS
    takes them; a phone given twice counts once, with the first name it was given."""
    if not isinstance(value, list):
        raise ValidationError("dispatchers", 'must be a list of phones, each optionally named ("Maria:+15125550100")')
    if len(value) > MAX_DISPATCHERS:  # counted as sent, as _phones counts
        raise ValidationError("dispatchers", f"must hold at most {MAX_DISPATCHERS} numbers")
    phones: dict[str, None] = {}
    names: dict[str, str] = {}
    for i, raw in enumerate(value):
        field = f"dispatchers[{i}]"
        phone, name = parse_entry(one_line(field, raw, "a string"), field)
        phones[phone] = None
        if name and phone not in names:
            names[phone] = name
    return list(phones), names


def _messaging_service_sid(value: Any) -> str | None:
    if value is not None and not MESSAGING_SERVICE_SID.fullmatch(one_line("messaging_service_sid", value)):
        raise ValidationError("messaging_service_sid", "must be MG followed by 32 hex characters, or null")
    return value


def _twilio(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError("twilio", f"must be an object or null (the deployment's account): {_OWN_ACCOUNT}")
    for key in value:
        if key not in TWILIO_KEYS:
            raise ValidationError(f"twilio.{printable(str(key))}", "unknown field; use " + ", ".join(TWILIO_KEYS))
    given = {key: value[key] for key in TWILIO_KEYS if value.get(key) is not None}
    for key, raw in given.items():
        field = f"twilio.{key}"
        text = one_line(field, raw)
        pattern = TWILIO_SIDS.get(key)
        # The value is never repeated: a secret pasted into the wrong key must not land in a log.
        if pattern is not None and not pattern.fullmatch(text):
            hint = " (an SK… SID is an API key: it goes in twilio.api_key)" if text.startswith("SK") else ""
            raise ValidationError(field, f"must be {pattern.pattern[:2]} followed by 32 hex characters{hint}")
        if pattern is None and not text.strip():
            raise ValidationError(field, "must not be empty")
    for pair in (("account_sid", "auth_token"), ("api_key", "api_secret")):
        missing = [key for key in pair if key not in given]
        # account_sid and auth_token are both required; api_key and api_secret only go together.
        if missing and (pair[0] == "account_sid" or len(missing) == 1):
            partner: list[str] = [key for key in pair if key in given] or list(given)
            with_ = f"with twilio.{partner[0]} " if partner else ""
            raise ValidationError(f"twilio.{missing[0]}", f"required {with_}({_OWN_ACCOUNT})")
    return given


def _templates(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("templates", "must be a TOML string (the shape of the TEMPLATES_PATH file), or null")
    if len(value) > MAX_TEMPLATES_BYTES or len(value.encode("utf-8", "surrogatepass")) > MAX_TEMPLATES_BYTES:
        raise ValidationError("templates", f"must be at most {MAX_TEMPLATES_BYTES // 1024} KB")
    refuse_surrogates("templates", value)
    try:
        templates_from_text(value, TEMPLATES_SOURCE)  # the very checks TEMPLATES_PATH gets at start-up
    except TemplateError as error:
        raise ValidationError("templates", str(error)) from None
    return value


def _accent_color(value: Any) -> str | None:
    if value is None:
        return None
    found = _HEX_COLOR.fullmatch(one_line("accent_color", value).strip())
    if not found:
        raise ValidationError("accent_color", f"{quoted(value)} is not a colour like #1a7f37 or #17a")
    digits = found[1].lower()
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))


def _positive(field: str) -> Callable[[Any], float | None]:
    def clean(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError(field, "must be a number, or null for the deployment's setting")
        if not 0 < value <= MAX_PER_HOUR_OR_SECOND:
            raise ValidationError(field, f"must be more than 0 and at most {MAX_PER_HOUR_OR_SECOND}")
        return float(value)

    return clean


def _quiet_hours(value: Any) -> str | None:
    if value is None:
        return None
    try:
        quiet = QuietHours.parse(one_line("quiet_hours", value, 'a string like "21-8", "" for none, or null'))
    except ValueError as error:
        raise ValidationError("quiet_hours", str(error)) from None
    return "" if quiet is None else f"{quiet.start}-{quiet.end}"


def _reminder_hour(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 23:  # checked as a number: str() of a huge int raises
            raise ValidationError("reminder_hour", "must be an hour from 0 to 23 (17 is 5 PM)")
        return value
    text = one_line("reminder_hour", value, 'an hour from 0 to 23, "" for off, or null')
    if text.strip() and not _HOUR_TEXT.fullmatch(text):  # parse_hour's isdigit() takes "²", which int() refuses
        raise ValidationError("reminder_hour", f"{quoted(text)} is not an hour from 0 to 23 (17 is 5 PM)")
    try:
        hour = parse_hour(text)
    except ValueError as error:
        raise ValidationError("reminder_hour", str(error)) from None
    return "" if hour is None else hour


def _state_quiet_hours(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError("state_quiet_hours", "must be true, false, or null for the deployment's setting")


# Each field a body may set (but events_url / events_secret, which go as a pair) and what checks it.
CLEANERS: dict[str, Callable[[Any], Any]] = {
    "slug": _slug,
    "name": _name,
    "phone": _phone,
    "timezone": _timezone,
    "numbers": _phones("numbers", MAX_NUMBERS),
    "messaging_service_sid": _messaging_service_sid,
    # (phones, names): bot.businesses.clean_business stores them as `dispatchers` and `dispatcher_names`.
    "dispatchers": _dispatchers,
    "twilio": _twilio,
    "templates": _templates,
    "accent_color": _accent_color,
    "ack_interval_hours": _positive("ack_interval_hours"),
    "send_rate_per_second": _positive("send_rate_per_second"),
    "quiet_hours": _quiet_hours,
    "reminder_hour": _reminder_hour,
    "review_url": review_fields.clean_url,
    "review_hour": review_fields.clean_hour,
    "review_interval_days": review_fields.clean_interval,
    "state_quiet_hours": _state_quiet_hours,
}
