"""Jobs: statuses, a create or PATCH body's fields, and the status machine, as pure functions on dicts.

A job is a plain dict in the SPEC's JSON shape (minus `tracking_url`, which
depends on where the service is published). Nothing here does I/O: the store
runs these functions inside its write so that a status change and the texts it
causes are one atomic write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import InvalidTransition, ValidationError
from bot.job_fields import NOT_TEXT, parse_scheduled_for, parse_total, quoted, scheduled_day, text_field, url_field
from bot.phones import normalize_phone
from bot.wording import appointment_at, appointment_words, money

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


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. 2026-11-27T18:32:40.123Z."""
    return iso_utc(datetime.now(UTC))


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label(status: str) -> str:
    """Human wording of a status: "en_route" -> "en route"."""
    return status.replace("_", " ")


# Every spelling of a status people use, the one table: the API, `qdn` and the
# dispatcher grammar (bot/conversation/dispatcher_grammar.py) read statuses by it,
# ignoring case. A space may be typed as spaces, "-" or nothing (and "_" outside
# texts): "en route", "EN-ROUTE", "enroute", "on my way", "done", "canceled".
# Dispatchers never text `scheduled`: a job starts there.
STATUS_WORDS = {
    "scheduled": ("scheduled",),
    "en_route": ("en route", "omw", "otw", "on my way", "on the way"),
    "arrived": ("arrived", "arrive", "here", "on site"),
    "complete": ("complete", "completed", "done", "finished"),
    "cancelled": ("cancelled", "canceled", "cancel"),
}
_SEPARATORS = re.compile(r"[\s_-]+")
# Keyed without case, spaces, "-" or "_".
_STATUS_SPELLINGS = {
    _SEPARATORS.sub("", word): status for status, spellings in STATUS_WORDS.items() for word in spellings
}
STATUS_CHOICES = "use scheduled, en route, arrived, complete or cancelled"


def parse_status(text: Any, field: str = "status") -> str:
    """The stored status for any usual spelling of it; ValidationError saying the choices in words."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, f"is required: {STATUS_CHOICES}")
    found = None if NOT_TEXT.search(text) else _STATUS_SPELLINGS.get(_SEPARATORS.sub("", text.lower()))
    if found is None:
        raise ValidationError(field, f"{quoted(text)} is not a status; {STATUS_CHOICES}")
    return found


def parse_statuses(text: str, field: str = "status") -> set[str]:
    """A comma-separated list of statuses ("en route, arrived"), each in any usual spelling."""
    return {parse_status(part, field) for part in text.split(",") if part.strip()}


# --- a create or PATCH body (each field's own checks: bot/job_fields.py) -----


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
            cleaned[field] = parse_scheduled_for(value, tz)
        elif field == "invoice_url":
            cleaned[field] = url_field(value)
        else:
            cleaned[field] = text_field(field, value, required=field in REQUIRED_FIELDS)
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


def check_transition(current: str, target: str) -> None:
    """Raise InvalidTransition, saying why, unless `current -> target` is allowed.

    Same-status is allowed here (it is a no-op or an ETA update, decided by `apply_status`).
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
class StatusChange:
    """The outcome of a status request: the job after it, and whether it changed (and so texts)."""

    job: dict[str, Any]
    changed: bool


def apply_status(
    job: dict[str, Any],
    target: str,
    *,
    by: str,
    now: str,
    eta_minutes: int | None = None,
    total: float | None = None,
) -> StatusChange:
    """Apply a status request to `job` (not mutated) per the SPEC's machine.

    Setting the status a job already has changes nothing -- except `en_route`
    with a different ETA, which records the new ETA and texts it.
    """
    current = job["status"]
    try:
        check_transition(current, target)
    except InvalidTransition as refused:
        raise InvalidTransition(f"{job['id']} {refused.message}") from None
    if eta_minutes is not None and target != "en_route":
        raise ValidationError("eta_minutes", "only applies to en_route")
    if total is not None and target != "complete":
        raise ValidationError("total", "only applies to complete")
    if current == "complete" and total is not None and total != job.get("total"):
        # A status change texts the customer; correcting the amount of a finished job
        # is an edit, which texts no one. Keeping the old total silently would lie.
        had = "no total" if job.get("total") is None else f"total {money(job['total'])}"
        raise InvalidTransition(
            f"{job['id']} is already complete ({had}); correct the total by editing the job "
            f"(PATCH /jobs/{job['id']}), which texts no one"
        )
    if current == target and not (target == "en_route" and eta_minutes not in (None, job["eta_minutes"])):
        return StatusChange(job, changed=False)

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
    return StatusChange(updated, changed=True)


def edit(job: dict[str, Any], cleaned: dict[str, Any], now: str) -> dict[str, Any]:
    """`job` with PATCH fields applied; required fields cannot be emptied."""
    for field in REQUIRED_FIELDS:
        if field in cleaned and cleaned[field] is None:
            raise ValidationError(field, "is required")
    updated = {**job, **cleaned}
    if updated != job:
        updated["updated_at"] = now
    return updated


def refuse_past_appointment(job: dict[str, Any], tz: tzinfo, now: str) -> None:
    """ValidationError naming `scheduled_for` when an open job is given a new appointment that has
    passed: a day before today (in `tz`), or a date-time before `now`. Its customer would be texted a
    time gone by, with no reminder to come. A job whose old appointment has passed keeps it through
    other edits (only a new one is checked), and a closed job's may be corrected to any day.
    """
    scheduled_for = job.get("scheduled_for")
    if not is_open(job) or scheduled_for is None:
        return
    moment, current = appointment_at(scheduled_for, tz), datetime.fromisoformat(now).astimezone(tz)
    day = scheduled_day(scheduled_for)
    if (moment is not None and moment < current) or (day is not None and day < current.date()):
        raise ValidationError(
            "scheduled_for",
            f"{quoted(scheduled_for)} has passed (it is {appointment_words(now, tz)} in {getattr(tz, 'key', tz)}); "
            "give an appointment from now on",
        )


def rescheduled(job: dict[str, Any], previous: dict[str, Any], *, by: str, now: str) -> dict[str, Any]:
    """`job` with its appointment change from `previous` recorded in `reschedules` (not mutated).

    Not in `history`: that list is the job's status changes (dashboards read the latest
    en-route entry's time as when its ETA was given), and a new appointment changes no status.
    """
    entry = {"at": now, "by": by, "from": previous.get("scheduled_for"), "to": job.get("scheduled_for")}
    return {**job, "reschedules": [*(job.get("reschedules") or ()), entry]}


def is_open(job: dict[str, Any]) -> bool:
    return job["status"] in OPEN_STATUSES
