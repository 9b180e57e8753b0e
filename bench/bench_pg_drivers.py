"""PostgreSQL drivers on the webhook's database work: asyncpg against psycopg 3 (with psycopg_pool).

    .venv/bin/pip install "psycopg[binary]" psycopg_pool      # only for this bench; asyncpg is the backend's
    .venv/bin/python bench/bench_pg_drivers.py [--seconds 6] [--rounds 3] [--concurrency 16] [--pool 10]

Issue #15 asks for the faster of the two on the webhook path. What one inbound webhook
asks of the database (handlers/twilio/receive.py, store/postgres/store.py), in the statements the
backend sends, is one "op" here:

    reads      the MessageSid already logged?          messages by (business, twilio_sid)
               the sender's phone state                 phones by (business, phone)
               the sender's open jobs                   jobs by (business, customer_phone), status filter
    one transaction (Store.record_inbound):
               BEGIN
               claim the SID                            INSERT twilio_sids ... ON CONFLICT DO NOTHING RETURNING
               log the inbound text                     INSERT messages ... RETURNING seq
               log the TwiML reply                      INSERT messages ... RETURNING seq
               the sender's new phone state             INSERT phones ... ON CONFLICT DO UPDATE
               COMMIT

`--concurrency` tasks (16, as wrk's connections in bench_webhook) run ops back to back
from one event loop (uvloop, as under uvicorn), through a pool of `--pool` connections
(10, the backend's POOL_MAX) per driver. Both drivers send the same SQL with the same
parameters; `json` columns go through orjson on both (store/codec.py). Each driver as
it is used: asyncpg prepares every statement (its statement cache), psycopg prepares
after 5 uses (its default `prepare_threshold`); autocommit outside the transaction
(asyncpg's default; psycopg's pool is given `autocommit=True`), so the reads open
none. The database is a fresh one with the real schema (store/postgres/migrations/),
10,000 jobs and 7,500 phones in it, dropped afterwards.

Printed per driver: ops/s, latency p50/p99 (pool wait included), the CPU time of this
process per op (the driver's share of a web process's core) and of PostgreSQL per op
(its processes serving this database, from /proc), then the ratio psycopg / asyncpg.
Rounds alternate the drivers (ABBA), and each figure is the median over its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402  # asyncpg ships no type information

from bot.jobs import iso_utc  # noqa: E402
from bot.messages import answer_message, inbound_message  # noqa: E402
from store import codec  # noqa: E402
from store.postgres.migrate import migrate  # noqa: E402

BUSINESS = "default"
JOBS, PHONES = 10_000, 7_500
OPEN_STATUSES = ["scheduled", "en_route", "arrived"]
NUMBER = "+15125550123"

FIND_SID = "SELECT seq, doc FROM messages WHERE business = $1 AND twilio_sid = $2 ORDER BY seq LIMIT 1"
PHONE_STATE = "SELECT state FROM phones WHERE business = $1 AND phone = $2"
OPEN_JOBS = (
    "SELECT doc FROM jobs WHERE business = $1 AND status = ANY($2::text[]) AND customer_phone = $3 "
    "ORDER BY id DESC LIMIT 1000"
)
CLAIM_SID = "INSERT INTO twilio_sids (sid, business) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true"
INSERT_MESSAGE = """INSERT INTO messages
    (business, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq"""
UPSERT_PHONE = """INSERT INTO phones (business, phone, state) VALUES ($1, $2, $3)
ON CONFLICT (business, phone) DO UPDATE SET state = EXCLUDED.state"""


def psycopg_sql(query: str) -> str:
    """asyncpg's `$1, $2 ...` as psycopg's `%s` (every statement here uses each parameter once, in order)."""
    numbers = [int(n) for n in re.findall(r"\$(\d+)", query)]
    assert numbers == list(range(1, len(numbers) + 1)), query
    return re.sub(r"\$\d+", "%s", query)


# --- PostgreSQL's own CPU time ---------------------------------------------------------------------

_CLIENT_BACKEND = re.compile(r"^postgres: (?:[^:]+: )?(\S+) (\S+) (?:\S+\(\d+\)|\[local\])")


def postgres_cpu_seconds(databases: set[str] | None = None) -> float:
    """User + system CPU time of the PostgreSQL server's processes, from /proc.

    `databases`: count only the client backends (and autovacuum workers) of these databases,
    beside the server's shared processes (postmaster, checkpointer, WAL writer, ...), so other
    users of the same server are left out. Backends that exited are not counted: measure with
    long-lived connections (a pool), before and after. With $QDN_BENCH_PG_CLUSTER (a private
    server's `cluster_name`), only that server's processes: another server on the machine (a
    shared one, busy with other programs' tests) is left out.
    """
    tick = os.sysconf("SC_CLK_TCK")
    cluster = os.environ.get("QDN_BENCH_PG_CLUSTER")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                raw = stat.read().decode(errors="replace")
            if "(postgres)" not in raw:
                continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if cluster and not command.startswith(f"postgres: {cluster}: "):
            continue
        if databases is not None:
            client = _CLIENT_BACKEND.match(command)
            if client is not None and client.group(2) not in databases:
                continue
            if "autovacuum worker" in command and not any(name in command for name in databases):
                continue
        fields = raw.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


# --- a database shaped like the service's -----------------------------------------------------------


def phones() -> list[str]:
    return [f"+1512{2000000 + n * 7:07d}" for n in range(PHONES)]


async def prepare(url: str) -> None:
    """The real schema, with 10,000 jobs of 7,500 customers (6 % open) and a phone state for each."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await conn.execute(
            """INSERT INTO jobs (business, id, token, status, customer_phone, reminder_due_at, updated_at, doc)
            SELECT $1, 1000 + n, 'TOKEN-' || n, CASE WHEN n % 17 = 0 THEN 'scheduled' ELSE 'complete' END,
                   '+1512' || lpad((2000000 + (n % $2) * 7)::text, 7, '0'), NULL, '2026-11-01T12:00:00.000Z',
                   json_build_object('id', 1000 + n, 'token', 'TOKEN-' || n, 'status', 'complete',
                       'customer_name', 'Dana Whitfield', 'service_type', 'junk removal',
                       'address', '1234 Ridgeview Dr, Austin, TX 78704', 'history', json_build_array())
            FROM generate_series(1, $3) AS n""",
            BUSINESS,
            PHONES,
            JOBS,
        )
        await conn.execute(
            """INSERT INTO phones (business, phone, state)
            SELECT $1, '+1512' || lpad((2000000 + n * 7)::text, 7, '0'),
                   '{"last_auto_reply": {"STATUS": "2026-11-01T12:00:00.000Z"}}'::json
            FROM generate_series(0, $2 - 1) AS n""",
            BUSINESS,
            PHONES,
        )
        # Hint bits set, visibility map and statistics made: the first timed run must not pay for them.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


@dataclass
class Op:
    """One webhook's parameters: a new MessageSid from one customer, its text and reply rows."""

    sid: str
    phone: str
    inbound: dict[str, Any]
    reply: dict[str, Any]
    state: dict[str, Any]


def ops(run: int) -> Iterator[Op]:
    """Run `run`'s webhooks: its own MessageSids, customers drawn at random."""
    rng = random.Random(run)
    everyone = phones()
    n = 0
    while True:
        n += 1
        phone = rng.choice(everyone)
        now = iso_utc(datetime.now(UTC))
        sid = f"SM{run:04x}{n:028x}"
        text = "Status please"
        reply = "QuickDumpNow: Job 1042 (junk removal) is scheduled. Track: https://sms.quickdumpnow.test/t/K7M2-9XPQ"
        inbound = inbound_message(kind="command", sid=sid, sender=phone, to=NUMBER, body=text, now=now,
                                  job_id=None, num_media="0", reply=reply)  # fmt: skip
        answer = answer_message(kind="reply", to=phone, body=reply, sender=NUMBER, now=now, job_id=None)
        yield Op(sid, phone, inbound, answer, {"last_auto_reply": {"STATUS": now}})


def message_columns(doc: dict[str, Any]) -> tuple[Any, ...]:
    """As store/postgres/rows.py: job_id, phone, recipient, twilio_sid, status, direction, created_at,
    next_attempt_at."""
    return (doc.get("job_id"), doc["phone"], doc.get("to") or doc["phone"], doc.get("twilio_sid"), doc["status"],
            doc["direction"], doc["created_at"], None)  # fmt: skip


# --- the two drivers, the same op -----------------------------------------------------------------


class Driver:
    name = ""

    async def open(self, url: str, pool: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def webhook(self, op: Op) -> None:
        raise NotImplementedError


class Asyncpg(Driver):
    name = "asyncpg"

    async def open(self, url: str, pool: int) -> None:
        async def init(conn: Any) -> None:  # as store/postgres/connection.py
            await conn.set_type_codec(
                "json", encoder=lambda v: codec.dumps(v).decode(), decoder=codec.loads, schema="pg_catalog"
            )

        async def keep_session(conn: Any) -> None:  # the backend's reset: no RESET ALL round trip on release
            return None

        self.pool = await asyncpg.create_pool(url, min_size=pool, max_size=pool, init=init, reset=keep_session)

    async def close(self) -> None:
        await self.pool.close()

    async def webhook(self, op: Op) -> None:
        async with self.pool.acquire() as conn:
            await conn.fetchrow(FIND_SID, BUSINESS, op.sid)
            await conn.fetchval(PHONE_STATE, BUSINESS, op.phone)
            await conn.fetch(OPEN_JOBS, BUSINESS, OPEN_STATUSES, op.phone)
        async with self.pool.acquire() as conn, conn.transaction():
            assert await conn.fetchval(CLAIM_SID, op.sid, BUSINESS)
            for doc in (op.inbound, op.reply):
                await conn.fetchval(INSERT_MESSAGE, BUSINESS, *message_columns(doc), doc)
            await conn.execute(UPSERT_PHONE, BUSINESS, op.phone, op.state)


class Psycopg(Driver):
    name = "psycopg"

    async def open(self, url: str, pool: int) -> None:
        psycopg_pool = importlib.import_module("psycopg_pool")
        json_types = importlib.import_module("psycopg.types.json")
        json_types.set_json_dumps(codec.dumps)  # orjson, as the backend's codec
        json_types.set_json_loads(codec.loads)
        self.json = json_types.Json
        self.sql = {q: psycopg_sql(q) for q in (FIND_SID, PHONE_STATE, OPEN_JOBS, CLAIM_SID, INSERT_MESSAGE,
                                                UPSERT_PHONE)}  # fmt: skip
        self.pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=pool, max_size=pool, kwargs={"autocommit": True}, open=False
        )
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def webhook(self, op: Op) -> None:
        sql, json = self.sql, self.json
        async with self.pool.connection() as conn:
            await (await conn.execute(sql[FIND_SID], (BUSINESS, op.sid))).fetchone()
            await (await conn.execute(sql[PHONE_STATE], (BUSINESS, op.phone))).fetchone()
            await (await conn.execute(sql[OPEN_JOBS], (BUSINESS, OPEN_STATUSES, op.phone))).fetchall()
        async with self.pool.connection() as conn, conn.transaction():
            assert await (await conn.execute(sql[CLAIM_SID], (op.sid, BUSINESS))).fetchone()
            for doc in (op.inbound, op.reply):
                cursor = await conn.execute(sql[INSERT_MESSAGE], (BUSINESS, *message_columns(doc), json(doc)))
                await cursor.fetchone()
            await conn.execute(sql[UPSERT_PHONE], (BUSINESS, op.phone, json(op.state)))


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Result:
    driver: str
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_op: float  # this process
    pg_cpu_us_per_op: float  # PostgreSQL's processes serving this database

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(driver: Driver, url: str, database: str, *, seconds: float, concurrency: int, pool: int,
                  run: int) -> Result:  # fmt: skip
    await driver.open(url, pool)
    try:
        source = ops(run)
        latencies: list[float] = []
        stop_at = 0.0
        timing = False

        async def worker() -> None:
            while True:
                op = next(source)
                started = time.perf_counter()
                await driver.webhook(op)
                finished = time.perf_counter()
                if timing:
                    latencies.append(finished - started)
                if finished >= stop_at:
                    return

        # Warm-up: every pooled connection prepares its statements, psycopg's past its threshold.
        stop_at = time.perf_counter() + max(1.0, seconds / 3)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        timing = True
        cpu, pg_cpu = time.process_time(), postgres_cpu_seconds({database})
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu, pg_cpu = time.process_time() - cpu, postgres_cpu_seconds({database}) - pg_cpu
    finally:
        await driver.close()
    count = len(latencies)
    return Result(driver.name, count, elapsed, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000,
                  cpu / count * 1e6, pg_cpu / count * 1e6)  # fmt: skip


def run_loop(main: Callable[[], Coroutine[Any, Any, Result]], loop: str) -> Result:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def median_result(results: list[Result]) -> Result:
    return Result(
        results[0].driver,
        int(statistics.median(r.ops for r in results)),
        statistics.median(r.seconds for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        statistics.median(r.cpu_us_per_op for r in results),
        statistics.median(r.pg_cpu_us_per_op for r in results),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per run (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per driver, alternating (ABBA)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    try:
        importlib.import_module("psycopg")
        importlib.import_module("psycopg_pool")
    except ImportError:
        raise SystemExit(
            'bench: psycopg is not installed; for this bench only: .venv/bin/pip install "psycopg[binary]" psycopg_pool'
        ) from None
    from tests.pg import fresh_database, postgres_problem

    problem = postgres_problem()
    if problem is not None:
        raise SystemExit(f"bench: {problem}")
    psycopg = importlib.import_module("psycopg")
    print(f"asyncpg {asyncpg.__version__}, psycopg {psycopg.__version__} ({psycopg.pq.__impl__} libpq wrapper), "
          f"psycopg_pool {importlib.import_module('psycopg_pool').__version__}; {args.loop}; "
          f"{args.concurrency} tasks, pools of {args.pool}, {args.seconds:g} s a run")  # fmt: skip
    results: dict[str, list[Result]] = {"asyncpg": [], "psycopg": []}
    with fresh_database("drivers") as url:
        database = url.rsplit("/", 1)[1]
        asyncio.run(prepare(url))
        order = [Asyncpg, Psycopg, Psycopg, Asyncpg] * args.rounds
        for n, kind in enumerate(order[: 2 * args.rounds]):
            driver = kind()

            def one(driver: Driver = driver, n: int = n) -> Coroutine[Any, Any, Result]:
                return measure(driver, url, database, seconds=args.seconds, concurrency=args.concurrency,
                               pool=args.pool, run=n)  # fmt: skip

            result = run_loop(one, args.loop)
            results[result.driver].append(result)
            print(f"  run {n + 1}: {result.driver:8} {result.per_second:7,.0f} ops/s  p50 {result.p50_ms:6.2f} ms  "
                  f"p99 {result.p99_ms:6.2f} ms  CPU {result.cpu_us_per_op:5.0f} us/op here, "
                  f"{result.pg_cpu_us_per_op:5.0f} us/op PostgreSQL")  # fmt: skip
    a, p = median_result(results["asyncpg"]), median_result(results["psycopg"])
    print()
    print("| driver | ops/s | p50 ms | p99 ms | CPU here, us/op | PostgreSQL CPU, us/op |")
    print("|---|---|---|---|---|---|")
    for r in (a, p):
        print(f"| {r.driver} | {r.per_second:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_us_per_op:.0f} "
              f"| {r.pg_cpu_us_per_op:.0f} |")  # fmt: skip
    print(f"| psycopg / asyncpg | {p.per_second / a.per_second:.2f} | {p.p50_ms / a.p50_ms:.2f} | "
          f"{p.p99_ms / a.p99_ms:.2f} | {p.cpu_us_per_op / a.cpu_us_per_op:.2f} | "
          f"{p.pg_cpu_us_per_op / a.pg_cpu_us_per_op:.2f} |")  # fmt: skip
    faster = a if a.per_second >= p.per_second else p
    print(f"faster on the webhook's work: {faster.driver}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
