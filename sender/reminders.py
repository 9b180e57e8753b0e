"""Day-before reminders: a loop beside the text worker that queues each reminder once.

It only queues: a reminder is a `notification` row in the send queue, which
the text worker (sender/worker.py) sends like any other text. What is due
lives in the store (`Store.due_reminders`, rows written by bot.reminders.schedule
when an appointment is set), not in this loop's memory, and the claim is the
store's atomic job write, re-checked by bot.reminders.take: a restart, a
second process or a clock jump queues each reminder once.

It wakes when the next reminder is due or the quiet hours end, and at
least every `poll_seconds`, since a job booked meanwhile may be due sooner.
Runs wherever the text worker runs (`qdn serve`, or `qdn send`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from bot import reminders
from bot.jobs import iso_utc
from bot.notifications import Notifier
from bot.reminders import ReminderPolicy
from bot.templates import REMINDER
from sender.clock import Clock, utc_now
from sender.loop import run_loop
from store import Job, JobWrite, Store

log = logging.getLogger("qdn.reminders")

BATCH = 50  # jobs claimed per store call; a full batch is followed by the next at once


class Reminders:
    """Queues due reminders; `run_once()` for one pass, or `start()` / `stop()` for the loop."""

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
        """Queue the reminders due now (up to BATCH); how many jobs were settled (queued or dropped)."""
        now = self.now()
        if self.policy.quiet_now(now):  # they wait for the morning (bot.reminders.take checks again)
            return 0
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
            sent = reminders.settled(current, sent=True)
            return JobWrite(sent, [self.notifier.row(sent, now=stamp, opted_out=opted_out, template=REMINDER)])

        await self.store.update_job(job["id"], change)
        verdict = verdicts[-1]
        if verdict == "drop":
            log.info("job %s: reminder dropped (no longer scheduled, or the appointment has begun)", job["id"])
        elif verdict == "send":
            log.info("job %s: reminder queued%s", job["id"], " (skipped: opted out)" if opted_out else "")
        return int(verdict is not None)

    async def _pause(self) -> float:
        """Seconds until there may be work: the next due reminder, the end of quiet hours, or a poll."""
        now = self.now()
        if self.policy.quiet_now(now):
            return max(1.0, (self.policy.quiet_over(now) - now).total_seconds())
        due = await self.store.next_reminder_at()
        if due is None:
            return self.poll_seconds
        # At least a second: a due job this pass could not settle is looked at again, not in a spin.
        return min(self.poll_seconds, max(1.0, (datetime.fromisoformat(due) - now).total_seconds()))

    # -- the loop -----------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="qdn-reminders")

    async def stop(self) -> None:
        self._stopped.set()
        if self._runner is not None:
            await self._runner

    async def _run(self) -> None:
        # A store hiccup must not end reminders for good: looked at again in a few seconds.
        await run_loop(
            "reminders", log, self._step, sleep=self._sleep, stopping=self._stopped.is_set, away_seconds=5.0,
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
