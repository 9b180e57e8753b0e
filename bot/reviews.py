"""Review requests as pure rules: when one is due, whether it still goes, and the settings' checks.

With REVIEW_URL set, a completed job's customer gets one text the day after
completion at REVIEW_HOUR in the customer's local time, held by quiet hours
exactly as reminders are: the zone and the quiet-hours check are the
reminders' own (`ReminderPolicy`), so one rule decides both.

Like reminders, the request is a due row on the job (`review_due_at`, UTC),
written when the job is completed (`schedule`) and claimed inside the store's
job write (`take`): a restart, a second process or a clock jump sends it once.
It is never sent for a job that is no longer `complete` (cancelled), to an
opted-out phone, to a phone that got one within REVIEW_INTERVAL_DAYS, or when
the customer has texted since completion (a person should answer first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.jobs import iso_utc
from bot.reminders import ReminderPolicy

Take = Literal["send", "drop", "hold"]
COMPLETE = "complete"
URL_LIMIT = 200  # with the longest names the text stays within two GSM-7 segments
MAX_INTERVAL_DAYS = 3650
# Printable ASCII but space and backquote: what a texted link can hold and stay GSM-7 and one word.
URL_CHARS = "!-_a-~"  # as a regular expression's character class (web/openapi_admin.py)
_URL_CHARS = frozenset(chr(code) for code in range(0x21, 0x7F)) - {"`"}


def parse_url(text: str) -> str | None:
    """REVIEW_URL: "" -> None (review requests off); an http(s) link; ValueError saying what is wrong."""
    text = text.strip()
    if not text:
        return None
    if len(text) > URL_LIMIT:
        raise ValueError(f"must be at most {URL_LIMIT} characters (the text must fit two segments)")
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable or not set(text) <= _URL_CHARS:
        raise ValueError(f"{text!r} is not an http(s) link without spaces, e.g. https://g.page/r/your-business/review")
    return text


def parse_hour(text: str) -> int:
    """REVIEW_HOUR: "10" -> 10; ValueError saying what is wrong (review requests are off by REVIEW_URL)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 23:
        raise ValueError(f"{text!r} is not an hour from 0 to 23 (10 is 10 AM)")
    return int(text)


def parse_interval(text: str) -> int:
    """REVIEW_INTERVAL_DAYS: "90" -> 90 (0: no limit per phone); ValueError saying what is wrong."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_INTERVAL_DAYS:
        raise ValueError(f"{text!r} is not a whole number of days from 0 to {MAX_INTERVAL_DAYS}")
    return int(text)


@dataclass(frozen=True)
class ReviewPolicy:
    """REVIEW_URL, REVIEW_HOUR, REVIEW_INTERVAL_DAYS, over the reminders' zone and quiet hours."""

    url: str | None  # None: no review requests
    hour: int
    interval_days: int
    reminders: ReminderPolicy  # the one quiet-hours check (and zone) reminders use

    def held_until(self, phone: str, now: datetime) -> datetime | None:
        """The reminders' own check: None when a request to `phone` may go at `now`, else when it may."""
        return self.reminders.held_until(phone, now)

    def due_at(self, completed_at: datetime) -> datetime | None:
        """When the request for a job completed at `completed_at` is due (UTC); None when they are off."""
        if self.url is None:
            return None
        zone = self.reminders.timezone
        # The wall-clock hour of the next local day: across a DST change that is 23 or 25 hours on.
        day = completed_at.astimezone(zone).date() + timedelta(days=1)
        due = datetime.combine(day, time(self.hour), tzinfo=zone).astimezone(UTC)
        return self.reminders.quiet_over(due)

    def recently_asked(self, state: Mapping[str, Any], job_id: int, now: datetime) -> bool:
        """Whether the phone (its state) got a request for another job within the interval."""
        asked = state.get("review_sent_at")
        if asked is None or state.get("review_job") == job_id:
            return False
        return now - datetime.fromisoformat(asked) < timedelta(days=self.interval_days)


def schedule(job: dict[str, Any], policy: ReviewPolicy, completed_at: str) -> dict[str, Any]:
    """`job` after a status change at `completed_at`: with `review_due_at` when it was just completed."""
    if job["status"] != COMPLETE:
        return {**job, "review_due_at": None} if job.get("review_due_at") else job
    if job.get("review_due_at") or job.get("review_completed_at"):
        return job  # one request per job, whatever happens after
    due = policy.due_at(datetime.fromisoformat(completed_at))
    if due is None:
        return job
    return {**job, "review_due_at": iso_utc(due), "review_completed_at": completed_at}


def take(job: Mapping[str, Any], now: datetime, policy: ReviewPolicy, *, texted_since: bool) -> Take | None:
    """What to do with a job the store said has a review request due, decided inside the store's write.

    None to leave it (not due, or taken by another sender); "drop" when it must never go (the job is
    no longer complete, requests were turned off, or the customer texted since completion); "hold"
    during quiet hours where the customer is (`held` moves it to when they end); else "send".
    """
    due = job.get("review_due_at")
    if due is None or datetime.fromisoformat(due) > now:
        return None
    if job["status"] != COMPLETE or policy.url is None or texted_since:
        return "drop"
    if policy.held_until(job["customer_phone"], now) is not None:
        return "hold"
    return "send"


def held(job: Mapping[str, Any], now: datetime, policy: ReviewPolicy) -> dict[str, Any]:
    """`job` with its request waiting out the customer's quiet hours: due again when they end."""
    until = policy.held_until(job["customer_phone"], now) or now
    return {**job, "review_due_at": iso_utc(until)}


def settled(job: Mapping[str, Any], sent_at: str | None) -> dict[str, Any]:
    """`job` once its request is sent (`review_sent_at`) or dropped (None)."""
    return {**job, "review_due_at": None, "review_sent_at": sent_at}


def asked(state: Mapping[str, Any], job_id: int, now: str) -> dict[str, Any]:
    """A phone's state once a request for `job_id` is (about to be) sent: the interval counts from `now`."""
    return {**state, "review_sent_at": now, "review_job": job_id}
