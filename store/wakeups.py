"""Waking a store's waiters in this process: a flag per kind of work (Store.wait_for_*).

A write that queues work sets the flag (TinyDB: after the write is durable; PostgreSQL: when
its NOTIFY arrives); one waiter wakes and clears it for the next wait.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait(flag: asyncio.Event, timeout: float) -> bool:
    """Until `flag` is set (True: it is cleared for the next wait) or `timeout` seconds pass."""
    try:
        await asyncio.wait_for(flag.wait(), timeout)
    except TimeoutError:
        return False
    flag.clear()
    return True


class Changes:
    """A count of a store's changes that any number of waiters watch (Store.wait_for_change).

    Unlike a work flag, nobody consumes it: each change wakes every waiter (every open inbox),
    and a waiter that was busy when it happened sees the count has moved and returns at once.
    """

    def __init__(self) -> None:
        self.count = 0
        self._next = asyncio.Event()

    def changed(self) -> None:
        self.count += 1
        self._next.set()
        self._next = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> int:
        """The count: at once if it is not `seen`, else after the next change or `timeout` seconds."""
        if self.count == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._next.wait(), timeout)
        return self.count
