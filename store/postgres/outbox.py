"""Dashboard events and idempotency keys on PostgreSQL (SPEC "For dashboards").

Events are rows of `events`, written by the write that causes them (store/postgres/writes.py).
They go out one at a time per business, oldest first: `claim_event` locks the oldest pending
row (FOR UPDATE, not SKIP LOCKED -- skipping it would hand out a later one) and claims it
with a lease in `claimed_until`; while the lease runs, nothing is claimed, so a receiver
gets them in order. A deliverer that dies leaves its claim to run out.

Kept rows are forgotten by `housekeeping`, which every process runs now and then: keys
past IDEMPOTENCY_HOURS, delivered or given-up events past KEEP_DAYS, and ended throttle
windows (store/postgres/throttles.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.errors import NotFound
from bot.jobs import iso_utc
from store.base import IDEMPOTENCY_HOURS, Event
from store.postgres.connection import Connection
from store.postgres.login_codes import forget_login_codes
from store.postgres.rows import hours_before, seconds_after
from store.postgres.scope import BusinessScope
from store.postgres.throttles import forget_throttles
from store.postgres.writes import find_key
from store.records import IdempotencyRecord
from store.wakeups import wait

KEEP_DAYS = 4  # as the TinyDB outbox's day files (store/tinydb/outbox.py)


def _due(event: Event) -> str:
    return event.get("next_attempt_at") or event["created_at"]


class OutboxStore(BusinessScope):
    """Idempotency keys and the events' outbox (methods of PostgresStore)."""

    async def find_once(self, key: str, now: str) -> IdempotencyRecord | None:
        async with self.db.connection() as conn:
            return await find_key(conn, self.business, key, now)

    def enable_events(self) -> None:
        self._events_enabled = True

    async def claim_event(self, now: str, lease_seconds: float) -> Event | None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                """SELECT seq, claimed_until, doc FROM events WHERE business = $1 AND status = 'pending'
                ORDER BY seq LIMIT 1 FOR UPDATE""",
                self.business,
            )
            if row is None:
                return None
            event: Event = dict(row["doc"])
            if (row["claimed_until"] is not None and row["claimed_until"] > now) or _due(event) > now:
                return None  # out with another deliverer, or waiting out its backoff: nothing overtakes it
            until = seconds_after(now, lease_seconds)
            await conn.execute(
                "UPDATE events SET claimed_until = $3 WHERE business = $1 AND seq = $2",
                self.business,
                row["seq"],
                until,
            )
        self._held_events[event["id"]] = until
        return event

    async def renew_event(self, event_id: str, now: str, lease_seconds: float) -> bool:
        ours = self._held_events.get(event_id)
        if ours is None:
            return False
        until = seconds_after(now, lease_seconds)
        async with self.db.connection() as conn:  # only the claim this store wrote (as texts': queue.py)
            renewed = await conn.fetchval(
                """UPDATE events SET claimed_until = $4 WHERE business = $1 AND event_id = $2 AND status = 'pending'
                AND claimed_until = $3 RETURNING true""",
                self.business,
                event_id,
                ours,
                until,
            )
        if renewed and event_id in self._held_events:
            self._held_events[event_id] = until
            return True
        self._held_events.pop(event_id, None)
        return False

    async def complete_event(self, event_id: str, change: Callable[[Event], Event]) -> Event:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "SELECT seq, doc FROM events WHERE business = $1 AND event_id = $2 AND status = 'pending' FOR UPDATE",
                self.business,
                event_id,
            )
            if row is None:
                raise NotFound(f"No pending event {event_id}.")
            self._held_events.pop(event_id, None)
            updated = change(dict(row["doc"]))
            await conn.execute(
                """UPDATE events SET status = $3, next_attempt_at = $4, doc = $5, claimed_until = NULL
                WHERE business = $1 AND seq = $2""",
                self.business,
                row["seq"],
                updated["status"],
                updated.get("next_attempt_at"),
                updated,
            )
        return updated

    async def release_event(self, event_id: str) -> None:
        self._held_events.pop(event_id, None)
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE events SET claimed_until = NULL WHERE business = $1 AND event_id = $2 AND status = 'pending'",
                self.business,
                event_id,
            )

    async def next_event_due(self) -> str | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                """SELECT claimed_until, doc FROM events WHERE business = $1 AND status = 'pending'
                ORDER BY seq LIMIT 1""",
                self.business,
            )
        if row is None:
            return None
        return row["claimed_until"] or _due(row["doc"])

    async def wait_for_events(self, timeout: float) -> bool:
        return await wait(self._events, timeout)


async def housekeeping(conn: Connection) -> None:
    """Forget idempotency keys past their time, events delivered or given up KEEP_DAYS ago, and ended
    throttle windows (every business)."""
    now = iso_utc(datetime.now(UTC))
    await conn.execute("DELETE FROM idempotency_keys WHERE created_at <= $1", hours_before(now, IDEMPOTENCY_HOURS))
    await conn.execute(
        "DELETE FROM events WHERE status <> 'pending' AND created_at <= $1", hours_before(now, 24 * KEEP_DAYS)
    )
    await forget_throttles(conn, now)
    await forget_login_codes(conn, now)
