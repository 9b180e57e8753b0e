"""Review requests: a loop beside the text worker that queues each request once (bot/reviews.py).

It runs as the reminder loop does (sender/reminders.py: its start, stop and
pauses), over other due rows: the store's `due_reviews`, claimed inside the
store's job write, re-checked by bot.reviews.take, so a restart, a second
process or a clock jump queues each request once. Quiet hours are the
reminders' own check (`ReminderPolicy.held_until`, where the customer is).

Once per phone per REVIEW_INTERVAL_DAYS is kept in the phone's state
(`review_sent_at`, `review_job`), reserved atomically before the job's
claim: of two jobs of one phone due in two processes, one wins the phone.
A reservation whose job is then not sent (it was cancelled in between) is
the rare cost of never asking twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import reviews
from bot.jobs import iso_utc
from bot.notifications import Notifier
from bot.reviews import ReviewPolicy
from bot.templates import REVIEW
from sender.clock import Clock, utc_now
from sender.reminders import BATCH, Reminders
from store import Job, JobWrite, Store

log = logging.getLogger("qdn.reviews")


class ReviewRequests(Reminders):
    """Queues due review requests; `run_once()` for one pass, or `start()` / `stop()` for the loop."""

    name = "reviews"

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        policy: ReviewPolicy,
        *,
        now: Clock = utc_now,
        poll_seconds: float = 60.0,
    ) -> None:
        super().__init__(store, notifier, policy.reminders, now=now, poll_seconds=poll_seconds)
        self.reviews = policy

    async def run_once(self) -> int:
        """Queue the requests due now (up to BATCH); how many jobs were settled (queued or dropped, not held)."""
        now = self.now()
        settled = 0
        for job in await self.store.due_reviews(iso_utc(now), BATCH):
            settled += await self._ask(job, now)
        return settled

    async def _texted_since(self, phone: str, since: str | None) -> bool:
        """Whether the customer texted after the completion (a person should answer that first)."""
        return any(
            message["direction"] == "inbound" and (since is None or message["created_at"] > since)
            for message in await self.store.phone_messages(phone)
        )

    async def _phone_taken(self, job: Job, now: datetime) -> bool:
        """Reserve the phone's one request per interval for this job; whether another job holds it."""
        phone, job_id, stamp = job["customer_phone"], job["id"], iso_utc(now)
        if self.reviews.recently_asked(await self.store.get_phone(phone), job_id, now):
            return True
        state = await self.store.update_phone(
            phone,
            lambda current: (
                current if self.reviews.recently_asked(current, job_id, now) else reviews.asked(current, job_id, stamp)
            ),
        )
        return self.reviews.recently_asked(state, job_id, now)

    async def _ask(self, job: Job, now: datetime) -> int:
        phone = job["customer_phone"]
        stamp = iso_utc(now)
        why = None
        if await self.store.is_opted_out(phone):
            why = "opted out"
        elif await self._texted_since(phone, job.get("review_completed_at")):
            why = "the customer texted since completion"
        verdicts = []
        sending = why is None and reviews.take(job, now, self.reviews, texted_since=False) == "send"
        if sending and await self._phone_taken(job, now):
            why = f"asked within {self.reviews.interval_days} days"

        def change(current: Job) -> JobWrite:
            verdict = reviews.take(current, now, self.reviews, texted_since=why is not None)
            verdicts.append(verdict)
            if verdict is None:  # another sender took it
                return JobWrite(current, [], changed=False)
            if verdict == "hold":  # quiet hours where the customer is: due again when they end
                return JobWrite(reviews.held(current, now, self.reviews))
            if verdict == "drop":
                return JobWrite(reviews.settled(current, None))
            sent = reviews.settled(current, stamp)
            return JobWrite(sent, [self.notifier.row(sent, now=stamp, opted_out=False, template=REVIEW)])

        await self.store.update_job(job["id"], change)
        verdict = verdicts[-1]
        if verdict == "drop":
            log.info("job %s: review request dropped (%s)", job["id"], why or "no longer complete, or requests off")
        elif verdict == "hold":
            log.info("job %s: review request held for the customer's quiet hours", job["id"])
        elif verdict == "send":
            log.info("job %s: review request queued", job["id"])
        return int(verdict in ("send", "drop"))  # a held one waits: nothing settled

    async def _next_due(self) -> str | None:
        return await self.store.next_review_at()


def reviews_for(store: Store, notifier: Notifier, policy: ReviewPolicy) -> ReviewRequests | None:
    """The review-request loop for these settings, or None when REVIEW_URL is empty (requests off)."""
    return ReviewRequests(store, notifier, policy) if policy.url is not None else None
