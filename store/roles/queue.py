"""The send queue: claims with leases (store_contract/test_queue.py).

Any number of senders drain the `pending` texts (courier's PopNextOutgoingMsg /
MarkOutgoingMsgComplete). A claim is a lease: the text is one sender's until the lease runs
out, so a sender that dies mid-send leaves it to the next one, which finds its
`send_started_at` and looks it up at Twilio instead of sending it again. A backend keeps the
claim beside the row (`claimed_until`, declared in store/records.py) or, when one process owns
the store, in memory (TinyDB: a restart ends every lease).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

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
    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Record an attempt's outcome -- the row becomes `change(row)` (None: as it is) -- and
        drop the claim, in one write. A row left `pending` is due again at its `next_attempt_at`."""

    @abstractmethod
    async def release(self, message_id: str) -> None:
        """Drop the claim on a text without changing it (nothing to record, or a sender stopping)."""

    @abstractmethod
    async def next_due(self) -> str | None:
        """When a text next becomes claimable (a due time or a lease's end; ISO UTC), None if none waits."""

    @abstractmethod
    async def wait_for_work(self, timeout: float) -> bool:
        """Until a write queues a text (True) or `timeout` seconds pass (False).

        Every write that adds a `pending` text wakes the waiting senders: in this
        process for TinyDB; across processes elsewhere (PostgreSQL's LISTEN/NOTIFY).
        """
