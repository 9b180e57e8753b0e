"""How jobs, times, money and phones read in a text message."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

import phonenumbers

from bot.jobs import label, scheduled_day
from bot.messages import MAX_BODY_CHARS as MAX_SMS_CHARS


def first_name(job: dict[str, Any]) -> str:
    parts = (job.get("customer_name") or "").split()
    return parts[0] if parts else "Customer"


def short_name(job: dict[str, Any]) -> str:
    """ "Dana Whitfield" -> "Dana W." (enough for a dispatcher's one-line list)."""
    parts = (job.get("customer_name") or "").split()
    if len(parts) > 1:
        return f"{parts[0]} {parts[-1][0]}."
    return parts[0] if parts else "Customer"


def money(total: float) -> str:
    return f"${total:,.2f}"


@lru_cache(maxsize=1024)  # the business phone is formatted for nearly every reply
def phone_for_people(e164: str) -> str:
    """ "+15125550123" -> "(512) 555-0123"; other countries in international form."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 else None
    return phonenumbers.format_number(parsed, style or phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clock(moment: datetime, now: datetime) -> str:
    """ "2:45 PM" today, "Sat Nov 28 2:45 PM" on another day (both in `moment`'s zone)."""
    hour = moment.hour % 12 or 12
    time = f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    if moment.date() == now.astimezone(moment.tzinfo).date():
        return time
    return f"{moment:%a %b} {moment.day} {time}"


def eta_at(job: dict[str, Any], tz: tzinfo) -> datetime | None:
    """When the driver is expected: the latest en-route record's time plus its ETA minutes.

    The ETA minutes were counted from when the dispatcher sent them, so a
    customer asking later reads a clock time, not a stale "20 min".
    """
    if job.get("status") != "en_route" or job.get("eta_minutes") is None:
        return None
    for entry in reversed(job.get("history") or []):
        if entry.get("status") == "en_route":
            try:
                since = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
            except (KeyError, TypeError, ValueError):
                return None
            return (since + timedelta(minutes=job["eta_minutes"])).astimezone(tz)
    return None


def scheduled_at(job: dict[str, Any], tz: tzinfo) -> datetime | None:
    """The appointment's moment; None without one, or when it is a day with no time (not midnight)."""
    raw = job.get("scheduled_for")
    if not raw or scheduled_day(raw) is not None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(tz) if moment.tzinfo else moment.replace(tzinfo=tz)


def appointment(job: dict[str, Any], tz: tzinfo, now: datetime) -> str | None:
    """When the job is booked: "Sat Nov 28 9:00 AM" (the time alone today); a day with no time reads
    "Sat Dec 5" or "today", never as midnight."""
    day = scheduled_day(job.get("scheduled_for"))
    if day is not None:
        return "today" if day == now.astimezone(tz).date() else f"{day:%a %b} {day.day}"
    when = scheduled_at(job, tz)
    return None if when is None else clock(when, now)


def status_phrase(job: dict[str, Any], tz: tzinfo, now: datetime) -> str:
    """ "en route, ETA 2:45 PM", "scheduled for Sat Nov 28 9:00 AM", "complete"."""
    status = label(job["status"])
    eta = eta_at(job, tz)
    if eta is not None:
        return f"{status}, ETA {clock(eta, now)}"
    if job.get("eta_minutes") is not None:
        return f"{status}, ETA {job['eta_minutes']} min"
    when = appointment(job, tz, now)
    if job["status"] == "scheduled" and when is not None:
        return f"{status} for {when}"
    return status


def fit(text: str, limit: int = MAX_SMS_CHARS) -> str:
    """`text` cut to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
