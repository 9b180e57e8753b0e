"""A per-key slow-down for repeated misses (unknown tracking tokens).

SPEC: after 20 misses in a minute from one client, token lookups from it get
429 for the rest of that minute. The key is the client's address (the web's
token API and tracking page, handlers/track/endpoints.py). Texted tokens are
throttled per phone by the same rule, but kept in the phone's stored state
(bot/conversation/guards.py), not here.

The window is fixed and starts at a key's first miss, so "the rest of the
minute" has one meaning and a blocked client cannot extend its own block by
retrying. Hits are not counted and do not reset the count: interleaving
lookups of one's own valid token must not buy more guesses.

State lives in the memory of the web process that owns the limiter (web/app.py
makes one per app) and is bounded: expired windows are dropped as new keys
arrive. Each web process counts its own misses, so with several processes a
client is slowed down per process; TinyDB runs one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MISS_LIMIT = 20
WINDOW_SECONDS = 60.0
MAX_KEYS = 50_000


@dataclass
class _Window:
    started: float
    misses: int = 0


class MissLimiter:
    """Counts misses per key in a fixed window; blocks a key that reached the limit.

    `clock` returns seconds (monotonic); tests pass a fake one.
    """

    def __init__(
        self,
        limit: int = MISS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        # Insertion order is window start order, so the oldest windows are first.
        self._windows: dict[str, _Window] = {}

    def _current(self, key: str, now: float) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and now - window.started >= self.window_seconds:
            del self._windows[key]
            return None
        return window

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may look up again; 0 when it may now."""
        now = self.clock()
        window = self._current(key, now)
        if window is None or window.misses < self.limit:
            return 0
        return max(1, math.ceil(window.started + self.window_seconds - now))

    def record_miss(self, key: str) -> None:
        """Count one miss for `key` (starting its window if it has none)."""
        now = self.clock()
        window = self._current(key, now)
        if window is None:
            self._prune(now)
            window = self._windows[key] = _Window(started=now)
        window.misses += 1

    def _prune(self, now: float) -> None:
        """Drop expired windows; past `max_keys`, drop the oldest ones too.

        Dropping a live window forgives that key early -- the price of bounded
        memory under a flood from very many addresses.
        """
        while self._windows:
            oldest_key, oldest = next(iter(self._windows.items()))
            if now - oldest.started < self.window_seconds and len(self._windows) < self.max_keys:
                break
            del self._windows[oldest_key]

    def __len__(self) -> int:
        return len(self._windows)
