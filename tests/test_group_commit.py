"""Group commit: waiters share fdatasyncs, a sole caller syncs in place, and a failed, cancelled or
closed flush strands nobody."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.errors import StoreError
from store.tinydb.group_commit import Flushes, GroupCommit

EIO = StoreError("the store's journal could not be synced (EIO)")


class FakeJournal:
    """A journal that counts its fdatasyncs, notes the thread each ran on, and can fail.

    With `held`, each fdatasync lasts until the test lets it finish (a slow disk).
    """

    def __init__(self, held: bool = False) -> None:
        self.written = 0
        self.synced = 0
        self.sync_threads: list[threading.Thread] = []  # one per fdatasync actually run
        self.held = held
        self.started = threading.Semaphore(0)
        self.release = threading.Semaphore(0)
        self.error: StoreError | None = None

    def append(self) -> int:
        self.written += 10
        return self.written

    def sync(self) -> None:
        target = self.written
        if self.held:
            self.started.release()
            if not self.release.acquire(timeout=10):  # in the event loop's thread, it would block the test
                raise AssertionError("a held flush was never released")
        if self.error is not None:
            raise self.error
        self.sync_threads.append(threading.current_thread())
        self.synced = max(self.synced, target)


async def flush_started(journal: FakeJournal) -> None:
    await asyncio.to_thread(journal.started.acquire)


async def shared(flushes: Flushes) -> None:
    """Another task uses the store (a lookup): flushes now go to the executor."""
    await asyncio.create_task(flushes.wait(0))


def run(scenario, held=True):
    async def main():
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync") as executor:
            journal = FakeJournal(held)
            await asyncio.wait_for(scenario(journal, GroupCommit(executor).journal(journal)), timeout=10)

    asyncio.run(main())


def test_nothing_to_sync_returns_at_once_without_an_fdatasync():
    async def scenario(journal, flushes):
        journal.written = journal.synced = 50
        await flushes.wait(50)
        await flushes.wait(0)
        assert journal.sync_threads == []

    run(scenario)


def test_a_sole_caller_syncs_in_the_event_loop_thread_and_is_durable_on_return():
    async def scenario(journal, flushes):
        for _ in range(3):  # one request after another, each its own task
            position = journal.append()
            await asyncio.create_task(flushes.wait(position))
            assert journal.synced >= position
        assert journal.sync_threads == [threading.current_thread()] * 3

    run(scenario, held=False)


def test_a_sole_callers_failed_sync_raises_to_it():
    async def scenario(journal, flushes):
        journal.error = EIO
        with pytest.raises(StoreError, match="could not be synced"):
            await flushes.wait(journal.append())
        assert journal.synced == 0

    run(scenario, held=False)


def test_writers_ready_at_the_same_time_share_one_flush_off_the_event_loop():
    async def scenario(journal, flushes):
        async def write():
            await flushes.wait(journal.append())

        await asyncio.gather(*(asyncio.create_task(write()) for _ in range(3)))  # three webhooks at once
        assert journal.synced == journal.written == 30
        # The first defers to the others; the second starts a flush that covers both; the third,
        # written once that flush had started, gets the next one. Both off the loop.
        assert [thread.name.startswith("sync") for thread in journal.sync_threads] == [True, True]

    run(scenario, held=False)


def test_with_several_callers_the_sync_runs_off_the_event_loop():
    async def scenario(journal, flushes):
        await shared(flushes)
        await flushes.wait(journal.append())
        assert journal.synced == journal.written
        assert [thread.name.startswith("sync") for thread in journal.sync_threads] == [True]

    run(scenario, held=False)


def test_after_a_busy_spell_a_lone_caller_goes_back_to_syncing_in_place():
    async def scenario(journal, flushes):
        async def write():
            await flushes.wait(journal.append())

        await shared(flushes)
        await asyncio.create_task(write())  # the store was shared: off the loop
        await asyncio.create_task(write())  # the last flush was shared: off the loop, and alone
        await asyncio.create_task(write())  # quiet now: in place
        loop_thread = threading.current_thread()
        assert [thread is loop_thread for thread in journal.sync_threads] == [False, False, True]

    run(scenario, held=False)


def test_writes_during_a_flush_share_the_next_one_and_each_waits_for_its_own():
    async def scenario(journal, flushes):
        await shared(flushes)
        first = asyncio.create_task(flushes.wait(journal.append()))
        await flush_started(journal)  # the first flush covers only the first write
        later = [asyncio.create_task(flushes.wait(journal.append())) for _ in range(5)]
        await asyncio.sleep(0.01)
        assert not any(task.done() for task in [first, *later])  # nobody is answered before the disk

        journal.release.release()
        await first
        await flush_started(journal)  # one more flush for all five later writes
        assert not any(task.done() for task in later)
        journal.release.release()
        await asyncio.gather(*later)
        assert len(journal.sync_threads) == 2
        assert journal.synced == journal.written

    run(scenario)


def test_a_failed_flush_fails_its_waiters_and_the_ones_after_it():
    async def scenario(journal, flushes):
        await shared(flushes)
        first = asyncio.create_task(flushes.wait(journal.append()))
        await flush_started(journal)
        second = asyncio.create_task(flushes.wait(journal.append()))
        await asyncio.sleep(0.01)
        journal.error = EIO
        journal.release.release()
        with pytest.raises(StoreError, match="could not be synced"):
            await first
        await flush_started(journal)  # the next round tries, and fails the same way
        journal.release.release()
        with pytest.raises(StoreError, match="could not be synced"):
            await second
        assert journal.synced == 0

    run(scenario)


def test_a_cancelled_waiter_leaves_the_flush_to_the_others():
    async def scenario(journal, flushes):
        await shared(flushes)
        position = journal.append()
        leaving = asyncio.create_task(flushes.wait(position))
        staying = asyncio.create_task(flushes.wait(position))
        await flush_started(journal)
        leaving.cancel()  # its client went away mid-request
        await asyncio.sleep(0.01)
        journal.release.release()
        await staying
        assert leaving.cancelled()
        assert len(journal.sync_threads) == 1 and journal.synced == position

    run(scenario)


def test_waiters_after_the_store_closes_get_a_store_error_not_a_hang():
    async def main():
        executor = ThreadPoolExecutor(max_workers=1)
        journal = FakeJournal(held=True)
        flushes = GroupCommit(executor).journal(journal)
        await shared(flushes)
        first = asyncio.create_task(flushes.wait(journal.append()))
        await flush_started(journal)
        second = asyncio.create_task(flushes.wait(journal.append()))
        await asyncio.sleep(0.01)
        executor.shutdown(wait=False)  # the store is closing while the flush is in flight
        journal.release.release()
        await first
        with pytest.raises(StoreError, match="the store is closed"):
            await second

    asyncio.run(asyncio.wait_for(main(), timeout=10))


# -- one GroupCommit for several journals (a deployment's businesses) -------------------------------


def test_writers_to_different_journals_share_rounds_and_a_failure_reaches_only_its_journal():
    async def main():
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="sync") as executor:
            commits = GroupCommit(executor)
            acme, bolt, cargo = FakeJournal(), FakeJournal(), FakeJournal()
            cargo.error = EIO

            async def write(journal: FakeJournal) -> None:
                await commits.wait(journal, journal.append())

            results = await asyncio.gather(
                *(asyncio.create_task(write(j)) for j in (acme, bolt, cargo, acme)), return_exceptions=True
            )
            return results, acme, bolt, cargo

    results, acme, bolt, cargo = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert [type(r).__name__ for r in results] == ["NoneType", "NoneType", "StoreError", "NoneType"]
    assert (acme.synced, bolt.synced, cargo.synced) == (20, 10, 0)
    # Four writers at once: no one syncs alone in the event loop, and each journal is synced once a round.
    assert all(t.name.startswith("sync") for t in acme.sync_threads + bolt.sync_threads)
    assert len(acme.sync_threads) <= 2 and len(bolt.sync_threads) == 1


def test_a_lone_writer_among_several_journals_still_syncs_in_place():
    async def main():
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sync") as executor:
            commits = GroupCommit(executor)
            acme, bolt = FakeJournal(), FakeJournal()
            for journal in (acme, bolt, acme):  # one request at a time, to alternating businesses
                position = journal.append()
                await asyncio.create_task(commits.wait(journal, position))
                assert journal.synced >= position
            return acme, bolt, threading.current_thread()

    acme, bolt, loop_thread = asyncio.run(main())
    assert acme.sync_threads == [loop_thread] * 2 and bolt.sync_threads == [loop_thread]
