"""Which of a customer's open jobs their text is about (SPEC "Which job a text is about").

A customer with several open jobs means the one under way: `arrived`, then `en_route`; else the
`scheduled` one whose appointment is nearest from now (today before tomorrow; one with no
appointment last); else the newest. Relays, acknowledgements, pictures, STATUS's order and the
inbox all take it from here, so they never disagree about which job a text went under.

Pure: the jobs, the moment and the business's time zone in; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from bot.wording import appointment_at, appointment_day

Job = Mapping[str, Any]
J = TypeVar("J", bound=Job)

# Under way first: a crew on site, then one on its way, then the booked ones; anything else last.
_STATUS_RANK = {"arrived": 0, "en_route": 1, "scheduled": 2}
_OTHER_STATUS = len(_STATUS_RANK)
_NO_APPOINTMENT = (1, 0, 0, 0, timedelta(0))  # after every appointment, however far


def _appointment_rank(job: Job, now: datetime, tz: tzinfo) -> tuple[int, int, int, int, timedelta]:
    """How near the job's appointment is to `now`, smaller is nearer.

    Days are the business's (`tz`), so near midnight "today" is the business's today, not UTC's.
    - Today's appointments first -- one earlier today that is still open is late, not over.
    - Then by how many days away, either way: yesterday's still-open job is as near as tomorrow's,
      and at the same distance the coming one wins (an open job from last week is more often one
      nobody closed than the one meant).
    - On the same day, one with a time before one that is only a date (a time says more about
      what the customer expects), and between times the one nearest `now`, before or after.
    - No appointment (or one that cannot be read): after all of these.
    """
    scheduled_for = job.get("scheduled_for")
    if not isinstance(scheduled_for, str):
        return _NO_APPOINTMENT
    day = appointment_day(scheduled_for, tz)
    if day is None:
        return _NO_APPOINTMENT
    days = (day - now.astimezone(tz).date()).days
    moment = appointment_at(scheduled_for, tz)
    if moment is None:  # a date without a time: that whole day
        return (0, abs(days), 0 if days >= 0 else 1, 1, timedelta(0))
    return (0, abs(days), 0 if days >= 0 else 1, 0, abs(moment - now))


def _rank(job: Job, now: datetime, tz: tzinfo) -> tuple[Any, ...]:
    status = _STATUS_RANK.get(job.get("status", ""), _OTHER_STATUS)
    appointment = _appointment_rank(job, now, tz) if status == _STATUS_RANK["scheduled"] else _NO_APPOINTMENT
    newest = -_job_number(job)  # the last resort, and every tie: the newest (ids come from a sequence)
    return (status, appointment, newest)


def _job_number(job: Job) -> int:
    job_id = job.get("id")
    return job_id if isinstance(job_id, int) else 0


def in_order(jobs: Iterable[J], now: datetime, tz: tzinfo) -> list[J]:
    """`jobs` (a customer's open jobs) in the order a text means them: the first is the one meant.

    `now` is timezone-aware; `tz` is the business's time zone (TIMEZONE), which says where one day
    ends for a date-only appointment ("2026-12-05" is that whole day there) and for "today".
    """
    return sorted(jobs, key=lambda job: _rank(job, now, tz))


def job_meant(jobs: Iterable[J], now: datetime, tz: tzinfo) -> J | None:
    """The job a text from a customer with these open `jobs` is about; None without any."""
    ordered = in_order(jobs, now, tz)
    return ordered[0] if ordered else None
