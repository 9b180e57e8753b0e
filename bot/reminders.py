"""Day-before reminders as pure rules: when one is due, whether it still is, quiet hours.

A reminder goes out the day before the appointment at REMINDER_HOUR in the
business's zone, never during quiet hours where the customer is
(bot/quiet_hours.py: one due then waits for the morning), once per appointment, and only while the job is `scheduled`.

Reminders are due rows in the store, not timers in memory. Whenever an
appointment is set (a job booked, its `scheduled_for` changed), `schedule`
writes on the job when its reminder is due (`reminder_due_at`, UTC). An
appointment set after that moment gets none: the booking or rescheduled
text the customer just got says when. sender/reminders.py claims due ones
inside the store's job write (`take`): the reminder text, `reminder_due_at`
cleared and `reminder_for` (the appointment it was for) land together, so
a restart, a second process or a clock jump sends each one once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from bot.job_fields import scheduled_day
from bot.jobs import iso_utc
from bot.quiet_hours import QuietHours, held_until, held_words
from bot.wording import appointment_at, appointment_day

Take = Literal["send", "drop", "hold"]
__all__ = ["QuietHours", "ReminderPolicy", "Take", "parse_hour", "schedule", "settled", "take"]


def parse_hour(text: str) -> int | None:
    """REMINDER_HOUR: "17" -> 17; "" -> None (no reminders); ValueError saying what is wrong."""
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) > 23:
        raise ValueError(f"{text!r} is not an hour from 0 to 23 (17 is 5 PM)")
    return int(text)


def same_appointment(a: str | None, b: str | None) -> bool:
    """Whether two `scheduled_for` values name the same appointment (one moment in two offsets is one)."""
    if a == b:
        return True
    moment_a, moment_b = appointment_at(a, UTC), appointment_at(b, UTC)
    return moment_a is not None and moment_a == moment_b


def too_late(scheduled_for: str | None, now: datetime, tz: tzinfo) -> bool:
    """Whether a reminder would come too late: the appointment has begun (a day with no time: it is over)."""
    moment = appointment_at(scheduled_for, tz)
    if moment is not None:
        return now >= moment
    day = scheduled_day(scheduled_for)
    return day is not None and now >= datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


@dataclass(frozen=True)
class ReminderPolicy:
    """REMINDER_HOUR, QUIET_HOURS, STATE_QUIET_HOURS and TIMEZONE: when reminders go out."""

    hour: int | None  # None: no reminders
    quiet: QuietHours | None
    timezone: tzinfo
    state_hours: bool = True  # STATE_QUIET_HOURS: the customer's state's calling hours apply too

    def held_until(self, phone: str, now: datetime) -> datetime | None:
        """None when an automated text to `phone` may go at `now`, else when it may (the customer's local time).

        The one check every automated, non-urgent text asks (reminders; review requests follow this path)."""
        return held_until(phone, now, self.timezone, self.quiet, self.state_hours)

    def quiet_over(self, now: datetime) -> datetime:
        """`now`, or when the quiet hours `now` falls in end (UTC)."""
        if self.quiet is None:
            return now
        return self.quiet.over(now.astimezone(self.timezone)).astimezone(UTC)

    def due_at(self, scheduled_for: str | None, set_at: datetime) -> datetime | None:
        """When the reminder of an appointment set at `set_at` is due (UTC); None if it gets none."""
        day = appointment_day(scheduled_for, self.timezone)
        if self.hour is None or day is None:
            return None
        # The wall-clock hour of the day before, in the business's zone: across a DST change
        # that is 23 or 25 hours before the same hour of the appointment's day, not 24.
        eve = datetime.combine(day - timedelta(days=1), time(self.hour), tzinfo=self.timezone)
        due = self.quiet_over(eve.astimezone(UTC))
        if due <= set_at or too_late(scheduled_for, due, self.timezone):
            return None
        return due


def schedule(job: dict[str, Any], policy: ReminderPolicy, set_at: str) -> dict[str, Any]:
    """`job`, whose appointment was set at `set_at`, with `reminder_due_at` for that appointment.

    None when there is nothing to remind of: no appointment, reminders off,
    a job no longer `scheduled`, an appointment set after its reminder
    moment, or one already reminded of (`reminder_for`).
    """
    due = None
    scheduled_for = job.get("scheduled_for")
    if job["status"] == "scheduled" and not same_appointment(scheduled_for, job.get("reminder_for")):
        due = policy.due_at(scheduled_for, datetime.fromisoformat(set_at))
    return {**job, "reminder_due_at": None if due is None else iso_utc(due), "reminder_held": None}


def take(job: dict[str, Any], now: datetime, policy: ReminderPolicy) -> Take | None:
    """What to do with a job the store said has a reminder due, decided inside the store's write.

    "send" it; "drop" it (the job is no longer `scheduled`, or its appointment
    has begun, e.g. after a clock jump or days of downtime); "hold" it (quiet
    hours where the customer is: `held` moves it to when they end); None to
    leave it (not due: another sender took it, or the appointment moved later).
    """
    due = job.get("reminder_due_at")
    if due is None or datetime.fromisoformat(due) > now:
        return None
    if job["status"] != "scheduled" or too_late(job.get("scheduled_for"), now, policy.timezone):
        return "drop"
    if policy.held_until(job["customer_phone"], now) is not None:
        return "hold"
    return "send"


def held(job: dict[str, Any], now: datetime, policy: ReminderPolicy) -> dict[str, Any]:
    """`job` with its reminder waiting out the customer's quiet hours: due when they end, and saying so.

    `reminder_held` is what the job's JSON, `qdn jobs show` and `qdn log --job` show:
    {"until": ISO UTC, "outcome": "held until 8:00 AM CST"} (the customer's clock)."""
    until = policy.held_until(job["customer_phone"], now) or now
    outcome = held_words(until, job["customer_phone"], policy.timezone)
    return {**job, "reminder_due_at": iso_utc(until), "reminder_held": {"until": iso_utc(until), "outcome": outcome}}


def settled(job: dict[str, Any], sent: bool) -> dict[str, Any]:
    """`job` once its reminder is sent (`reminder_for` names the appointment) or dropped."""
    updated = {**job, "reminder_due_at": None, "reminder_held": None}
    if sent:
        updated["reminder_for"] = job.get("scheduled_for")
    return updated
