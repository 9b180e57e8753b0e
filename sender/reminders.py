"""Day-before reminders: a loop beside the text worker that queues each reminder once.

It only queues: a reminder is a `notification` row in the send queue, which
the text worker (sender/worker.py) sends like any other text. What is due
lives in the store (`Store.due_reminders`, rows written by bot.reminders.schedule
when an appointment is set), not in this loop's memory, and the claim is the
store's atomic job write, re-checked by bot.reminders.take: a restart, a
second process or a clock jump queues each reminder once.

A reminder due in the customer's quiet hours (bot/quiet_hours.py) is held:
its due moment moves to when they end. It wakes when the next reminder is due, and at
least every `poll_seconds`, since a job booked meanwhile may be due sooner.
Runs wherever the text worker runs (`qdn serve`, or `qdn send`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from bot import confirmations, reminders
from bot.jobs import iso_utc
from bot.notifications import Notifier
from bot.quiet_hours import held_words
from bot.reminders import ReminderPolicy
from bot.templates import REMINDER
from sender.clock import Clock, utc_now
from sender.loop import run_loop
from store import Job, JobWrite, Store

log = logging.getLogger("qdn.reminders")

BATCH = 50  # jobs claimed per store call; a full batch is followed by the next at once


class Reminders:
    """Queues due reminders; `run_once()` for one pass, or `start()` / `stop()` for the loop."""

    name = "reminders"  # the loop's name, in its task and its log lines

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        policy: ReminderPolicy,
        *,
        now: Clock = utc_now,
        poll_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.policy = policy
        self.now = now
        self.poll_seconds = poll_seconds
        self._stopped = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Queue the reminders due now (up to BATCH); how many jobs were settled (queued or dropped, not held)."""
        now = self.now()
        settled = 0
        for job in await self.store.due_reminders(iso_utc(now), BATCH):
            settled += await self._remind(job, now)
        return settled

    async def _remind(self, job: Job, now: datetime) -> int:
        opted_out = await self.store.is_opted_out(job["customer_phone"])
        stamp = iso_utc(now)
        verdicts = []

        def change(current: Job) -> JobWrite:
            verdict = reminders.take(current, now, self.policy)
            verdicts.append(verdict)
            if verdict is None:  # another sender took it, or the appointment moved meanwhile
                return JobWrite(current, [], changed=False)
            if verdict == "drop":
                return JobWrite(reminders.settled(current, sent=False))
            if verdict == "hold":  # quiet hours where the customer is: due again when they end
                return JobWrite(reminders.held(current, now, self.policy))
            # The reminder asks the customer to confirm (bot/confirmations.py): a C within 48 hours confirms.
            sent = confirmations.asked(reminders.settled(current, sent=True), stamp)
            return JobWrite(sent, [self.notifier.row(sent, now=stamp, opted_out=opted_out, template=REMINDER)])

        await self.store.update_job(job["id"], change)
        verdict = verdicts[-1]
        if verdict == "drop":
            log.info("job %s: reminder dropped (no longer scheduled, or the appointment has begun)", job["id"])
        elif verdict == "hold":
            log.info("job %s: reminder %s", job["id"], self._held_words(job))
        elif verdict == "send":
            log.info("job %s: reminder queued%s", job["id"], " (skipped: opted out)" if opted_out else "")
        return int(verdict in ("send", "drop"))  # a held one waits: nothing settled

    def _held_words(self, job: Job) -> str:
        until = self.policy.held_until(job["customer_phone"], self.now()) or self.now()
        return held_words(until, job["customer_phone"], self.policy.timezone)

    async def _pause(self) -> float:
        """Seconds until there may be work: the next due reminder (a held one is due when its quiet ends), or a poll."""
        now = self.now()
        due = await self._next_due()
        if due is None:
            return self.poll_seconds
        # At least a second: a due job this pass could not settle is looked at again, not in a spin.
        return min(self.poll_seconds, max(1.0, (datetime.fromisoformat(due) - now).total_seconds()))

    async def _next_due(self) -> str | None:
        """When the next reminder is due (ISO UTC); the review loop (sender/reviews.py) reads its own rows."""
        return await self.store.next_reminder_at()

    # -- the loop -----------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name=f"qdn-{self.name}")

    async def stop(self) -> None:
        self._stopped.set()
        if self._runner is not None:
            await self._runner

    async def _run(self) -> None:
        # A store hiccup must not end reminders for good: looked at again in a few seconds.
        await run_loop(
            self.name, log, self._step, sleep=self._sleep, stopping=self._stopped.is_set, away_seconds=5.0,
            error_seconds=5.0,
        )  # fmt: skip

    async def _step(self) -> float:
        return 0.0 if await self.run_once() >= BATCH else await self._pause()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)


def reminders_for(store: Store, notifier: Notifier, policy: ReminderPolicy) -> Reminders | None:
    """The reminder loop for these settings, or None when REMINDER_HOUR turns reminders off."""
    return Reminders(store, notifier, policy) if policy.hour is not None else None
