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

`MissLimiter` is the rule and its clock. Where the misses are counted is the
caller's choice: the web passes the deployment (`check` and `count` with a
`MissCounter`, store/deployment.py), so every web process counts against the
same windows -- a table on PostgreSQL, the one process's memory on TinyDB.
Without one, `retry_after` and `record_miss` count in the limiter's own memory,
bounded (store/throttles.py): for one process, and for tests of the rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.jobs import iso_utc
from store.throttles import MAX_MISS_KEYS, MissCounter, MissWindows

MISS_LIMIT = 20
WINDOW_SECONDS = 60.0
MAX_KEYS = MAX_MISS_KEYS


def _whole(seconds: float) -> int:
    # Rounded up: never "0 seconds" while blocked.
    return max(1, math.ceil(seconds)) if seconds > 0 else 0


class MissLimiter:
    """Counts misses per key in a fixed window; blocks a key that reached the limit.

    `clock` returns seconds since the epoch (wall time: windows a store keeps are shared
    by processes on several hosts); tests pass a fake one.
    """

    def __init__(
        self,
        limit: int = MISS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._windows = MissWindows(max_keys)

    # -- counted by the deployment: every process's misses together ----------

    def _now(self) -> str:
        return iso_utc(datetime.fromtimestamp(self.clock(), UTC))

    async def check(self, counter: MissCounter, key: str) -> int:
        """Whole seconds until `key` may look up again, by `counter`'s count; 0 when it may now."""
        return _whole(await counter.miss_retry_after(key, self._now()))

    async def count(self, counter: MissCounter, key: str) -> int:
        """Count one miss for `key` where `counter` keeps them; whole seconds it must now wait (0: none)."""
        return _whole(await counter.count_miss(key, self._now(), self.window_seconds, self.limit))

    # -- counted in this limiter's memory: one process -------------------------

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may look up again; 0 when it may now."""
        return _whole(self._windows.retry_after(key, self.clock()))

    def record_miss(self, key: str) -> None:
        """Count one miss for `key` (starting its window if it has none)."""
        self._windows.count(key, self.clock(), self.window_seconds, self.limit)

    def __len__(self) -> int:
        return len(self._windows)
