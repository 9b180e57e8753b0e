"""Review requests: due rows on completed jobs (store_contract/test_reviews.py).

A completed job carries when its review request is due (`review_due_at`, written by
bot.reviews.schedule when the job is completed). Senders find due ones here and claim each
through `update_job`, whose change re-checks the job (bot.reviews.take) and writes the text and
`review_due_at` cleared in one atomic write, as reminders are claimed (store/roles/reminders.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from store.records import Job


class Reviews(ABC):
    """The completed jobs whose review request is due."""

    @abstractmethod
    async def due_reviews(self, now: str, limit: int) -> list[Job]:
        """Up to `limit` `complete` jobs whose `review_due_at` is at or before `now` (ISO UTC), earliest first."""

    @abstractmethod
    async def next_review_at(self) -> str | None:
        """The earliest `review_due_at` of a `complete` job (ISO UTC), None if no request waits."""
