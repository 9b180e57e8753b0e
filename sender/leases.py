"""A claim kept alive while its work runs: renewed every quarter lease (SPEC "PostgreSQL in production").

Claims in the store are short leases (a dead process's run out in seconds); a live one renews
its own for as long as the work takes. The sender's worker renews all its texts' claims in one
loop (sender/worker.py); a loop with one claim at a time (dashboard events) uses `renewed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("qdn.sender")


@contextlib.asynccontextmanager
async def renewed(renew: Callable[[], Awaitable[bool]], lease_seconds: float, what: str) -> AsyncIterator[None]:
    """Run the block while `renew()` is called every quarter of `lease_seconds`.

    A renewal that fails (the store away) is tried at the next beat; one that finds the claim
    taken over is logged and not tried again (whatever the block writes is re-checked by the store).
    """

    async def beat() -> None:
        failing = False
        while True:
            await asyncio.sleep(lease_seconds / 4)
            try:
                held = await renew()
            except Exception as error:  # one line per outage, not one per beat
                if not failing:
                    log.warning("%s: claim not renewed (%s); trying again", what, error)
                failing = True
                continue
            failing = False
            if not held:
                log.warning("%s: its claim ran out and was taken over", what)
                return

    task = asyncio.create_task(beat(), name=f"renew {what}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
