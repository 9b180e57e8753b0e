"""How the sender's loops sleep: until their own wake-up, the store's, or a timeout -- whichever comes first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def first_of(own: asyncio.Event, store_wait: Awaitable[bool], timeout: float) -> None:
    """Until `own` is set, `store_wait` (a Store.wait_for_* call) returns, or `timeout` seconds pass.

    The wait that did not end is cancelled. An error of the store's wait (the database away) is
    raised here, for the loop to log and pause on.
    """
    waits = [asyncio.ensure_future(own.wait()), asyncio.ensure_future(store_wait)]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    for finished in done:
        finished.result()
