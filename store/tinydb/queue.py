"""The send queue of a TinyDB store, in memory: pending texts per phone, claims with leases.

The rows themselves are in the journal and the files like every message;
this is the index over the `pending` ones that `claim_due` answers from.
Claims live here only, not in the files: one process owns a TinyDB store,
so a restart ends every lease at once -- which is all an expired lease means
(the text is claimable again, and a row with `send_started_at` is then
looked up at Twilio, never re-sent: sender/worker.py).
"""

from __future__ import annotations

import heapq
from typing import Any

from store.base import Message

Order = tuple[Any, ...]  # queue order: (created_at, partition, doc id)


def due(message: Message) -> str:
    """When a pending text may next be attempted (ISO UTC)."""
    return message.get("next_attempt_at") or message["created_at"]


def recipient(message: Message) -> str:
    return message.get("to") or message["phone"]


class SendQueue:
    """Pending texts; at most one claimed per phone, and only its oldest (order per phone)."""

    def __init__(self) -> None:
        self.docs: dict[str, Message] = {}  # message id -> the pending row as stored
        self.order: dict[str, Order] = {}
        self._by_phone: dict[str, set[str]] = {}  # recipient -> ids of its pending texts
        self.claims: dict[str, str] = {}  # message id -> claimed until (ISO UTC)
        self._held: dict[str, str] = {}  # recipient -> its claimed message id
        # Heap of (due, order, id) of unclaimed phone heads. An entry goes stale when its row
        # changes; stale ones are dropped when they reach the top, or all at once by _compact.
        self._heads: list[tuple[str, Order, str]] = []
        self.queued = False  # a text entered the queue since the store last looked: wake the senders

    def put(self, message_id: str, message: Message, order: Order) -> None:
        """A pending row was written (new, or changed: a retry's next attempt, a send started)."""
        phone = recipient(message)
        if message_id not in self.docs:
            self.order[message_id] = order
            self._by_phone.setdefault(phone, set()).add(message_id)
            self.queued = True
        self.docs[message_id] = message
        self._push(phone)

    def remove(self, message_id: str) -> None:
        """The row is no longer pending (sent, failed, skipped ...): it leaves the queue with its claim."""
        message = self.docs.get(message_id)
        if message is None:
            return
        phone = recipient(message)
        if self.claims.pop(message_id, None) is not None:
            del self._held[phone]
        del self.docs[message_id], self.order[message_id]
        self._by_phone[phone].discard(message_id)
        if not self._by_phone[phone]:
            del self._by_phone[phone]
        self._push(phone)

    def head(self, phone: str) -> str | None:
        """The phone's oldest pending text: the only one of its texts that may be attempted."""
        ids = self._by_phone.get(phone)
        return min(ids, key=self.order.__getitem__) if ids else None

    def claim(self, now: str, limit: int, until: str) -> list[str]:
        """Claim up to `limit` due heads of unclaimed phones, earliest due first, until `until`."""
        self._expire(now)
        taken: list[str] = []
        while self._heads and len(taken) < limit:
            entry = self._heads[0]
            if not self._current(entry):
                heapq.heappop(self._heads)
            elif entry[0] > now:
                break  # the heap is by due time: nothing after this is due either
            else:
                heapq.heappop(self._heads)
                message_id = entry[2]
                self.claims[message_id] = until
                self._held[recipient(self.docs[message_id])] = message_id
                taken.append(message_id)
        return taken

    def renew(self, message_ids: list[str], until: str) -> set[str]:
        """Extend the claims on these texts to `until`; the ids still held.

        A claim whose lease ran out is taken again if no one took it meanwhile (the text is
        still pending and its phone's head, and no other text of the phone is out).
        """
        held = set()
        for message_id in message_ids:
            message = self.docs.get(message_id)
            if message is None:
                continue  # no longer pending: its outcome is recorded
            phone = recipient(message)
            if message_id in self.claims or (phone not in self._held and self.head(phone) == message_id):
                self.claims[message_id] = until
                self._held[phone] = message_id
                held.add(message_id)
        return held

    def release(self, message_id: str) -> None:
        """Drop the claim (if any): the phone's head is claimable again."""
        if self.claims.pop(message_id, None) is None:
            return
        phone = recipient(self.docs[message_id])  # a claimed text is pending: remove() drops its claim
        del self._held[phone]
        self._push(phone)

    def next_due(self) -> str | None:
        """When the next text becomes claimable: the earliest due unclaimed head, or a lease running out."""
        while self._heads and not self._current(self._heads[0]):
            heapq.heappop(self._heads)
        times = list(self.claims.values())
        if self._heads:
            times.append(self._heads[0][0])
        return min(times, default=None)

    def _expire(self, now: str) -> None:
        for message_id, until in list(self.claims.items()):
            if until <= now:  # its sender died or hung: the text is anyone's again
                self.release(message_id)

    def _current(self, entry: tuple[str, Order, str]) -> bool:
        when, _, message_id = entry
        message = self.docs.get(message_id)
        if message is None or due(message) != when:
            return False
        phone = recipient(message)
        return phone not in self._held and self.head(phone) == message_id

    def _push(self, phone: str) -> None:
        message_id = self.head(phone)
        if message_id is None or phone in self._held:
            return
        heapq.heappush(self._heads, (due(self.docs[message_id]), self.order[message_id], message_id))
        if len(self._heads) > 2 * len(self._by_phone) + 64:
            self._compact()

    def _compact(self) -> None:
        """Rebuild the heap from the current heads (stale entries pile up under a long backoff)."""
        heads = ((phone, self.head(phone)) for phone in self._by_phone if phone not in self._held)
        self._heads = [(due(self.docs[m]), self.order[m], m) for _, m in heads if m is not None]
        heapq.heapify(self._heads)
