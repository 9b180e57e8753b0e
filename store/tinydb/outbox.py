"""The TinyDB store's outbox: dashboard events and idempotency keys, in one file per UTC day.

    data/qdn.outbox/2026-12-05.json     that day's events (table `events`) and keys (table `keys`)

Partition "o2026-12-05". An event or a key is written in the same journal
line as the write that caused or used it (a job's status change, an inbound
text ...), so both land or neither. A day's file goes whole once it is
KEEP_DAYS old and none of its events waits; nothing in it is needed by then
(keys are kept IDEMPOTENCY_HOURS, events are given up after
sender/events.py's GIVE_UP_HOURS).

In memory: the pending events in the order they were written, the claim of
the one being delivered (one at a time: a receiver gets them in order), and
the keys of the last days. Claims are memory only, like the send queue's: a
restart ends the lease, and the event is delivered again (at-least-once).
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any, cast

from bot.errors import NotFound
from bot.jobs import iso_utc
from store.base import IDEMPOTENCY_HOURS, Event, KeyUsed, Once
from store.records import IdempotencyRecord

PREFIX = "o"
KEEP_DAYS = 4
Order = tuple[str, int]  # (partition, doc id): the order events were written
Op = list[Any]


def partition(now: str) -> str:
    """The day partition of a time (ISO UTC)."""
    return PREFIX + now[:10]


def due(event: Event) -> str:
    return event.get("next_attempt_at") or event["created_at"]


class Outbox:
    """Pending events (one claimed at a time, oldest first) and recent idempotency keys."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, IdempotencyRecord]] = {}  # key -> (partition, record)
        self.last_doc: dict[str, int] = {}  # partition -> highest doc id
        self.queued = False  # an event was queued since the store last looked: wake the deliverer
        self._pending: dict[Order, Event] = {}
        self._heap: list[Order] = []  # orders of pending events; an entry goes stale once delivered
        self._ids: dict[str, Order] = {}  # event id -> order, for pending events
        self._claim: tuple[str, str] | None = None  # (event id, claimed until)

    # -- what the files and the journal hold ---------------------------------

    def put(self, pid: str, table: str, doc_id: int, doc: dict[str, Any]) -> None:
        self.last_doc[pid] = max(doc_id, self.last_doc.get(pid, 0))
        if table == "keys":
            kept = self.keys.get(doc["key"])
            # A key may be used again once forgotten; the start-up scan meets the days in no order.
            if kept is None or kept[1]["created_at"] <= doc["created_at"]:
                self.keys[doc["key"]] = (pid, cast(IdempotencyRecord, doc))
            return
        order = (pid, doc_id)
        if doc["status"] == "pending":
            if order not in self._pending:
                heapq.heappush(self._heap, order)
                self.queued = True
            self._pending[order] = doc
            self._ids[doc["id"]] = order
            return
        self._pending.pop(order, None)
        self._ids.pop(doc["id"], None)
        if self._claim is not None and self._claim[0] == doc["id"]:
            self._claim = None

    def ops(self, events: list[Event], once: Once | None, result: Any) -> list[Op]:
        """The journal ops that store `events` and `once`'s key with the answer for `result`."""
        ops: list[Op] = []
        for event in events:
            pid = partition(event["created_at"])
            ops.append([pid, "events", self._next(pid), event])
        if once is not None:
            status, body = once.answer(result)
            record = {"key": once.key, "fingerprint": once.fingerprint, "status": status, "body": body,
                      "created_at": once.now}  # fmt: skip
            pid = partition(once.now)
            ops.append([pid, "keys", self._next(pid), record])
        return ops

    def _next(self, pid: str) -> int:
        self.last_doc[pid] = self.last_doc.get(pid, 0) + 1
        return self.last_doc[pid]

    # -- idempotency keys ------------------------------------------------------

    def find(self, key: str, now: str) -> tuple[str, IdempotencyRecord] | None:
        """(partition, record) of a key used within IDEMPOTENCY_HOURS of `now`."""
        found = self.keys.get(key)
        if found is None or found[1]["created_at"] <= _hours_before(now, IDEMPOTENCY_HOURS):
            return None
        return found

    def check(self, once: Once | None) -> None:
        """KeyUsed if `once`'s key was used already (the write must not act twice)."""
        if once is not None and (found := self.find(once.key, once.now)) is not None:
            raise KeyUsed(found[1])

    # -- delivering events -----------------------------------------------------

    def _head(self) -> Order | None:
        while self._heap and self._heap[0] not in self._pending:
            heapq.heappop(self._heap)
        return self._heap[0] if self._heap else None

    def claim(self, now: str, until: str) -> tuple[str, Event] | None:
        """(partition, row) of the oldest pending event, claimed until `until`, if due and unclaimed."""
        if self._claim is not None:
            if self._claim[1] > now:
                return None  # one at a time, so a receiver gets them in order
            self._claim = None  # its deliverer died or hung: the event is anyone's again
        head = self._head()
        if head is None or due(self._pending[head]) > now:
            return None
        event = self._pending[head]
        self._claim = (event["id"], until)
        return head[0], dict(event)

    def locate(self, event_id: str) -> tuple[str, int, Event]:
        """(partition, doc id, row) of a pending event; NotFound once it is delivered or given up."""
        order = self._ids.get(event_id)
        if order is None:
            raise NotFound(f"No pending event {event_id}.")
        return order[0], order[1], dict(self._pending[order])

    def release(self, event_id: str) -> None:
        if self._claim is not None and self._claim[0] == event_id:
            self._claim = None

    def next_due(self) -> str | None:
        if self._claim is not None:
            return self._claim[1]
        head = self._head()
        return None if head is None else due(self._pending[head])

    # -- forgetting --------------------------------------------------------------

    def prune(self, now: str, busy: set[str]) -> list[str]:
        """Forget keys past their time; the day partitions (not in `busy`) that can be deleted now."""
        expired = _hours_before(now, IDEMPOTENCY_HOURS)
        for key in [key for key, (_, record) in self.keys.items() if record["created_at"] <= expired]:
            del self.keys[key]
        oldest_kept = partition(_hours_before(now, 24 * KEEP_DAYS))
        waiting = {pid for pid, _ in self._pending}
        gone = [pid for pid in self.last_doc if pid < oldest_kept and pid not in waiting and pid not in busy]
        for pid in gone:
            del self.last_doc[pid]
        return gone


def _hours_before(now: str, hours: float) -> str:
    return iso_utc(datetime.fromisoformat(now) - timedelta(hours=hours))
