"""What handlers share at run time, and the job actions both the API and SMS use.

Dispatcher texts and `POST /jobs/{id}/status` move jobs through the very
same `change_status`, so both follow one set of rules and text once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import jobs
from bot.messages import outbound_message
from bot.notifications import Business, notification_text
from bot.templates import Templates, builtin_templates
from bot.tokens import new_token
from store import Job, JobWrite, Store
from store.settings import Settings


@dataclass
class Services:
    settings: Settings
    # Every write that queues a text wakes the senders itself (Store.wait_for_work).
    store: Store
    # The status-text wording in force (create_app loads TEMPLATES_PATH over the built-ins).
    templates: Templates = field(default_factory=builtin_templates)

    @property
    def from_address(self) -> str:
        """What outbound rows record as `from` (a number, a Messaging Service SID, or "console")."""
        s = self.settings
        return s.twilio_from_number or s.twilio_messaging_service_sid or s.business_phone or "console"

    def notification(self, job: Job, opted_out: bool, now: str) -> dict[str, Any]:
        """The queued status text for `job` in its current status (the one place that builds it)."""
        s = self.settings
        business = Business(s.business_name, s.business_phone, s.timezone)
        body = notification_text(job, self.templates, business, s.tracking_url(job["token"]), now)
        return outbound_message(
            kind="notification",
            to=job["customer_phone"],
            body=body,
            sender=self.from_address,
            now=now,
            opted_out=opted_out,
            job_id=job["id"],
        )

    async def create_job(self, fields: dict[str, Any]) -> JobWrite:
        """Store a new scheduled job and queue its confirmation text, in one write."""
        opted_out = await self.store.is_opted_out(fields["customer_phone"])
        now = jobs.utc_now()

        def build(job_id: int) -> JobWrite:
            job = jobs.new_job(job_id, new_token(), fields, now)
            return JobWrite(job, [self.notification(job, opted_out, now)])

        return await self.store.create_job(build)

    async def change_status(
        self,
        job_id: int,
        status: str,
        *,
        by: str,
        eta_minutes: int | None = None,
        total: float | None = None,
        now: str | None = None,
    ) -> JobWrite:
        """Set a job's status (InvalidTransition says why not) and queue the customer's text with it.

        `now` (ISO UTC, default the current time) stamps the history entry and the text.
        """
        job = await self.store.get_job(job_id)
        opted_out = await self.store.is_opted_out(job["customer_phone"])
        now = now or jobs.utc_now()

        def change(current: Job) -> JobWrite:
            applied = jobs.apply_status(current, status, by=by, now=now, eta_minutes=eta_minutes, total=total)
            if not applied.changed:
                return JobWrite(current, [], changed=False)
            return JobWrite(applied.job, [self.notification(applied.job, opted_out, now)])

        return await self.store.update_job(job_id, change)

    async def text_customer(self, job_id: int, body: str, *, kind: str = "relay") -> dict[str, Any]:
        """Queue a free text to the job's customer; `skipped` with the reason if they opted out."""
        job = await self.store.get_job(job_id)
        return await self.queue_text(job["customer_phone"], body, kind=kind, job_id=job_id)

    async def text_row(self, to: str, body: str, *, kind: str, job_id: int | None = None) -> dict[str, Any]:
        """The queue row for a text to any phone (`skipped` with the reason if it opted out), not yet stored."""
        return outbound_message(
            kind=kind,
            to=to,
            body=body,
            sender=self.from_address,
            now=jobs.utc_now(),
            opted_out=await self.store.is_opted_out(to),
            job_id=job_id,
        )

    async def queue_text(self, to: str, body: str, *, kind: str, job_id: int | None = None) -> dict[str, Any]:
        """Queue a text to any phone, logged in job `job_id`'s conversation when given, else the phone's."""
        return await self.store.add_message(await self.text_row(to, body, kind=kind, job_id=job_id))


def services(request: Any) -> Services:
    """The Services of the running app (set up in the lifespan)."""
    return request.state.services
