"""How fast texts go out: a send-rate cap, and backoff between retries."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from sender.clock import Clock, utc_now
from store import Store


@dataclass
class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of min(cap, base * 2**(n-1))."""

    base: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


class SendSlots:
    """The send-rate cap of one sending number, held by the store: at most `per_second` sends a
    second, evenly spaced, from every sender of the number together, in any process.

    Each send reserves its slot (`Store.take_send_slot`: one atomic step in the store) and
    waits for it. The wait is measured from the time the slot was asked for, so the store's
    round trip does not push a send later than its slot. `clock` is wall time, as the store's
    slots are shared by processes on several hosts (their clocks kept in step, as for leases).
    """

    def __init__(
        self,
        store: Store,
        number: str,
        per_second: float,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.number = number
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self.clock = clock

    async def wait(self) -> float:
        """Reserve this sender's next slot and sleep until it comes; returns the seconds slept."""
        asked = self.clock()
        now = asked.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        until = await self.store.take_send_slot(self.number, now, self.per_second)
        remaining = until - (self.clock() - asked).total_seconds()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return max(0.0, remaining)


class RateLimiter:
    """At most `per_second` sends a second, evenly spaced; slots are handed out in request order.

    One pacer's memory, no store: what `SendSlots` does for every sender of a number at once.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self.next_slot = -math.inf

    def reserve(self) -> float:
        """Reserve the next free slot; returns how many seconds to wait for it."""
        now = self.clock()
        start = max(now, self.next_slot)
        self.next_slot = start + self.interval
        return start - now
