"""Group commit: everyone waiting for the journal to reach the disk shares one fdatasync at a time.

    flushes = GroupCommit(journal, executor)
    await flushes.wait(position)      # returns once the journal is durable up to `position`

Every store call comes through `wait` (lookups with the position of what they
read). At most one fdatasync runs at a time, and where it runs depends on
who is using the store:

- Several callers (concurrent webhooks, the send queue's worker): on
  `executor`, off the event loop, so the others go on while the disk works.
  A waiter whose line was appended before the running flush started waits
  for that flush; anyone who appended later waits for the next one, which
  starts as soon as the running one ends and covers all of them at once.
  Each waiter is woken exactly once, by the flush that covers it. (A lock
  taken in turn would wake every waiter once more just to find its line
  already synced, and in a webhook each wake-up resumes the whole ASGI
  stack: bench/profile_webhook.py.)
- One caller alone since the last flush, when that flush too served one
  caller alone, and still alone after every other ready task has had a
  turn (a quiet hour's text, one request at a time): right here, in the
  event loop's thread. (A webhook's handler runs from its first lookup to
  its write without yielding, so the turn is what reveals others; under
  load the flushes are shared and the next one starts at once, with no
  turn given.) Nobody else is using the store, so blocking for one
  fdatasync costs little, and the round trip to the executor and back --
  two thread wake-ups and two GIL hand-offs, ~120 us against a ~90 us
  fdatasync on an SSD -- is saved (bench/bench_webhook.py, figure (c)).
  The price: a request that needs no store (a static file) and arrives
  during that fdatasync waits for it, as it would for any loop callback.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any, Protocol

from bot.errors import StoreError


class Syncable(Protocol):
    """What group commit needs of a journal (store.tinydb.journal.Journal)."""

    written: int  # position after the last appended line
    synced: int  # position known to be on disk

    def sync(self) -> None:
        """Make everything written so far durable; StoreError if it cannot."""


class GroupCommit:
    """Shared fdatasync rounds for the coroutines of one event loop."""

    def __init__(self, journal: Syncable, executor: Executor) -> None:
        self._journal = journal
        self._executor = executor
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: asyncio.Future[None] | None = None  # the flush in flight
        self._running_covers = 0  # journal position it syncs at least up to
        self._next: asyncio.Future[None] | None = None  # waiters for the flush after it
        # Who has called the store since the last flush ended: one task, or more than one.
        self._caller: asyncio.Task[Any] | None = None
        self._callers_mixed = False
        self._quiet = True  # the last flush served one caller alone (or there was none yet)

    async def wait(self, position: int) -> None:
        """Return once the journal is on disk up to `position`; StoreError if it cannot be synced."""
        caller = asyncio.current_task()
        if caller is not self._caller:
            self._callers_mixed = self._caller is not None
            self._caller = caller
        if self._journal.synced >= position:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # `qdn serve` opens the store in one loop and serves in another
            self._loop, self._running, self._next = loop, None, None
        if self._running is None and self._quiet and not self._callers_mixed:
            # Whatever else is ready runs first: if it uses the store, the flush is shared, off the loop.
            await asyncio.sleep(0)
            if self._journal.synced >= position:
                return
            if self._running is None and not self._callers_mixed:
                self._sync_here()
                return
        if self._running is None:
            self._start(loop, loop.create_future())
        assert self._running is not None
        if position <= self._running_covers:
            flush = self._running
        else:
            if self._next is None:
                self._next = loop.create_future()
            flush = self._next
        # Shielded: a waiter that is cancelled (its client went away) leaves the flush to the others.
        await asyncio.shield(flush)

    def _sync_here(self) -> None:
        """The sole caller's flush, in the event loop's thread (see the module's docstring)."""
        self._caller, self._callers_mixed = None, False
        self._journal.sync()

    def _start(self, loop: asyncio.AbstractEventLoop, flush: asyncio.Future[None]) -> None:
        self._running = flush
        self._running_covers = self._journal.written  # Journal.sync syncs all that is written when it runs
        syncing = loop.run_in_executor(self._executor, self._journal.sync)
        syncing.add_done_callback(lambda done: self._finished(loop, flush, done))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, flush: asyncio.Future[None], done: asyncio.Future[None]
    ) -> None:
        if self._running is not flush:  # abandoned when the store moved to another loop
            return
        self._running = None
        self._quiet = not self._callers_mixed
        self._caller, self._callers_mixed = None, False
        synced = False
        if done.cancelled():
            flush.cancel()
        elif (error := done.exception()) is not None:
            flush.set_exception(error)
        else:
            flush.set_result(None)
            synced = True
        waiting, self._next = self._next, None
        if waiting is None:
            return
        # Everyone waiting appended before now; the flush that just ended may already cover them.
        if synced and self._journal.synced >= self._journal.written:
            waiting.set_result(None)
            return
        try:
            self._start(loop, waiting)
        except RuntimeError as error:  # the executor was shut down: the store is closed
            waiting.set_exception(StoreError(f"the store is closed ({error})"))
