"""How money, phones, names and times read wherever people read them: texts, the tracking page, `qdn`.

Pure: no I/O, no settings. Callers choose the zone (the business's
TIMEZONE); a moment is shown in the zone it carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

import phonenumbers

from bot.job_fields import scheduled_day

NO_NAME = "Customer"  # what a job with no usable name is called


def money(amount: float) -> str:
    """USD as people write it: 1200 -> "$1,200.00"."""
    return f"${amount:,.2f}"


@lru_cache(maxsize=1024)  # the business phone is formatted for nearly every reply
def phone_for_people(e164: str) -> str:
    """A phone as people dial it: "+15125550123" -> "(512) 555-0123".

    North American numbers (+1) in national form; others in international
    form ("+44 20 7183 8750"); what does not parse, as given.
    """
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 else None
    return phonenumbers.format_number(parsed, style or phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def first_name(full_name: str | None) -> str:
    """ "Dana Whitfield" -> "Dana"; "Customer" for a name with no words."""
    parts = (full_name or "").split()
    return parts[0] if parts else NO_NAME


def short_name(full_name: str | None) -> str:
    """ "Dana Whitfield" -> "Dana W." (enough for a dispatcher's one-line list)."""
    parts = (full_name or "").split()
    if len(parts) > 1:
        return f"{parts[0]} {parts[-1][0]}."
    return parts[0] if parts else NO_NAME


def clock(moment: datetime, now: datetime | None = None) -> str:
    """ "2:45 PM" in `moment`'s own zone (no leading zero, portable unlike %-I).

    Given `now`, a moment on another day than `now` (in `moment`'s zone)
    reads with its day, as SPEC writes an appointment in a text: "Sat Nov 28, 2:45 PM".
    """
    hour = moment.hour % 12 or 12
    time = f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    if now is None or moment.date() == now.astimezone(moment.tzinfo).date():
        return time
    return f"{day_words(moment.date())}, {time}"


def eta_at(job: Mapping[str, Any], tz: tzinfo) -> datetime | None:
    """When the crew is expected, in `tz`: the latest en-route entry's time plus its ETA minutes.

    Works on a job and on its public view alike (both carry `status`,
    `eta_minutes` and `history`). The minutes were counted from when the
    dispatcher sent them, so someone looking later reads a clock time, not a
    stale "20 min". None unless the job is en route with an ETA.
    """
    if job.get("status") != "en_route" or job.get("eta_minutes") is None:
        return None
    for entry in reversed(job.get("history") or []):
        if entry.get("status") == "en_route":
            try:
                since = datetime.fromisoformat(entry["at"])
            except (KeyError, TypeError, ValueError):
                return None
            return (since + timedelta(minutes=job["eta_minutes"])).astimezone(tz)
    return None


# -- the appointment (`scheduled_for`: a date, or a date-time with its offset) -----------------


def appointment_at(scheduled_for: str | None, tz: tzinfo) -> datetime | None:
    """The appointment's moment in `tz`; None without one, or for a day with no time (never midnight)."""
    if not scheduled_for or scheduled_day(scheduled_for) is not None:
        return None
    try:
        moment = datetime.fromisoformat(scheduled_for)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(tz) if moment.tzinfo else moment.replace(tzinfo=tz)


def appointment_day(scheduled_for: str | None, tz: tzinfo) -> date | None:
    """The local day of the appointment, with or without a time; None without one."""
    moment = appointment_at(scheduled_for, tz)
    return moment.date() if moment is not None else scheduled_day(scheduled_for)


@lru_cache(maxsize=1024)  # strftime costs ~3 us; texts name the same few days (appointments, ETAs) over and over
def day_words(day: date) -> str:
    """ "Sat Dec 5": how people write a day in a text (no leading zero, no year)."""
    return f"{day:%a %b} {day.day}"


def appointment_words(scheduled_for: str | None, tz: tzinfo) -> str | None:
    """The appointment as people say it, in `tz`: "Sat Dec 5, 9:00 AM", or "Sat Dec 5" for a day
    with no time; None without one. What `{when}` says in texts, and the page and `qdn` show."""
    moment = appointment_at(scheduled_for, tz)
    if moment is not None:
        return f"{day_words(moment.date())}, {clock(moment)}"
    day = scheduled_day(scheduled_for)
    return None if day is None else day_words(day)


def reschedule_words(entry: Mapping[str, Any], tz: tzinfo) -> str:
    """A change of appointment (a job's `reschedules` entry) as people say it, in `tz`:
    "rescheduled from Sat Dec 5, 9:00 AM to Wed Dec 9, 2:00 PM"; "appointment set for ..." when
    there was none; "appointment cleared (was ...)" when there is none now."""
    before, after = appointment_words(entry.get("from"), tz), appointment_words(entry.get("to"), tz)
    if after is None:
        return f"appointment cleared (was {before})" if before else "appointment cleared"
    return f"rescheduled from {before} to {after}" if before else f"appointment set for {after}"
