"""How fast texts go out: a send-rate cap, and backoff between retries."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of min(cap, base * 2**(n-1))."""

    base: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


class RateLimiter:
    """At most `per_second` sends a second, evenly spaced; slots are handed out in request order."""

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
