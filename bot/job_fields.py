"""One field of a job as people type it: checks and parsing, each refusal naming the field.

bot.jobs.clean_fields runs these over a create or PATCH body; the status
API and the dispatcher grammar use parse_eta / parse_total; every text a
person sends through the API (a job's fields, a dashboard text) passes
check_characters.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import ValidationError
from bot.iso_patterns import ANY_INSTANT, APPOINTMENT, APPOINTMENT_YEARS

TEXT_LIMITS = _TEXT_LIMITS = {
    "customer_name": 100,
    "service_type": 60,
    "address": 300,
    "invoice_url": 2000,
    "notes": 2000,
}
# Fields a person may write on several lines (a text box on the dashboard): they
# keep line breaks and tabs. Every other text is one line, free of control characters.
MULTILINE_FIELDS = frozenset({"address", "notes"})
MAX_ETA_MINUTES = 24 * 60
MAX_TOTAL = 1_000_000

# C0 controls, DEL, C1 controls, and lone UTF-16 surrogates (a JSON "\ud800" escape
# decodes to one: it is not text, cannot be stored as UTF-8 or sent in a text).
NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_MULTILINE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# What the API takes as text, written as regular expressions that mean the same in Python and in an
# OpenAPI schema (web/openapi_schemas.py), so the published schema is exactly what is accepted.
# Whitespace that is not a control character (what may surround a value; it is stripped):
SPACE = r"[^\S\x00-\x1f\x7f-\x9f]"
# An ISO 8601 date, or a date-time with an optional zone (none means TIMEZONE), on the calendar and
# within APPOINTMENT_YEARS (bot/iso_patterns.py says why).
SCHEDULED_PATTERN = f"^{SPACE}*{APPOINTMENT}{SPACE}*$"
# Dollars as people write them: 350, 350.5, $1,200.00 (a JSON number is taken as well).
MONEY_PATTERN = f"^{SPACE}*[$]?([0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]+)([.][0-9]+)?{SPACE}*$"
_SCHEDULED = re.compile(SCHEDULED_PATTERN)
_ANY_INSTANT = re.compile(f"^{SPACE}*{ANY_INSTANT}{SPACE}*$")
_MONEY = re.compile(MONEY_PATTERN)


def quoted(text: str, limit: int = 40) -> str:
    """`text` for an error message: quoted, escaped (repr shows controls and surrogates), and short."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates as escapes ("colour\\ud800"), for naming a field."""
    return NOT_TEXT.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def check_characters(field: str, value: str, *, multiline: bool) -> str:
    """`value` if it is text a person could have written; ValidationError naming `field` otherwise.

    Multi-line text keeps line breaks and tabs (a CRLF from a text box becomes
    one line break); one-line text takes no control characters at all.
    """
    if multiline:
        value = value.replace("\r\n", "\n")
    bad = (_NOT_MULTILINE_TEXT if multiline else NOT_TEXT).search(value)
    if bad is None:
        return value
    refuse_surrogates(field, bad.group())
    char = f"U+{ord(bad.group()):04X}"
    if multiline:
        raise ValidationError(field, f"must not hold control characters other than line breaks and tabs ({char})")
    raise ValidationError(field, f"must be one line without control characters ({char})")


def refuse_surrogates(field: str, text: str) -> None:
    """ValidationError naming `field` if `text` holds a lone surrogate (half of a UTF-16 pair)."""
    if found := _SURROGATE.search(text):
        char = f"U+{ord(found.group()):04X}"
        raise ValidationError(field, f"is not valid text: it holds a lone surrogate ({char}), half of a character")


def text_field(field: str, value: Any, required: bool) -> str | None:
    """A text field's stored value: stripped, checked, within its limit; None when empty and optional."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    # Limits hold for the value as sent, surrounding spaces included: the published schema says so.
    if len(value) > _TEXT_LIMITS[field]:
        raise ValidationError(field, f"must be at most {_TEXT_LIMITS[field]} characters")
    value = check_characters(field, value, multiline=field in MULTILINE_FIELDS).strip()
    if not value:
        if required:
            raise ValidationError(field, "must not be empty")
        return None
    return value


def parse_total(value: Any, field: str = "total") -> float | None:
    """A USD amount rounded to cents; accepts a JSON number or "$1,200.00"."""
    if value is None:
        return None
    if isinstance(value, str):
        if not _MONEY.fullmatch(value):
            raise ValidationError(field, "must be an amount in dollars")
        value = float(value.strip().lstrip("$").replace(",", ""))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(field, "must be a number")
    if not 0 <= value <= MAX_TOTAL:
        raise ValidationError(field, f"must be between 0 and {MAX_TOTAL}")
    return round(float(value), 2)


def parse_eta(value: Any, field: str = "eta_minutes") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be a whole number of minutes")
    if not 0 <= value <= MAX_ETA_MINUTES:
        raise ValidationError(field, f"must be between 0 and {MAX_ETA_MINUTES}")
    return value


def parse_scheduled_for(value: Any, tz: ZoneInfo) -> str | None:
    """A date-time with its zone (none given means TIMEZONE), or a date kept as a date.

    SPEC: a date (2026-12-05) is that day with no time, so it is stored as
    "2026-12-05", never as midnight.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("scheduled_for", "must be an ISO 8601 date or date-time string")
    if not _SCHEDULED.fullmatch(value):
        raise ValidationError("scheduled_for", _why_not_an_appointment(value))
    text = value.strip()
    if (day := scheduled_day(text)) is not None:
        return day.isoformat()
    moment = datetime.fromisoformat(text)  # the pattern takes only what parses
    if moment.tzinfo is None:  # SPEC: no zone means TIMEZONE
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def _why_not_an_appointment(value: str) -> str:
    """Why `value` is refused: a date out of the years appointments take, or not a date at all."""
    if _ANY_INSTANT.fullmatch(value):
        first, last = APPOINTMENT_YEARS
        return f"{quoted(value)} is not an appointment: the year must be from {first} to {last}"
    return f"{quoted(value)} is not an ISO 8601 date or date-time"


def scheduled_day(scheduled_for: str | None) -> date | None:
    """The day of an appointment stored as a date (no time), else None (none, or a date-time)."""
    if not scheduled_for:
        return None
    try:  # a date-time is not an ISO date, so it lands here as ValueError
        return date.fromisoformat(scheduled_for)
    except ValueError:
        return None


def url_field(value: Any) -> str | None:
    """An http(s) URL (the invoice link), or None."""
    value = text_field("invoice_url", value, required=False)
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValidationError("invoice_url", "must be an http(s) URL")
    return value
