"""The one way the sender's loops run: a step, a pause, again -- and never stopped by an error.

Every loop (texts: worker.py, pictures: media/fetch.py, reminders: reminders.py, dashboard events:
events.py) is a `step` that does what is due and says how long until it should look again, and a
`sleep` that waits that long or less (woken by the store, or by the loop itself). `run_loop` runs
them until `stopping()`: a store that is away (StoreUnavailable) costs one log line per try, any other
error a traceback, then a pause (`rest`, the loop's own way to wait when its store may not be able
to) and the loop carries on -- a bug must never stop texts silently. A new loop is a few lines::

    async def _run(self) -> None:
        await run_loop("reviews", log, self.step, sleep=self._sleep, stopping=self._stopped.is_set)

and `async with running(loop):` (business_loops.py) runs it for as long as its business does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

from bot.errors import StoreUnavailable


async def run_loop(
    name: str,
    log: logging.Logger,
    step: Callable[[], Awaitable[float]],
    *,
    sleep: Callable[[float], Awaitable[None]],
    stopping: Callable[[], bool],
    rest: Callable[[float], Awaitable[None]] | None = None,
    away_seconds: float = 1.0,
    error_seconds: float = 1.0,
) -> None:
    """`step()` until `stopping()`, each time pausing `sleep(seconds it returned)` (0: not at all).

    A step or sleep that fails pauses with `rest` (default `sleep`): `away_seconds` when the store is
    away, logged as one line; `error_seconds` after any other error, logged with its traceback.
    """
    rest = rest or sleep
    while not stopping():
        wait, pause = sleep, 0.0
        try:
            pause = await step()
            if pause > 0 and not stopping():
                await sleep(pause)
            pause = 0.0
        except StoreUnavailable as error:  # the database is away: one line, not a traceback a second
            log.warning("%s: %s; trying again", name, error)
            wait, pause = rest, away_seconds
        except Exception:  # never let a bug stop the loop silently
            log.exception("%s: error; carrying on", name)
            wait, pause = rest, error_seconds
        if pause > 0 and not stopping():
            await wait(pause)


class Loop(Protocol):
    """What `running` starts and stops: a loop object with its task inside."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


L = TypeVar("L", bound=Loop)


@contextlib.asynccontextmanager
async def running(loop: L) -> AsyncIterator[L]:
    """`async with running(loop):` starts the loop and stops it on the way out."""
    await loop.start()
    try:
        yield loop
    finally:
        await loop.stop()


def running_if_any(loop: L | None) -> contextlib.AbstractAsyncContextManager[L | None]:
    """`running(loop)`, or nothing at all for None (a loop its settings turn off)."""
    return running(loop) if loop is not None else contextlib.nullcontext()
