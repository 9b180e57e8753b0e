"""Group commit: everyone waiting for the journal to reach the disk shares one fdatasync at a time.

    flushes = GroupCommit(executor).journal(journal)   # one GroupCommit may serve several journals
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
    """Shared fdatasync rounds for the coroutines of one event loop, over one or more journals.

    A deployment's businesses each keep a journal of their own (store/tinydb/deployment.py), and
    share one GroupCommit: a round syncs every journal someone waits for, one after the other on
    `executor`, so concurrent webhooks to twenty businesses share rounds (and thread wake-ups) as
    webhooks to one do, and "one caller alone" means alone in the whole process.
    """

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: asyncio.Future[dict[int, BaseException]] | None = None  # the round in flight
        self._running_covers: dict[int, int] = {}  # id(journal) -> position it syncs at least up to
        self._next: asyncio.Future[dict[int, BaseException]] | None = None  # waiters for the round after it
        self._waiting: dict[int, Syncable] = {}  # journals the next round must sync
        # Who has called a store since the last round ended: one task, or more than one.
        self._caller: asyncio.Task[Any] | None = None
        self._callers_mixed = False
        self._quiet = True  # the last round served one caller alone (or there was none yet)

    def journal(self, journal: Syncable) -> Flushes:
        """The handle a store waits on for its own journal."""
        return Flushes(self, journal)

    async def wait(self, journal: Syncable, position: int) -> None:
        """Return once `journal` is on disk up to `position`; StoreError if it cannot be synced."""
        caller = asyncio.current_task()
        if caller is not self._caller:
            self._callers_mixed = self._caller is not None
            self._caller = caller
        if journal.synced >= position:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # `qdn serve` opens the store in one loop and serves in another
            self._loop, self._running, self._next, self._waiting = loop, None, None, {}
        if self._running is None and self._quiet and not self._callers_mixed:
            # Whatever else is ready runs first: if it uses a store, the round is shared, off the loop.
            await asyncio.sleep(0)
            if journal.synced >= position:
                return
            if self._running is None and not self._callers_mixed:
                self._sync_here(journal)
                return
        key = id(journal)
        flush: asyncio.Future[dict[int, BaseException]]
        if self._running is not None and position <= self._running_covers.get(key, -1):
            flush = self._running
        elif self._running is None:
            self._waiting[key] = journal
            flush = loop.create_future()
            self._start(loop, flush)
        else:
            self._waiting[key] = journal
            if self._next is None:
                self._next = loop.create_future()
            flush = self._next
        # Shielded: a waiter that is cancelled (its client went away) leaves the round to the others.
        failed = await asyncio.shield(flush)
        if key in failed:
            raise failed[key]

    def _sync_here(self, journal: Syncable) -> None:
        """The sole caller's flush, in the event loop's thread (see the module's docstring)."""
        self._caller, self._callers_mixed = None, False
        journal.sync()

    def _start(self, loop: asyncio.AbstractEventLoop, flush: asyncio.Future[dict[int, BaseException]]) -> None:
        journals = self._waiting
        # Journal.sync syncs all that is written when it runs
        covers = {key: journal.written for key, journal in journals.items()}
        # Each journal's fdatasync on its own thread: the kernel commits concurrent ones together
        # (16 journals: ~0.9 ms at once against ~3 ms one after another, on this machine's ext4).
        syncs = [loop.run_in_executor(self._executor, _sync_one, key, journal) for key, journal in journals.items()]
        syncing = asyncio.gather(*syncs)
        self._waiting, self._running, self._running_covers = {}, flush, covers
        syncing.add_done_callback(lambda done: self._finished(loop, flush, journals, done))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        flush: asyncio.Future[dict[int, BaseException]],
        journals: dict[int, Syncable],
        done: asyncio.Future[list[dict[int, BaseException]]],
    ) -> None:
        if self._running is not flush:  # abandoned when the store moved to another loop
            return
        self._running = None
        self._quiet = not self._callers_mixed
        self._caller, self._callers_mixed = None, False
        if done.cancelled():
            flush.cancel()
        elif (error := done.exception()) is not None:
            flush.set_result(dict.fromkeys(journals, error))
        else:
            flush.set_result({key: error for failed in done.result() for key, error in failed.items()})
        waiting, self._next = self._next, None
        if waiting is None:
            return
        # Everyone waiting appended before now; the round that just ended may already cover them.
        if all(journal.synced >= journal.written for journal in self._waiting.values()):
            self._waiting = {}
            waiting.set_result({})
            return
        try:
            self._start(loop, waiting)
        except RuntimeError as error:  # the executor was shut down: the store is closed
            closed, self._waiting = self._waiting, {}
            waiting.set_result(dict.fromkeys(closed, StoreError(f"the store is closed ({error})")))


def _sync_one(key: int, journal: Syncable) -> dict[int, BaseException]:
    """One journal's part of a round, on the executor: {} once durable, else what failed (for its waiters)."""
    try:
        journal.sync()
    except Exception as error:  # handed to that journal's waiters, raised there
        return {key: error}
    return {}


class Flushes:
    """One journal's view of a (possibly shared) GroupCommit: `await flushes.wait(position)`."""

    def __init__(self, commits: GroupCommit, journal: Syncable) -> None:
        self._commits = commits
        self._journal = journal

    async def wait(self, position: int) -> None:
        await self._commits.wait(self._journal, position)
