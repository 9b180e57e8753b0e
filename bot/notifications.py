"""The texts a job's creation, status change, new appointment or reminder sends, from its template.

This module turns a job into placeholder values (first name, ETA as minutes
and local clock time, total as money, the appointment, ...) and renders the
template that `bot.templates` picks for the job's service type and status
(or `rescheduled` / `reminder`); `Notifier` makes the queue row of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.confirmations import CONFIRM_HINT
from bot.messages import outbound_message
from bot.templates import Templates
from bot.wording import appointment_words, clock, first_name, money, phone_for_people


@dataclass(frozen=True)
class Business:
    """The facts about the business a status text needs (from settings)."""

    name: str
    phone: str | None  # E.164, or None when BUSINESS_PHONE is not set
    timezone: ZoneInfo
    review_url: str | None = None  # REVIEW_URL, for the `review` text


def placeholder_values(job: dict[str, Any], business: Business, tracking_url: str, now: str) -> dict[str, str | None]:
    """Every template placeholder for `job`; None where this job has no value.

    `now` is when the status changed (ISO 8601): the ETA clock time counts
    from then, not from whenever a retry finally sends the text.
    """
    eta = job.get("eta_minutes")
    total = job.get("total")
    eta_time = None
    if eta is not None:
        eta_time = clock((datetime.fromisoformat(now) + timedelta(minutes=eta)).astimezone(business.timezone))
    return {
        "business_name": business.name,
        "business_phone": phone_for_people(business.phone) if business.phone else None,
        "first_name": first_name(job["customer_name"]),
        "job_id": str(job["id"]),
        "service": job["service_type"],
        "tracking_url": tracking_url,
        "eta_minutes": None if eta is None else str(eta),
        "eta_time": eta_time,
        "total": None if total is None else money(total),
        "invoice_url": job.get("invoice_url"),
        "when": appointment_words(job.get("scheduled_for"), business.timezone),
        "review_url": business.review_url,
        "confirm_hint": CONFIRM_HINT,
    }


def notification_text(
    job: dict[str, Any],
    templates: Templates,
    business: Business,
    tracking_url: str,
    now: str,
    template: str | None = None,
) -> str:
    """The text for `job`: its current status's, or `template`'s (bot.templates.TEXTS) when given."""
    values = placeholder_values(job, business, tracking_url, now)
    return templates.render(job["service_type"], template or job["status"], values)


class BusinessSettings(Protocol):
    """What a notifier needs of a business's settings (config.settings.Settings has all of it)."""

    @property
    def business_name(self) -> str: ...
    @property
    def business_phone(self) -> str | None: ...
    @property
    def timezone(self) -> ZoneInfo: ...
    @property
    def sender_address(self) -> str: ...
    @property
    def review_url(self) -> str | None: ...
    def tracking_url(self, token: str) -> str: ...


@dataclass(frozen=True)
class Notifier:
    """Makes the queued texts about jobs for one business.

    Built once per business's settings and wording (`for_business`): by handlers/services.py's
    Services for the web, by sender/__main__.py for `qdn send`'s reminders.
    """

    templates: Templates
    business: Business
    tracking_url: Callable[[str], str]  # token -> public tracking link
    sender: str  # what the rows record as `from`

    @classmethod
    def for_business(cls, settings: BusinessSettings, templates: Templates) -> Notifier:
        """The notifier of the business `settings` describe, in `templates`' wording."""
        business = Business(settings.business_name, settings.business_phone, settings.timezone, settings.review_url)
        return cls(templates, business, settings.tracking_url, settings.sender_address)

    def row(self, job: dict[str, Any], *, now: str, opted_out: bool, template: str | None = None) -> dict[str, Any]:
        """The `notification` row for `job` (`skipped` with the reason if its customer opted out)."""
        body = notification_text(job, self.templates, self.business, self.tracking_url(job["token"]), now, template)
        return outbound_message(
            kind="notification",
            to=job["customer_phone"],
            body=body,
            sender=self.sender,
            now=now,
            opted_out=opted_out,
            job_id=job["id"],
        )
