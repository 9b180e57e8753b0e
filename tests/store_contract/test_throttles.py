"""Throttles every process counts against together: send slots per number, and misses per key.

Where the backend can be opened by several processes (PostgreSQL), "two processes" are two
store (or deployment) instances at once; a backend one process owns (TinyDB) runs the same
scenarios on its one instance. Times are injected (`now`), so windows end without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest

from bot.jobs import iso_utc
from store import Deployment, Store, backend_for, open_deployment, open_store

T = TypeVar("T")
T0 = datetime.fromisoformat("2026-03-02T15:00:00.000Z")
NUMBER = "+15125550123"
OTHER_NUMBER = "MG" + "b" * 32
CLIENT = "203.0.113.9"
WINDOW, LIMIT = 60.0, 20


def at(seconds: float) -> str:
    return iso_utc(T0 + timedelta(seconds=seconds))


@asynccontextmanager
async def opened(database_url: str, opener: Callable[[str], Awaitable[T]], count: int) -> AsyncIterator[list[T]]:
    """`count` instances of the store, as `count` processes would have them; one where only one process can."""
    if backend_for(database_url).one_process:
        count = 1
    instances: list[Any] = []
    try:
        for _ in range(count):
            instances.append(await opener(database_url))
        yield instances
    finally:
        for instance in instances:
            await instance.close()


def stores(database_url: str, scenario: Callable[[list[Store]], Awaitable[T]], count: int = 1) -> T:
    async def main() -> T:
        async with opened(database_url, open_store, count) as instances:
            return await scenario(instances)

    return asyncio.run(main())


def deployments(database_url: str, scenario: Callable[[list[Deployment]], Awaitable[T]], count: int = 1) -> T:
    async def main() -> T:
        async with opened(database_url, open_deployment, count) as instances:
            return await scenario(instances)

    return asyncio.run(main())


# -- send slots: the per-number send-rate cap ---------------------------------------------------


def test_slots_are_spaced_at_the_rate_and_an_idle_number_saves_up_no_burst(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> list[list[float]]:
        (store,) = instances
        burst = [await store.take_send_slot(NUMBER, at(0), 4) for _ in range(4)]
        after_idling = [await store.take_send_slot(NUMBER, at(10), 4) for _ in range(2)]
        meanwhile = [await store.take_send_slot(NUMBER, at(10.1), 4)]  # its slot is the next free one
        return [burst, after_idling, meanwhile]

    assert stores(database_url, scenario) == [
        pytest.approx([0.0, 0.25, 0.5, 0.75], abs=1e-6),
        pytest.approx([0.0, 0.25], abs=1e-6),
        pytest.approx([0.4], abs=1e-6),
    ]


def test_each_number_has_its_own_slots(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> list[float]:
        (store,) = instances
        return [
            await store.take_send_slot(NUMBER, at(0), 1),
            await store.take_send_slot(OTHER_NUMBER, at(0), 1),
            await store.take_send_slot(NUMBER, at(0), 1),
            await store.take_send_slot(OTHER_NUMBER, at(0.5), 1),
        ]

    assert stores(database_url, scenario) == pytest.approx([0.0, 0.0, 1.0, 0.5], abs=1e-6)


def test_two_processes_reserving_at_once_get_one_schedule_each_slot_once(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> tuple[list[float], list[float]]:
        def sender(n: int) -> Awaitable[float]:
            return instances[n % len(instances)].take_send_slot(NUMBER, at(0), 50)

        waits = await asyncio.gather(*(sender(n) for n in range(40)))
        others = await asyncio.gather(*(sender(n) for n in range(2)))  # ... while the next ones queue behind
        return sorted(waits), list(others)

    waits, later = stores(database_url, scenario, count=2)
    assert waits == pytest.approx([n / 50 for n in range(40)], abs=1e-6)
    assert sorted(later) == pytest.approx([40 / 50, 41 / 50], abs=1e-6)


def test_slots_are_kept_across_a_restart_where_processes_share_them(database_url: str) -> None:
    async def first(instances: list[Store]) -> float:
        return await instances[0].take_send_slot(NUMBER, at(0), 0.5)

    async def second(instances: list[Store]) -> float:
        return await instances[0].take_send_slot(NUMBER, at(1), 0.5)

    assert stores(database_url, first) == 0.0
    # A shared store keeps the schedule for the other senders (one restarting is one of them);
    # a one-process store starts afresh with its process, which was the only sender.
    expected = 0.0 if backend_for(database_url).one_process else 1.0
    assert stores(database_url, second) == pytest.approx(expected, abs=1e-6)


# -- misses: a fixed window per key, counted by the deployment -----------------------------------


def test_the_limit_of_misses_blocks_the_key_for_the_rest_of_the_window(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> tuple[list[float], float, list[float]]:
        (deployment,) = instances
        counted = [await deployment.count_miss(CLIENT, at(0), WINDOW, LIMIT) for _ in range(LIMIT)]
        before = await deployment.miss_retry_after(CLIENT, at(0))
        waits = [await deployment.miss_retry_after(CLIENT, at(t)) for t in (0, 45.5, 59.999, 60, 61)]
        return counted, before, waits

    counted, before, waits = deployments(database_url, scenario)
    assert counted[:-1] == [0.0] * (LIMIT - 1) and counted[-1] == pytest.approx(60.0)
    assert before == pytest.approx(60.0)
    assert waits == pytest.approx([60.0, 14.5, 0.001, 0.0, 0.0], abs=1e-5)


def test_the_window_starts_at_the_first_miss_and_a_fresh_one_follows_it(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> tuple[list[float], list[float], float]:
        (deployment,) = instances
        spread = [await deployment.count_miss(CLIENT, at(t), WINDOW, LIMIT) for t in range(LIMIT)]
        fresh = [await deployment.count_miss(CLIENT, at(60 + t), WINDOW, LIMIT) for t in range(LIMIT)]
        return spread, fresh, await deployment.miss_retry_after(CLIENT, at(100))

    spread, fresh, blocked = deployments(database_url, scenario)
    assert spread[:-1] == [0.0] * (LIMIT - 1) and spread[-1] == pytest.approx(60 - 19)
    # At 60 s the first window has ended: the next miss starts a window of its own, counted from 1.
    assert fresh[:-1] == [0.0] * (LIMIT - 1) and fresh[-1] == pytest.approx(120 - 79)
    assert blocked == pytest.approx(20.0)


def test_misses_while_blocked_do_not_extend_the_block(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> list[float]:
        (deployment,) = instances
        for _ in range(LIMIT):
            await deployment.count_miss(CLIENT, at(0), WINDOW, LIMIT)
        return [
            await deployment.count_miss(CLIENT, at(30), WINDOW, LIMIT),
            await deployment.count_miss(CLIENT, at(59), WINDOW, LIMIT),
            await deployment.miss_retry_after(CLIENT, at(60)),
        ]

    assert deployments(database_url, scenario) == pytest.approx([30.0, 1.0, 0.0])


def test_keys_are_counted_separately(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> list[float]:
        (deployment,) = instances
        for _ in range(LIMIT):
            await deployment.count_miss(CLIENT, at(0), WINDOW, LIMIT)
        return [
            await deployment.miss_retry_after(CLIENT, at(1)),
            await deployment.miss_retry_after("198.51.100.7", at(1)),
            await deployment.count_miss("198.51.100.7", at(1), WINDOW, LIMIT),
        ]

    assert deployments(database_url, scenario) == pytest.approx([59.0, 0.0, 0.0])


def test_misses_from_two_processes_add_up_each_counted_once(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> tuple[list[float], list[float], list[float]]:
        def miss(n: int) -> Awaitable[float]:
            return instances[n % len(instances)].count_miss(CLIENT, at(0), WINDOW, LIMIT)

        almost = await asyncio.gather(*(miss(n) for n in range(LIMIT - 1)))
        allowed = [await instance.miss_retry_after(CLIENT, at(1)) for instance in instances]
        last = await asyncio.gather(*(miss(n) for n in range(2)))
        blocked = [await instance.miss_retry_after(CLIENT, at(1)) for instance in instances]
        return [*almost, *last], allowed, blocked

    counted, allowed, blocked = deployments(database_url, scenario, count=2)
    assert sorted(counted)[: LIMIT - 1] == [0.0] * (LIMIT - 1)  # from the limit-th miss on, the key waits
    assert sorted(counted)[LIMIT - 1 :] == pytest.approx([60.0, 60.0])
    assert allowed == [0.0] * len(allowed)
    assert blocked == pytest.approx([59.0] * len(blocked))
