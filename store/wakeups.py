"""Waking a store's waiters in this process: a flag per kind of work (Store.wait_for_*).

A write that queues work sets the flag (TinyDB: after the write is durable; PostgreSQL: when
its NOTIFY arrives); one waiter wakes and clears it for the next wait.
"""

from __future__ import annotations

import asyncio


async def wait(flag: asyncio.Event, timeout: float) -> bool:
    """Until `flag` is set (True: it is cleared for the next wait) or `timeout` seconds pass."""
    try:
        await asyncio.wait_for(flag.wait(), timeout)
    except TimeoutError:
        return False
    flag.clear()
    return True
