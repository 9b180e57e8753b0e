"""The throttles on PostgreSQL beyond the contract: two senders keep one cap together; old rows go.

Skipped with the reason where no PostgreSQL can be reached (a failure under CI=true).

The cap is checked by times, never by how long a run took. Two senders, each on its own
store instance (as two `qdn send` processes), drain one queue from one number; the test
records, for each attempt, the send slot the store gave it and the time the fake transport
was called. The slots of the number, from both senders together, are never closer than
1/rate; and no send goes before its own slot. So no two sends are closer than their slots
allow -- a send may only be later than its slot: by the write that marks its row (before
the request, for crash safety: sender/attempt.py) and a turn of the event loop, ~2 ms
typically, tens of ms on a busy machine, more if the machine stalls the process. Comparing
recorded send times with each other alone would fail on such a delay, though no send
was early; what those times show is printed (pytest -s), for the record.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.jobs import iso_utc
from bot.messages import outbound_message
from sender.transports import Accepted, Transport
from sender.worker import Sender, running
from store import Store, open_deployment, open_store
from store.postgres.connection import POOL_MAX
from store.postgres.outbox import housekeeping
from store.throttles import seconds_of
from tests.pg import fresh_database, require_postgres

RATE = 50.0
TEXTS = 150
NUMBER = "+15125550123"
CLOCK_STEP = 0.001  # the store's `now` is read a moment before the transport's clock: microseconds apart


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    require_postgres()
    with fresh_database(request.node.originalname) as database_url:
        yield database_url


class Attempts:
    """What the run recorded: each attempt's slot (from the store) and its send (from the transport)."""

    def __init__(self) -> None:
        self.slots: dict[asyncio.Task[Any], float] = {}  # an attempt's task -> its slot, epoch seconds
        self.sends: list[tuple[float, str, str, asyncio.Task[Any]]] = []  # (epoch seconds, sender, to, task)

    def record_slots(self, store: Store) -> None:
        take = store.take_send_slot

        async def take_send_slot(number: str, now: str, per_second: float) -> float:
            wait = await take(number, now, per_second)
            task = asyncio.current_task()
            assert task is not None
            self.slots[task] = seconds_of(now) + wait
            return wait

        store.take_send_slot = take_send_slot  # type: ignore[method-assign]


class Recording(Transport):
    """Accepts every text at once and records when (wall clock, as the slots), from which sender."""

    live = False

    def __init__(self, name: str, attempts: Attempts) -> None:
        self.name = name
        self.attempts = attempts

    async def send(self, to: str, body: str, media_urls: Sequence[str] = (), *, message_id: str = "") -> Accepted:
        task = asyncio.current_task()
        assert task is not None
        self.attempts.sends.append((time.time(), self.name, to, task))
        return Accepted(f"SM{len(self.attempts.sends):032d}", "queued")

    async def find_sent(self, to: str, body: str, since: datetime) -> list[Accepted]:
        return []


async def queue_texts(store: Store, count: int) -> None:
    now = iso_utc(datetime.now(UTC) - timedelta(seconds=1))
    for n in range(count):  # one phone each: per-phone order holds none of them back
        row = outbound_message(kind="relay", to=f"+1512555{n:04d}", body=f"text {n}", sender=NUMBER, now=now,
                               opted_out=False)  # fmt: skip
        await store.add_message(row)


def test_two_senders_on_two_store_instances_keep_one_cap_together(url: str) -> None:
    run = Attempts()

    async def scenario() -> None:
        first, second = await open_store(url), await open_store(url)  # as two `qdn send` processes
        try:
            await queue_texts(first, TEXTS)
            for store in (first, second):  # every pooled connection opened before the run, not during it
                await asyncio.gather(*(store.ping() for _ in range(POOL_MAX)))
                run.record_slots(store)
            senders = [
                Sender(store, Recording(name, run), rate_per_second=RATE, give_up_hours=24, number=NUMBER)
                for store, name in ((first, "first"), (second, "second"))
            ]
            async with running(senders[0]), running(senders[1]):
                async with asyncio.timeout(60):
                    while len(run.sends) < TEXTS:
                        await asyncio.sleep(0.05)
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())
    slots = sorted(run.slots.values())
    slot_gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    late = sorted(at - run.slots[task] for at, _, _, task in run.sends)
    times = sorted(at for at, _, _, _ in run.sends)
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times))
    sent_rate = (len(times) - 1) / (times[-1] - times[0])
    slot_rate = (len(slots) - 1) / (slots[-1] - slots[0])
    print(  # what the run measured, for the record (pytest -s)
        f"\n{len(times)} texts through 2 senders at a {RATE:g}/s cap: {sent_rate:.1f}/s sent, "
        f"slots {slot_rate:.2f}/s; send after its slot: p50 {late[len(late) // 2] * 1000:.1f} ms, "
        f"max {late[-1] * 1000:.1f} ms; gap between sends: p50 {gaps[len(gaps) // 2] * 1000:.1f} ms, "
        f"min {gaps[0] * 1000:.1f} ms"
    )
    assert sorted(to for _, _, to, _ in run.sends) == [f"+1512555{n:04d}" for n in range(TEXTS)]  # each text once
    assert {name for _, name, _, _ in run.sends} == {"first", "second"}  # both senders took a share
    assert min(slot_gaps) >= 1 / RATE - 1e-6  # the number's slots, from both senders, spaced at the cap
    assert late[0] >= -CLOCK_STEP  # and no send went before its own slot


def test_the_housekeeping_forgets_ended_miss_windows_and_idle_numbers(url: str) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        deployment = await open_deployment(url)
        try:
            now = datetime.now(UTC)
            await deployment.count_miss("ended", iso_utc(now - timedelta(minutes=2)), 60, 20)
            await deployment.count_miss("current", iso_utc(now), 60, 20)
            await deployment.default.take_send_slot("+15125550100", iso_utc(now - timedelta(days=2)), 1)
            await deployment.default.take_send_slot(NUMBER, iso_utc(now), 1)
            db: Any = deployment.default.db  # type: ignore[attr-defined]
            async with db.connection() as conn:
                await housekeeping(conn)
                misses = await conn.fetch("SELECT key FROM miss_windows ORDER BY key")
                slots = await conn.fetch("SELECT number FROM send_slots ORDER BY number")
            return [row["key"] for row in misses], [row["number"] for row in slots]
        finally:
            await deployment.close()

    assert asyncio.run(scenario()) == (["current"], [NUMBER])
