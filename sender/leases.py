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


async def keep_renewing(renew: Callable[[], Awaitable[bool]], lease_seconds: float, what: str) -> None:
    """Call `renew()` every quarter of `lease_seconds` until it answers False (or the task is cancelled).

    A renewal that fails (the store away) is tried at the next beat, with one warning line per
    outage, not one per beat: the claim is kept as long as no one else took it meanwhile.
    """
    failing = False
    while True:
        await asyncio.sleep(lease_seconds / 4)
        try:
            going = await renew()
        except Exception as error:
            if not failing:
                log.warning("%s: claim not renewed (%s); trying again", what, error)
            failing = True
            continue
        if failing:
            log.info("%s: claim renewed again", what)
        failing = False
        if not going:
            return


@contextlib.asynccontextmanager
async def renewed(renew: Callable[[], Awaitable[bool]], lease_seconds: float, what: str) -> AsyncIterator[None]:
    """Run the block while `renew()` (whether the claim is still held) is called every quarter lease.

    A claim found taken over is logged and not renewed again (whatever the block writes is
    re-checked by the store).
    """

    async def held() -> bool:
        if await renew():
            return True
        log.warning("%s: its claim ran out and was taken over", what)
        return False

    task = asyncio.create_task(keep_renewing(held, lease_seconds, what), name=f"renew {what}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
