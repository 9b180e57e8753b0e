"""Throttles kept in one process's memory: the send-rate schedule and the miss windows.

Two counters the service keeps per key, where the store keeps them:

- a send-rate schedule per sending number (`Store.take_send_slot`): GCRA with no burst, so
  the senders of a number together send at most `per_second` a second, evenly spaced;
- a fixed miss window per key (`Deployment.count_miss`, `Deployment.miss_retry_after`): after
  `limit` misses within `window_seconds` of a key's first miss, the key waits out the window.

A backend one process owns (TinyDB) keeps them here, in that process's memory; a backend
several processes share keeps them in its tables (store/postgres/throttles.py), so every
process counts against the same numbers. Times here are seconds since the epoch (floats);
the store interface speaks ISO UTC strings (`seconds_of` converts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Windows kept at most: past this, the oldest are dropped -- forgiving those keys early is the
# price of bounded memory under a flood from very many addresses.
MAX_MISS_KEYS = 50_000


def seconds_of(moment: str) -> float:
    """An ISO 8601 time (the store's `now`) as seconds since the epoch."""
    return datetime.fromisoformat(moment).timestamp()


class MissCounter(Protocol):
    """Where misses are counted: a Deployment (every process's misses, on a shared store)."""

    async def count_miss(self, key: str, now: str, window_seconds: float, limit: int) -> float: ...

    async def miss_retry_after(self, key: str, now: str) -> float: ...


class SendSchedule:
    """Per sending number, the earliest time its next send may go (seconds since the epoch)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def take(self, number: str, now: float, per_second: float) -> float:
        """Reserve `number`'s next slot; seconds from `now` until it. Idle time saves up no burst."""
        start = max(now, self._next.get(number, -math.inf))
        self._next[number] = start + 1.0 / per_second
        return start - now


@dataclass
class _Window:
    ends: float
    misses: int = 0
    blocked: bool = False  # the count reached the limit: the key waits until `ends`


class MissWindows:
    """Misses per key in a fixed window that starts at the key's first miss.

    The window is fixed, so "the rest of the window" has one meaning and a blocked key
    cannot extend its own block by missing again; hits are not counted here at all.
    """

    def __init__(self, max_keys: int = MAX_MISS_KEYS) -> None:
        self.max_keys = max_keys
        # Insertion order is window start order, so the oldest windows are first.
        self._windows: dict[str, _Window] = {}

    def _current(self, key: str, now: float) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and now >= window.ends:
            del self._windows[key]
            return None
        return window

    def count(self, key: str, now: float, window_seconds: float, limit: int) -> float:
        """Count one miss of `key`; seconds until it may try again (0: it may now)."""
        window = self._current(key, now)
        if window is None:
            self._prune(now)
            window = self._windows[key] = _Window(ends=now + window_seconds)
        window.misses += 1
        window.blocked = window.blocked or window.misses >= limit
        return window.ends - now if window.blocked else 0.0

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        window = self._current(key, now)
        return window.ends - now if window is not None and window.blocked else 0.0

    def _prune(self, now: float) -> None:
        """Drop expired windows; past `max_keys`, drop the oldest ones too."""
        while self._windows:
            oldest_key, oldest = next(iter(self._windows.items()))
            if now < oldest.ends and len(self._windows) < self.max_keys:
                break
            del self._windows[oldest_key]

    def __len__(self) -> int:
        return len(self._windows)
