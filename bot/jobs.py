"""Jobs: field validation and the status machine, as pure functions on dicts.

A job is a plain dict in the SPEC's JSON shape (minus `tracking_url`, which
depends on where the service is published). Nothing here does I/O: the store
runs these functions inside its write so that a status change and the texts it
causes are one atomic write.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import InvalidTransition, ValidationError
from bot.phones import normalize_phone

STATUSES = ("scheduled", "en_route", "arrived", "complete", "cancelled")
OPEN_STATUSES = frozenset({"scheduled", "en_route", "arrived"})
FINAL_STATUSES = frozenset({"complete", "cancelled"})
# Forward order of the normal path; `cancelled` is reachable from any open status.
_RANK = {"scheduled": 0, "en_route": 1, "arrived": 2, "complete": 3}

EDITABLE_FIELDS = (
    "customer_name",
    "customer_phone",
    "service_type",
    "address",
    "scheduled_for",
    "total",
    "invoice_url",
    "notes",
)
REQUIRED_FIELDS = ("customer_name", "customer_phone", "service_type")
_TEXT_LIMITS = {
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
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_MULTILINE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. 2026-11-27T18:32:40.123Z."""
    return iso_utc(datetime.now(UTC))


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label(status: str) -> str:
    """Human wording of a status: "en_route" -> "en route"."""
    return status.replace("_", " ")


# Every spelling of a status people use, with the words the dispatcher grammar
# (bot/conversation/dispatcher_grammar.py) reads in texts, keyed without case,
# spaces, "-" or "_": "en route", "EN-ROUTE", "enroute", "done", "canceled".
_STATUS_SPELLINGS = {
    "scheduled": "scheduled",
    **dict.fromkeys(("enroute", "omw", "otw", "onmyway", "ontheway"), "en_route"),
    **dict.fromkeys(("arrived", "arrive", "here", "onsite"), "arrived"),
    **dict.fromkeys(("complete", "completed", "done", "finished"), "complete"),
    **dict.fromkeys(("cancelled", "canceled", "cancel"), "cancelled"),
}
STATUS_CHOICES = "use scheduled, en route, arrived, complete or cancelled"


def quoted(text: str, limit: int = 40) -> str:
    """`text` for an error message: quoted, escaped (repr shows controls and surrogates), and short."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates as escapes ("colour\\ud800"), for naming a field."""
    return _NOT_TEXT.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def parse_status(text: Any, field: str = "status") -> str:
    """The stored status for any usual spelling of it; ValidationError saying the choices in words."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, f"is required: {STATUS_CHOICES}")
    found = None if _NOT_TEXT.search(text) else _STATUS_SPELLINGS.get(re.sub(r"[\s_-]+", "", text.lower()))
    if found is None:
        raise ValidationError(field, f"{quoted(text)} is not a status; {STATUS_CHOICES}")
    return found


def parse_statuses(text: str, field: str = "status") -> set[str]:
    """A comma-separated list of statuses ("en route, arrived"), each in any usual spelling."""
    return {parse_status(part, field) for part in text.split(",") if part.strip()}


# --- field validation -------------------------------------------------------


def check_characters(field: str, value: str, *, multiline: bool) -> str:
    """`value` if it is text a person could have written; ValidationError naming `field` otherwise.

    Multi-line text keeps line breaks and tabs (a CRLF from a text box becomes
    one line break); one-line text takes no control characters at all.
    """
    if multiline:
        value = value.replace("\r\n", "\n")
    bad = (_NOT_MULTILINE_TEXT if multiline else _NOT_TEXT).search(value)
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


def _text(field: str, value: Any, required: bool) -> str | None:
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    value = check_characters(field, value.strip(), multiline=field in MULTILINE_FIELDS)
    if not value:
        if required:
            raise ValidationError(field, "must not be empty")
        return None
    if len(value) > _TEXT_LIMITS[field]:
        raise ValidationError(field, f"must be at most {_TEXT_LIMITS[field]} characters")
    return value


def parse_total(value: Any, field: str = "total") -> float | None:
    """A USD amount rounded to cents; accepts a JSON number or "$1,200.00"."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().lstrip("$").replace(",", ""))
        except ValueError:
            raise ValidationError(field, "must be an amount in dollars") from None
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


def _scheduled_for(value: Any, tz: ZoneInfo) -> str | None:
    """A date-time with its zone (none given means TIMEZONE), or a date kept as a date.

    SPEC: a date (2026-12-05) is that day with no time, so it is stored as
    "2026-12-05", never as midnight.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("scheduled_for", "must be an ISO 8601 date or date-time string")
    text = value.strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass  # not a bare date: a date-time, or nothing
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("scheduled_for", f"{quoted(value)} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:  # SPEC: no zone means TIMEZONE
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def scheduled_day(scheduled_for: str | None) -> date | None:
    """The day of an appointment stored as a date (no time), else None (none, or a date-time)."""
    if not scheduled_for:
        return None
    try:  # a date-time is not an ISO date, so it lands here as ValueError
        return date.fromisoformat(scheduled_for)
    except ValueError:
        return None


def _url(value: Any) -> str | None:
    value = _text("invoice_url", value, required=False)
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValidationError("invoice_url", "must be an http(s) URL")
    return value


def clean_fields(data: Any, tz: ZoneInfo, *, partial: bool) -> dict[str, Any]:
    """Validate a create (`partial=False`) or PATCH body into stored values.

    Unknown fields are refused, so a typo never silently does nothing.
    """
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(unknown[0], "is not a field that can be set here")
    if not partial:
        for field in REQUIRED_FIELDS:
            if data.get(field) is None:
                raise ValidationError(field, "is required")
    cleaned: dict[str, Any] = {}
    for field, value in data.items():
        if field == "customer_phone":
            cleaned[field] = normalize_phone(value, field)
        elif field == "total":
            cleaned[field] = parse_total(value)
        elif field == "scheduled_for":
            cleaned[field] = _scheduled_for(value, tz)
        elif field == "invoice_url":
            cleaned[field] = _url(value)
        else:
            cleaned[field] = _text(field, value, required=field in REQUIRED_FIELDS)
    return cleaned


# --- creation and the status machine ---------------------------------------


def new_job(job_id: int, token: str, fields: dict[str, Any], now: str) -> dict[str, Any]:
    """A `scheduled` job from already-cleaned fields."""
    job: dict[str, Any] = {"id": job_id, "token": token}
    job.update({field: fields.get(field) for field in EDITABLE_FIELDS})
    job.update(
        status="scheduled",
        eta_minutes=None,
        history=[{"status": "scheduled", "at": now, "by": "api", "eta_minutes": None}],
        created_at=now,
        updated_at=now,
    )
    return job


# How a refusal reads: "1042 is complete; it can't go en route".
_AS_IS = {
    "scheduled": "is scheduled",
    "en_route": "is en route",
    "arrived": "has arrived",
    "complete": "is complete",
    "cancelled": "is cancelled",
}
_CANNOT = {
    "scheduled": "go back to scheduled",
    "en_route": "go en route",
    "arrived": "be marked arrived",
    "complete": "be marked complete",
    "cancelled": "be cancelled",
}


def check_move(current: str, target: str) -> None:
    """Raise InvalidTransition, saying why, unless `current -> target` is allowed.

    Same-status is allowed here (it is a no-op or an ETA update, decided by `move`).
    """
    if target not in STATUSES:
        raise ValidationError("status", STATUS_CHOICES)
    if current == target:
        return
    if current in FINAL_STATUSES:
        raise InvalidTransition(f"{_AS_IS[current]}; it can't {_CANNOT[target]}")
    if target == "cancelled":
        return
    if _RANK[target] < _RANK[current]:
        raise InvalidTransition(f"{_AS_IS[current]}; it can't go back to {label(target)}")


@dataclass(frozen=True)
class Move:
    """The outcome of a status request: the job after it, and whether to text."""

    job: dict[str, Any]
    changed: bool


def move(
    job: dict[str, Any],
    target: str,
    *,
    by: str,
    now: str,
    eta_minutes: int | None = None,
    total: float | None = None,
) -> Move:
    """Apply a status request to `job` (not mutated) per the SPEC's machine.

    Setting the status a job already has changes nothing -- except `en_route`
    with a different ETA, which records the new ETA and texts it.
    """
    current = job["status"]
    try:
        check_move(current, target)
    except InvalidTransition as refused:
        raise InvalidTransition(f"{job['id']} {refused.message}") from None
    if eta_minutes is not None and target != "en_route":
        raise ValidationError("eta_minutes", "only applies to en_route")
    if total is not None and target != "complete":
        raise ValidationError("total", "only applies to complete")
    if current == "complete" and total is not None and total != job.get("total"):
        # A move texts the customer; correcting the amount of a finished job is
        # an edit, which texts no one. Keeping the old total silently would lie.
        had = "no total" if job.get("total") is None else f"total ${job['total']:,.2f}"
        raise InvalidTransition(
            f"{job['id']} is already complete ({had}); correct the total by editing the job "
            f"(PATCH /jobs/{job['id']}), which texts no one"
        )
    if current == target and not (target == "en_route" and eta_minutes not in (None, job["eta_minutes"])):
        return Move(job, changed=False)

    updated = dict(job)
    updated["status"] = target
    updated["eta_minutes"] = eta_minutes if target == "en_route" else None
    if total is not None:
        updated["total"] = total
    updated["history"] = [
        *job["history"],
        {"status": target, "at": now, "by": by, "eta_minutes": updated["eta_minutes"]},
    ]
    updated["updated_at"] = now
    return Move(updated, changed=True)


def edit(job: dict[str, Any], cleaned: dict[str, Any], now: str) -> dict[str, Any]:
    """`job` with PATCH fields applied; required fields cannot be emptied."""
    for field in REQUIRED_FIELDS:
        if field in cleaned and cleaned[field] is None:
            raise ValidationError(field, "is required")
    updated = {**job, **cleaned}
    if updated != job:
        updated["updated_at"] = now
    return updated


def is_open(job: dict[str, Any]) -> bool:
    return job["status"] in OPEN_STATUSES
