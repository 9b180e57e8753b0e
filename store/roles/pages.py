"""Pages for dashboards (SPEC "For dashboards"): keyset paging (store_contract/test_outbox.py, tests/test_paging.py).

Each page starts after the position the previous one ended at, so a page costs the same however
long the history is, and rows added meanwhile neither repeat nor hide others. A position this
list did not give (or a forged one) is a ValidationError naming `cursor`. `limit` is at least 1.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    """One page of a list: its rows, and the position after its last row (None: it was the last page).

    A position is JSON (the API's opaque `cursor` carries it) that only the backend reads: the
    next page starts after it, however many rows were added meanwhile (keyset, never an offset).
    """

    rows: list[dict[str, Any]]
    after: list[Any] | None = None


class Pages(ABC):
    """Jobs and conversations a page at a time."""

    @abstractmethod
    async def jobs_page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        """Jobs newest first (by id), optionally only these statuses / this customer phone."""

    @abstractmethod
    async def jobs_changed_page(
        self,
        since: str,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        """Jobs whose `updated_at` is at or after `since` (ISO UTC), oldest change first: for sync.

        A job changed while a client pages moves to the end, so it is seen again, never missed.
        """

    @abstractmethod
    async def job_messages_page(self, job_id: int, *, after: list[Any] | None = None, limit: int) -> Page:
        """A page of the job's conversation, in `job_messages`' order (NotFound if there is no such job)."""

    @abstractmethod
    async def phone_messages_page(self, phone: str, *, after: list[Any] | None = None, limit: int) -> Page:
        """A page of `phone_messages(phone)`, in its order, read without touching the rest of the history."""
