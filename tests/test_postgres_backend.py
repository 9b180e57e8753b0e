"""What only the PostgreSQL backend must show: migrations, several processes at once, notifications, lost connections.

The Store contract itself runs on PostgreSQL in tests/store_contract/. Here, two stores opened
on one database stand for two processes (each has its own pool and listening connection), and
a private cluster (initdb + pg_ctl) is stopped and started again where a test needs the server gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import NotFound, StoreError, StoreUnavailable
from store import JobWrite, Message, Store, backend_for, open_deployment, open_store
from store.postgres import check_postgres_url
from store.postgres.connection import connect
from store.postgres.migrate import migrate, migration_status, migrations, newest_version
from tests.pg import fresh_database, private_cluster, require_postgres
from tests.store_contract.support import CUSTOMER, inbound, job_record, outbound, reply_to

ROOT = Path(__file__).resolve().parents[1]
LATER = "2030-01-01T00:00:00.000Z"


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    require_postgres()
    with fresh_database(request.node.originalname) as database_url:
        yield database_url


def run(scenario: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(scenario)


async def two_stores(url: str, scenario: Callable[[Store, Store], Awaitable[Any]]) -> Any:
    """`scenario(a, b)` with two stores on one database, as two processes would have them."""
    first = await open_store(url)
    try:
        second = await open_store(url)
        try:
            return await scenario(first, second)
        finally:
            await second.close()
    finally:
        await first.close()


# -- migrations ------------------------------------------------------------------------------------


def test_migrating_twice_applies_each_migration_once(url: str) -> None:
    async def scenario() -> tuple[list[str], list[str], Any]:
        async with connect(url) as conn:
            first = await migrate(conn)
            second = await migrate(conn)
            return first, second, await migration_status(conn)

    first, second, status = run(scenario())
    shipped = migrations()
    assert first == [m.name for m in shipped] and first[0] == "0001_initial" and second == []
    assert [(s.version, s.name, s.known, s.applied_at is not None) for s in status] == [
        (m.version, m.name, True, True) for m in shipped
    ]


def test_three_processes_starting_at_once_migrate_once(url: str) -> None:
    program = (
        "import asyncio, json, sys\n"
        "from store.postgres.migrate import migrate_database\n"
        "print(json.dumps(asyncio.run(migrate_database(sys.argv[1]))))\n"
    )

    async def scenario() -> list[Any]:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", program, url, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(3)
        ]
        outputs = [await process.communicate() for process in processes]
        assert all(process.returncode == 0 for process in processes), [err.decode() for _, err in outputs]
        return [json.loads(out) for out, _ in outputs]

    results = run(scenario())
    assert sorted(applied for applied, _ in results) == [[], [], [m.name for m in migrations()]]
    assert {version for _, version in results} == {newest_version()}


def test_a_database_newer_than_the_code_stops_start_up_with_a_message(url: str) -> None:
    async def scenario() -> None:
        store = await open_store(url)
        await store.close()
        async with connect(url) as conn:
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_from_the_future')")
        for opening in (open_store, open_deployment):
            with pytest.raises(StoreError) as refused:
                await opening(url)
            expected = f"the database schema is version 9999, newer than this code ({newest_version()}); upgrade qdn"
            assert refused.value.message == expected

    run(scenario())


# -- several processes on one database ---------------------------------------------------------------


def test_two_processes_draining_one_queue_never_share_a_text_and_keep_each_phones_order(url: str) -> None:
    phones = [f"+1512555{n:04d}" for n in range(8)]
    queued = [(phones[n % len(phones)], f"text {n}") for n in range(48)]
    claimed: list[tuple[str, str]] = []
    out: set[str] = set()  # phones with a text claimed right now

    async def worker(store: Store) -> None:
        idle = 0
        while idle < 3:
            batch = await store.claim_due(LATER, 3, 60)
            if not batch:
                idle += 1
                await asyncio.sleep(0.01)
                continue
            idle = 0
            for message in batch:
                assert message["to"] not in out, "two texts to one phone out at once"
                out.add(message["to"])
                claimed.append((message["to"], message["body"]))
            for message in batch:
                await asyncio.sleep(0)
                out.discard(message["to"])  # before the claim is dropped: never a false alarm
                await store.complete(message["id"], lambda m: {**m, "status": "sent"})

    async def scenario(a: Store, b: Store) -> list[Message]:
        for n, (phone, body) in enumerate(queued):
            await (a, b)[n % 2].add_message(outbound(phone, body, now=iso_utc_seconds(n)))
        await asyncio.gather(worker(a), worker(b), worker(a), worker(b))
        return await a.pending_messages()

    left = run(two_stores(url, scenario))
    assert left == []
    assert sorted(claimed) == sorted(queued)  # each text claimed exactly once
    for phone in phones:
        assert [body for to, body in claimed if to == phone] == [body for to, body in queued if to == phone]


def iso_utc_seconds(n: int) -> str:
    return f"2026-03-02T15:{n // 60:02d}:{n % 60:02d}.000Z"


def test_a_text_queued_by_one_process_wakes_a_sender_waiting_in_another(url: str) -> None:
    async def scenario(a: Store, b: Store) -> tuple[bool, bool, bool]:
        await a.wait_for_work(0)
        waiting = asyncio.create_task(a.wait_for_work(10))
        await asyncio.sleep(0.05)
        await b.add_message(outbound(CUSTOMER, "hello"))
        woken = await asyncio.wait_for(waiting, 5)
        b.enable_events()
        events = asyncio.create_task(a.wait_for_events(10))
        await asyncio.sleep(0.05)
        await b.record_inbound(inbound("SMwake"))
        return woken, await asyncio.wait_for(events, 5), await a.wait_for_work(0.05)

    assert run(two_stores(url, scenario)) == (True, True, False)  # the inbound queued no text


def test_one_sid_delivered_to_two_processes_at_once_is_stored_once(url: str) -> None:
    calls: list[dict[str, Any]] = []

    def count(state: dict[str, Any]) -> dict[str, Any]:
        calls.append(state)
        return {**state, "last_ack_at": LATER}

    async def scenario(a: Store, b: Store) -> tuple[list[Any], list[Message]]:
        text = {**inbound("SMtwice"), "kind": "text"}
        results = await asyncio.gather(
            *(
                store.record_inbound(dict(text), outbound=[reply_to(text)], phone=CUSTOMER, change_phone=count)
                for store in (a, b) * 4
            )
        )
        return results, await b.phone_messages(CUSTOMER)

    results, stored = run(two_stores(url, scenario))
    assert sum(created for _, created in results) == 1
    assert len({messages[0]["id"] for messages, _ in results}) == 1
    assert {messages[0]["reply_body"] for messages, _ in results} == {"Job 1001 is scheduled."}  # answered alike
    assert len(stored) == 2 and len(calls) == 1


def test_tracking_tokens_are_unique_across_businesses_and_processes(url: str) -> None:
    async def scenario() -> tuple[list[str], Any, Any]:
        first = await open_deployment(url)
        second = await open_deployment(url)
        try:
            await first.add_business({"slug": "acme", "numbers": ["+13125550100"]})
            await second.add_business({"slug": "bolt", "numbers": ["+13125550200"]})
            await first.refresh()
            await second.refresh()

            def builder(fresh: str) -> Callable[[int], JobWrite]:
                tokens = iter(["SAMETOKEN", fresh])
                return lambda job_id: JobWrite(job_record(job_id, next(tokens)))

            written = await asyncio.gather(
                first.store("acme").create_job(builder("ACMEFRESH")),
                second.store("bolt").create_job(builder("BOLTFRESH")),
            )
            return (
                sorted(w.job["token"] for w in written),
                await second.find_job_by_token("SAMETOKEN"),
                await first.find_job_by_token("BOLTFRESH"),
            )
        finally:
            await first.close()
            await second.close()

    tokens, same, fresh = run(scenario())
    assert tokens in (["BOLTFRESH", "SAMETOKEN"], ["ACMEFRESH", "SAMETOKEN"])
    assert same is not None and same[1]["token"] == "SAMETOKEN"
    assert fresh is None or fresh[0] == "bolt"


def test_a_business_added_by_another_process_is_found_by_its_lookups(url: str) -> None:
    async def scenario() -> tuple[Any, ...]:
        here = await open_deployment(url)
        there = await open_deployment(url)
        try:
            await there.add_business({"slug": "cargo", "numbers": ["+13125550300"]})
            await there.store("cargo").add_message({**outbound(CUSTOMER, "hi"), "twilio_sid": "SMcargo"})
            before = list(here.stores())
            sid_business = await here.business_of_sid("SMcargo")  # names a business unknown here: refreshed
            return before, sid_business, list(here.stores()), await here.business_of_sid("SM\x00x")
        finally:
            await here.close()
            await there.close()

    before, sid_business, after, odd = run(scenario())
    assert before == ["default"] and sid_business == "cargo" and after == ["default", "cargo"]
    assert odd is None  # a NUL (text columns cannot hold one) is simply not found


def test_a_message_id_of_one_business_is_not_found_in_another(url: str) -> None:
    async def scenario() -> None:
        deployment = await open_deployment(url)
        try:
            await deployment.add_business({"slug": "acme", "numbers": ["+13125550100"]})
            stored = await deployment.store("acme").add_message(outbound(CUSTOMER, "hi"))
            with pytest.raises(NotFound):
                await deployment.default.get_message(stored["id"])
            with pytest.raises(NotFound):
                await deployment.default.update_message(stored["id"], lambda m: {**m, "status": "sent"})
            assert await deployment.default.claim_due(LATER, 10, 60) == []
        finally:
            await deployment.close()

    run(scenario())


# -- URLs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql://qdn:s3cret@db:port/qdn",
        "postgresql://qdn:s3cret@db",
        "postgres:///qdn",
        "postgres://x",
        "postgresql://qdn:s3cret@db1:5432,db2:port/qdn",  # one host of several with a bad port
        "postgresql://qdn:s3cret@db1:5432,db2:70000/qdn",
    ],
)
def test_a_malformed_url_is_refused_naming_the_setting_and_hiding_the_password(bad: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as refused:
        backend_for(bad)
    assert "s3cret" not in str(refused.value)


def test_both_schemes_a_socket_url_and_several_hosts_are_accepted() -> None:
    for good in (
        "postgresql://qdn:pw@db:5432/qdn",
        "postgres://qdn@db/qdn",
        "postgresql:///qdn?host=/run/postgresql",
        "postgresql://qdn:pw@db1:5432,db2:5433/qdn?target_session_attrs=read-write",  # a primary and its standby
        "postgresql://qdn@db1,db2,[2001:db8::5]:5432/qdn",
    ):
        check_postgres_url(good)
        assert backend_for(good).one_process is False
        assert backend_for(good).data_folder(good) is None


# -- a lost connection -------------------------------------------------------------------------------


def test_a_server_that_cannot_be_reached_is_store_unavailable_quickly() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(StoreUnavailable):
            await open_store(f"postgresql://postgres@127.0.0.1:{port}/qdn")
        return loop.time() - started

    assert run(scenario()) < 5


def test_connections_killed_by_the_server_are_replaced_by_themselves(url: str) -> None:
    async def scenario(a: Store, b: Store) -> tuple[bool, Any]:
        await a.add_message(outbound(CUSTOMER, "before"))
        async with connect(url) as admin:
            killed = await admin.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
        assert killed >= 4  # both stores' pools and listeners
        # At most one call per process fails (503): the pool then replaces every dead connection at once.
        rows = await eventually(lambda: a.phone_messages(CUSTOMER), attempts=2)
        await asyncio.sleep(1.5)  # the listener is back within RELISTEN_SECONDS
        await a.wait_for_work(0)
        waiting = asyncio.create_task(a.wait_for_work(10))
        await asyncio.sleep(0.05)
        await eventually(lambda: b.add_message(outbound(CUSTOMER, "after")), attempts=2)
        return await asyncio.wait_for(waiting, 5), rows

    woken, rows = run(two_stores(url, scenario))
    assert woken and [m["body"] for m in rows] == ["before"]


async def eventually(call: Callable[[], Awaitable[Any]], attempts: int = 20) -> Any:
    """`call()`, retried while the store is unavailable (each failure must be StoreUnavailable)."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except StoreUnavailable:
            await asyncio.sleep(0.25)
    return await call()


def test_a_server_gone_and_back_is_unavailable_meanwhile_and_then_used_again() -> None:
    with private_cluster() as (url, stop, start):

        async def scenario() -> tuple[float, list[str]]:
            deployment = await open_deployment(url)
            try:
                store = deployment.default
                await store.add_message(outbound(CUSTOMER, "before"))
                stop()
                loop = asyncio.get_running_loop()
                started = loop.time()
                for call in (deployment.ping, lambda: store.add_message(outbound(CUSTOMER, "lost"))):
                    with pytest.raises(StoreUnavailable):
                        await call()
                took = loop.time() - started
                start()
                await eventually(lambda: store.add_message(outbound(CUSTOMER, "after")), attempts=40)
                await deployment.ping()
                return took, [m["body"] for m in await store.phone_messages(CUSTOMER)]
            finally:
                await deployment.close()

        took, bodies = run(scenario())
        assert took < 12  # two calls, each within the connect timeout: never Twilio's 15 s
        assert bodies == ["before", "after"]  # nothing acknowledged was lost, nothing refused was kept


# -- the pool ----------------------------------------------------------------------------------------


def test_a_store_call_waits_for_a_pooled_connection_only_as_long_as_its_time_limit(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection taken: the next call is 503-able (StoreUnavailable) once ACQUIRE_TIMEOUT is out, not
    a hang; one given back: the next call gets it. (An idle connection is handed over with no timer.)"""
    from store.postgres import connection as pg

    monkeypatch.setattr(pg, "ACQUIRE_TIMEOUT", 0.3)

    async def scenario() -> None:
        async def noop(conn: object) -> None:
            return None

        database = await pg.Database.open(url, migrate=noop)
        try:
            async with contextlib.AsyncExitStack() as held:
                for _ in range(pg.POOL_MAX):
                    await held.enter_async_context(database.connection())
                started = asyncio.get_running_loop().time()
                with pytest.raises(StoreUnavailable):
                    async with database.connection():
                        pass
                assert asyncio.get_running_loop().time() - started < 3
            async with database.connection() as conn:  # given back: taken at once
                assert await conn.fetchval("SELECT 1") == 1
        finally:
            await database.close()

    run(scenario())


def test_a_store_call_cancelled_mid_statement_on_a_frozen_server_gives_its_connection_back_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its release waits for the server to take the cancel -- which a frozen server never does -- only
    ACQUIRE_TIMEOUT, as when every acquire had that timeout; then the connection is closed."""
    from store.postgres import connection as pg

    monkeypatch.setattr(pg, "ACQUIRE_TIMEOUT", 0.5)
    with private_cluster() as cluster:

        async def scenario() -> float:
            async def noop(conn: object) -> None:
                return None

            database = await pg.Database.open(cluster.url, migrate=noop)
            try:

                async def slow() -> None:
                    async with database.connection() as conn:
                        await conn.execute("SELECT pg_sleep(3)")

                task = asyncio.create_task(slow())
                await asyncio.sleep(0.5)  # the statement is running
                cluster.freeze()
                try:
                    loop = asyncio.get_running_loop()
                    started = loop.time()
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StoreError):
                        await asyncio.wait_for(task, 10)
                    return loop.time() - started
                finally:
                    cluster.thaw()
            finally:
                await database.close()

        assert run(scenario()) < 3
