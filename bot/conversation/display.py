"""How a job's appointment and status read in a text message (money, phones and clock times: bot.wording)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from bot.job_fields import scheduled_day
from bot.jobs import label
from bot.messages import MAX_BODY_CHARS as MAX_SMS_CHARS
from bot.wording import appointment_at, clock, day_words, eta_at


def appointment(job: dict[str, Any], tz: tzinfo, now: datetime) -> str | None:
    """When the job is booked: "Sat Nov 28, 9:00 AM" (the time alone today); a day with no time reads
    "Sat Dec 5" or "today", never as midnight."""
    day = scheduled_day(job.get("scheduled_for"))
    if day is not None:
        return "today" if day == now.astimezone(tz).date() else day_words(day)
    when = appointment_at(job.get("scheduled_for"), tz)
    return None if when is None else clock(when, now)


def status_phrase(job: dict[str, Any], tz: tzinfo, now: datetime) -> str:
    """ "en route, ETA 2:45 PM", "scheduled for Sat Nov 28, 9:00 AM", "complete"."""
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
    """`text` cut to `limit` characters, marking the cut (nothing at all when there is no room)."""
    if len(text) <= limit:
        return text
    if limit <= 3:
        return ""
    return text[: limit - 3].rstrip() + "..."
