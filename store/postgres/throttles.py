"""Throttles on PostgreSQL, counted by every process together: the send-rate cap and the misses.

Each is one statement on one row -- `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` -- so two
processes at once are serialized by that row's lock for the length of one statement (no
transaction around it, no lock held across a round trip), and each gets its own answer: no
two senders get one send slot, and misses from any number of web processes add up.

- `send_slots` (business, number): when the number's next text may go. Reserving a slot
  moves it one interval past max(now, itself) -- GCRA with no burst, as store/throttles.py
  does in memory -- so the senders of a number together send at most `per_second` a second.
  The interval is rounded up to the microsecond: never faster than the cap.
- `miss_windows` (key): a fixed window from the key's first miss, `blocked` once the limit
  is reached; ended windows are deleted by the housekeeping (`forget_throttles`).

Times are the callers' `now`: the hosts' clocks are taken to be in step (NTP), as the
leases on texts already take them to be.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from bot.jobs import iso_utc
from store.postgres.connection import Connection, Database
from store.postgres.rows import seconds_after
from store.postgres.scope import BusinessScope
from store.throttles import seconds_of

_TAKE_SLOT = """INSERT INTO send_slots AS s (business, number, next_free)
VALUES ($1, $2, $3::timestamptz + $4::interval)
ON CONFLICT (business, number) DO UPDATE SET next_free = GREATEST(s.next_free, $3::timestamptz) + $4::interval
RETURNING EXTRACT(EPOCH FROM s.next_free - $4::interval - $3::timestamptz)::float8"""

# $2 now, $3 the end of a window starting now, $4 the limit (CASEs read the row as it was).
_COUNT_MISS = """INSERT INTO miss_windows AS w (key, window_ends, misses, blocked) VALUES ($1, $3, 1, 1 >= $4)
ON CONFLICT (key) DO UPDATE SET
    window_ends = CASE WHEN w.window_ends <= $2 THEN $3 ELSE w.window_ends END,
    misses = CASE WHEN w.window_ends <= $2 THEN 1 ELSE w.misses + 1 END,
    blocked = CASE WHEN w.window_ends <= $2 THEN 1 >= $4 ELSE w.blocked OR w.misses + 1 >= $4 END
RETURNING window_ends, blocked"""

# A number unused this long has its row deleted: its next reservation starts afresh, as it would anyway.
SLOT_KEEP_HOURS = 24


def _moment(now: str) -> datetime:
    moment = datetime.fromisoformat(now)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _key(key: str) -> str:
    return key.replace("\x00", "\\x00")  # PostgreSQL text holds no NUL


class ThrottleStore(BusinessScope):
    """The send-rate cap of the business's numbers (a method of PostgresStore)."""

    async def take_send_slot(self, number: str, now: str, per_second: float) -> float:
        step = timedelta(microseconds=math.ceil(1_000_000 / per_second))
        async with self.db.connection() as conn:
            wait: float = await conn.fetchval(_TAKE_SLOT, self.business, _key(number), _moment(now), step)
        return wait


async def count_miss(db: Database, key: str, now: str, window_seconds: float, limit: int) -> float:
    """Deployment.count_miss: one upsert of the key's window."""
    now = iso_utc(_moment(now))
    async with db.connection() as conn:
        row = await conn.fetchrow(_COUNT_MISS, _key(key), now, seconds_after(now, window_seconds), limit)
    assert row is not None  # an upsert's RETURNING always has its row
    return seconds_of(row["window_ends"]) - seconds_of(now) if row["blocked"] else 0.0


async def miss_retry_after(db: Database, key: str, now: str) -> float:
    """Deployment.miss_retry_after: one read of the key's window."""
    now = iso_utc(_moment(now))
    async with db.connection() as conn:
        ends = await conn.fetchval(
            "SELECT window_ends FROM miss_windows WHERE key = $1 AND blocked AND window_ends > $2", _key(key), now
        )
    return 0.0 if ends is None else seconds_of(ends) - seconds_of(now)


async def forget_throttles(conn: Connection, now: str) -> None:
    """Delete ended miss windows, and the slots of numbers unused for SLOT_KEEP_HOURS (every business)."""
    await conn.execute("DELETE FROM miss_windows WHERE window_ends <= $1", now)
    await conn.execute(
        "DELETE FROM send_slots WHERE next_free < $1::timestamptz - $2::interval",
        _moment(now),
        timedelta(hours=SLOT_KEEP_HOURS),
    )
