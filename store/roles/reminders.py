"""Day-before reminders: due rows on jobs (store_contract/test_reminders.py).

A job carries when its appointment's reminder is due (`reminder_due_at`, written by
bot.reminders.schedule whenever the appointment is set). Senders find due ones here and claim
each through `update_job`, whose change re-checks the job (bot.reminders.take) and writes the
reminder text, `reminder_due_at` cleared and `reminder_for` in one atomic write: two senders, a
restart or a clock jump queue each reminder once. No lease is needed, since the claim and the
work (queueing a text; the send queue does the rest) are that one write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from store.records import Job


class Reminders(ABC):
    """The jobs whose reminder is due."""

    @abstractmethod
    async def due_reminders(self, now: str, limit: int) -> list[Job]:
        """Up to `limit` `scheduled` jobs whose `reminder_due_at` is at or before `now` (ISO UTC), earliest first."""

    @abstractmethod
    async def next_reminder_at(self) -> str | None:
        """The earliest `reminder_due_at` of a `scheduled` job (ISO UTC), None if no reminder waits."""
