"""The send queue: claims with leases (store_contract/test_queue.py).

Any number of senders drain the `pending` texts (courier's PopNextOutgoingMsg /
MarkOutgoingMsgComplete). A claim is a short lease its sender renews while it lives
(`renew_claims`): a sender that dies mid-send leaves the text to the next one once the lease
runs out, which finds its `send_started_at` and looks it up at Twilio instead of sending it
again. A backend keeps the claim beside the row (`claimed_until`, declared in
store/records.py) or, when one process owns the store, in memory (TinyDB: a restart ends
every lease).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from store.records import Message


class SendQueue(ABC):
    """The `pending` texts, claimed by senders one phone at a time."""

    @abstractmethod
    async def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[Message]:
        """Claim up to `limit` texts whose turn has come, for `lease_seconds` from `now` (ISO UTC).

        A phone's turn is its oldest pending text, and only while none of its texts is
        claimed: at most one text per phone is out at a time, in the order queued, however
        many senders claim. A text is due at its `next_attempt_at`, else its `created_at`.
        Earliest due first (for texts never tried: the order they were queued).
        """

    @abstractmethod
    async def renew_claims(self, message_ids: Iterable[str], now: str, lease_seconds: float) -> set[str]:
        """Extend this store's claims on these texts to `lease_seconds` from `now`; the ids still held.

        A claim is renewed while no one else has taken it, even if its lease ran out meanwhile
        (the database was away): a text another sender claimed after the lease ran out, or
        one no longer pending, is not renewed, and its id is left out of the answer.
        """

    @abstractmethod
    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Record an attempt's outcome -- the row becomes `change(row)` (None: as it is) -- and
        drop the claim, in one write. A row left `pending` is due again at its `next_attempt_at`."""

    @abstractmethod
    async def release(self, message_id: str) -> None:
        """Drop the claim on a text without changing it (nothing to record, or a sender stopping)."""

    @abstractmethod
    async def cancel_pending(self, message_id: str, change: Callable[[Message], Message]) -> Message | None:
        """Replace a text no sender holds with `change(row)`, if `bot.send_later.cancellable(row)` --
        checked in the same write as the claims, so a text is either cancelled or sent, never both.

        The row as stored, or None (nothing written) when a sender holds it (a live or lapsed claim),
        an attempt may have reached Twilio, or it is no longer pending. NotFound for an unknown id.
        """

    @abstractmethod
    async def next_due(self) -> str | None:
        """When a text next becomes claimable (a due time or a lease's end; ISO UTC), None if none waits."""

    @abstractmethod
    async def wait_for_work(self, timeout: float) -> bool:
        """Until a write queues a text (True) or `timeout` seconds pass (False).

        Every write that adds a `pending` text wakes the waiting senders: in this
        process for TinyDB; across processes elsewhere (PostgreSQL's LISTEN/NOTIFY).
        """
