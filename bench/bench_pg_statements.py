"""PostgreSQL's side of a webhook (issue #30): its statements, WAL, commits and notifications, per webhook.

    make bench-pg-statements   # = .venv/bin/python bench/bench_pg_statements.py [--seconds 4] [--kinds ...]

The service (`python -m web serve`, RUN_SENDER=false) on a fresh database made from the large data
set's template (bench/bench_postgres.py), fed bench/bench_cpu.py's three kinds of webhook by wrk;
per kind a warm-up, then PostgreSQL's counters reset, a timed run, the counters read. Printed per
kind, everything divided by the webhooks answered:

  - each statement (pg_stat_statements, nested ones too: a trigger's, marked "  >"): calls, mean
    execution µs, execution µs, rows, shared blocks hit / dirtied, WAL bytes -- per webhook;
  - the trigger functions (pg_stat_user_functions: track_functions = pl): calls and self µs;
  - write transactions (transaction ids taken: each commits, and waits for its WAL on disk), WAL
    bytes (the LSN moved), notifications delivered (a LISTEN of its own on every channel the
    service uses: one listener more than the service's own);
  - what the database's backends were doing, sampled every 20 ms through the run (pg_stat_activity:
    running, waiting on a lock -- which -- or on I/O, idle): where a webhook waits;
  - the web process's CPU and PostgreSQL's (bench_cpu's, /proc) a webhook.

`--py-spy FOLDER`: py-spy (if installed) records the web process through each timed run, as
collapsed stacks (FOLDER/<kind>.txt; `--idle` off: CPU only).

Needs wrk and a server of its own, loading pg_stat_statements (its admin URL as for the tests:
QDN_TEST_POSTGRES_URL), e.g. a private cluster (docs/performance.md, "PostgreSQL's side"):

    initdb -D DIR -U postgres --auth=trust; then in DIR/postgresql.conf:
    shared_preload_libraries = 'pg_stat_statements'; track_io_timing = on; track_functions = pl
    pg_stat_statements.track = all; cluster_name = 'qdnbench'   # QDN_BENCH_PG_CLUSTER=qdnbench: count only its CPU
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.bench_cpu import KINDS, WARM_UP_SECONDS, Backend, Feed, Run, delivered, timed  # noqa: E402
from bench.bench_postgres import Databases, admin_on, short, template, url_of  # noqa: E402
from bench.bench_webhook import machine, manifest_of  # noqa: E402
from bench.load import require_wrk  # noqa: E402
from store.postgres.connection import CHANGES_CHANNEL, EVENTS_CHANNEL, MEDIA_CHANNEL, WORK_CHANNEL  # noqa: E402

CHANNELS = (WORK_CHANNEL, EVENTS_CHANNEL, MEDIA_CHANNEL, CHANGES_CHANNEL)
STATS_FLUSH_SECONDS = 1.5  # backends report their counters at most every second, when idle

_STATEMENTS = """SELECT query, toplevel, calls, total_exec_time, total_plan_time, rows, shared_blks_hit,
    shared_blks_read, shared_blks_dirtied, wal_bytes, wal_records, wal_fpi
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND calls > 0
ORDER BY total_exec_time DESC"""
# pg_stat_database's and pg_stat_wal's counters are reported by each backend when idle, up to 10 s late
# (PostgreSQL 15): not these. The LSN and the next transaction id are exact.
_POSITION = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
_ACTIVITY = """SELECT CASE WHEN state = 'idle' THEN 'idle' WHEN wait_event IS NULL THEN 'running'
    ELSE wait_event_type || ': ' || wait_event || CASE WHEN wait_event_type = 'Lock' THEN ' ' || COALESCE(
        (SELECT string_agg(DISTINCT l.locktype || ' ' || l.mode, ', ') FROM pg_locks l
         WHERE l.pid = a.pid AND NOT l.granted), '') ELSE '' END END AS doing, count(*)
FROM pg_stat_activity a WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    AND NOT EXISTS (SELECT FROM pg_listening_channels()) GROUP BY 1"""
_FUNCTIONS = "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions ORDER BY self_time DESC"


@dataclass
class Counters:
    statements: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    xids: int
    wal_lsn_bytes: int
    notifications: dict[str, int]
    waits: dict[str, int]


class Watcher:
    """A connection to the bench's database resetting and reading PostgreSQL's counters, and one listening."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url, self.database = admin_url, database
        self.notified: dict[str, int] = {}

    async def open(self) -> None:
        import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

        self.admin = await asyncpg.connect(self.admin_url)
        await self.admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.conn = await asyncpg.connect(url_of(self.database))
        self.listener = await asyncpg.connect(url_of(self.database))
        for channel in CHANNELS:
            await self.listener.add_listener(channel, self._notified)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.notified[channel] = self.notified.get(channel, 0) + 1

    async def close(self) -> None:
        for conn in (self.admin, self.conn, self.listener):
            await conn.close()

    async def reset(self) -> tuple[int, int]:
        await asyncio.sleep(STATS_FLUSH_SECONDS)  # the warm-up's counters reported, then forgotten
        await self.admin.execute("SELECT pg_stat_statements_reset()")
        await self.conn.execute("SELECT pg_stat_reset()")  # this database's counters, its functions' too
        await self.admin.execute("SELECT pg_stat_reset_shared('wal')")
        self.notified = {}
        self.waits: dict[str, int] = {}
        lsn, xid = await self.admin.fetchrow(_POSITION)
        return int(lsn), int(xid)

    async def read(self, start: tuple[int, int]) -> Counters:
        lsn, xid = await self.admin.fetchrow(_POSITION)
        notified = dict(self.notified)
        await asyncio.sleep(STATS_FLUSH_SECONDS)
        statements = [dict(row) for row in await self.admin.fetch(_STATEMENTS, self.database)]
        functions = [dict(row) for row in await self.conn.fetch(_FUNCTIONS)]
        return Counters(statements, functions, int(xid) - start[1] - 1, int(lsn) - start[0], notified, self.waits)

    async def sample(self, stop: asyncio.Event) -> None:
        """pg_stat_activity every 20 ms until `stop`: what the service's backends are doing."""
        sampler = await __import__("asyncpg").connect(self.admin_url)
        try:
            while not stop.is_set():
                for doing, count in await sampler.fetch(_ACTIVITY, self.database):
                    self.waits[doing] = self.waits.get(doing, 0) + count
                await asyncio.sleep(0.02)
        finally:
            await sampler.close()


def gist(query: str) -> str:
    """What a statement is, in a few words (bench_postgres.short, and a trigger's statements by their table)."""
    flat = re.sub(r"\s+", " ", query).strip()
    if flat.upper().startswith(("SELECT PG_STAT", "SELECT PG_CURRENT", "CREATE EXTENSION")):
        return ""
    return short(flat)[:70]


def report(kind: str, run: Run, counters: Counters) -> None:
    n = run.load.requests
    print(f"\n### {kind}: {n:,} webhooks, {run.load.per_second:,.0f} req/s; web {run.web_us:.0f} µs CPU a webhook, "
          f"PostgreSQL {run.pg_us:.0f} µs\n")  # fmt: skip
    print("| statement | calls | mean µs | µs | rows | blocks hit / dirtied | WAL bytes |")
    print("|---|---|---|---|---|---|---|")
    for row in counters.statements:
        name = gist(row["query"])
        if not name or row["calls"] < n / 100:
            continue
        name = name if row["toplevel"] else f"  > {name}"
        mean = row["total_exec_time"] / row["calls"] * 1000
        print(f"| {name} | {row['calls'] / n:.2f} | {mean:.0f} | {row['total_exec_time'] / n * 1000:.0f} "
              f"| {row['rows'] / n:.2f} | {row['shared_blks_hit'] / n:.1f} / {row['shared_blks_dirtied'] / n:.2f} "
              f"| {int(row['wal_bytes']) / n:,.0f} |")  # fmt: skip
    top = [r for r in counters.statements if r["toplevel"] and gist(r["query"])]
    print(f"| **all top-level** | {sum(r['calls'] for r in top) / n:.2f} | | "
          f"{sum(r['total_exec_time'] for r in top) / n * 1000:.0f} | | | |")  # fmt: skip
    for row in counters.functions:
        if row["calls"]:
            own, total = row["self_time"] / n * 1000, row["total_time"] / n * 1000
            print(f"  function {row['funcname']}: {row['calls'] / n:.2f} calls, self {own:.0f} µs, "
                  f"total {total:.0f} µs a webhook")  # fmt: skip
    wal_records = sum(int(r["wal_records"]) for r in counters.statements)
    fpi = sum(int(r["wal_fpi"]) for r in counters.statements)
    notes = ", ".join(f"{channel} {count / n:.2f}" for channel, count in sorted(counters.notifications.items()))
    print(f"  write transactions {counters.xids / n:.2f} a webhook; WAL {counters.wal_lsn_bytes / n:,.0f} bytes "
          f"(the LSN), {wal_records / n:.1f} records and {fpi / n:.2f} full-page images (the statements') a "
          f"webhook; notifications delivered {notes or 'none'}", flush=True)  # fmt: skip
    busy = sum(count for doing, count in counters.waits.items() if doing != "idle") or 1
    shown = sorted(((c, d) for d, c in counters.waits.items() if d != "idle"), reverse=True)
    print("  backends not idle, sampled: " + ", ".join(f"{d} {c / busy:.0%}" for c, d in shown[:6]))


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "-p", str(pid), "-d", str(round(seconds)), "-r", "250", "-f", "raw", "-o", str(out)]
    return subprocess.Popen([*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measure(watcher: Watcher, server: Any, feed: Feed, kind: str, seconds: float, connections: int,
                  database: str, profile: Path | None) -> tuple[Run, Counters]:  # fmt: skip
    await asyncio.to_thread(timed, server, feed, kind, WARM_UP_SECONDS, database, connections)
    start = await watcher.reset()
    spy = py_spy(server.process.pid, seconds, profile / f"{kind}.txt") if profile else None
    stop = asyncio.Event()
    sampling = asyncio.create_task(watcher.sample(stop))
    run = await asyncio.to_thread(timed, server, feed, kind, seconds, database, connections)
    stop.set()
    await sampling
    if spy is not None:
        spy.wait(30)
    return run, await watcher.read(start)


async def one_life(server: Any, database: str, feed: Feed, kinds: Sequence[str], seconds: float,
                   connections: int, profile: Path | None) -> None:  # fmt: skip
    from tests.pg import admin_url

    server.start()
    watcher = Watcher(admin_url(), database)
    await watcher.open()
    try:
        for kind in kinds:
            run, counters = await measure(watcher, server, feed, kind, seconds, connections, database, profile)
            report(kind, run, counters)
    finally:
        await watcher.close()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4, help="each timed run (after a 1 s warm-up)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--sql",
        help="SQL run on the fresh database before the service starts: an experiment "
        "(`ALTER TABLE messages DISABLE TRIGGER messages_changes_notify`: what a trigger costs)",
    )
    parser.add_argument("--py-spy", type=Path, help="a folder: py-spy's collapsed stacks of the web process")
    args = parser.parse_args()
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    require_wrk()
    data_set = generate.DATA_SETS["large"]
    generate.ensure(data_set)
    business = manifest_of(data_set)["businesses"][0]
    print(f"machine: {machine()}; data set {data_set.name}; {args.seconds:.0f} s a kind; "
          f"{args.connections} connections{'; ' + args.sql if args.sql else ''}")  # fmt: skip
    databases = Databases()
    with tempfile.TemporaryDirectory(prefix="qdn-pgstat-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        pg_template = template(data_set, work)
        callbacks = delivered(url_of(pg_template), business["delivered_sids"][:30_000])
        folder = Path(tempfile.mkdtemp(prefix="postgres-", dir=work))
        try:
            backend = Backend("postgres", work, databases, pg_template)
            feed = Feed(business, callbacks, folder)
            server, _, database = backend.server(feed.folder)
            assert database is not None
            if args.sql:
                admin_on(database, args.sql)
            asyncio.run(
                one_life(server, database, feed, args.kinds.split(","), args.seconds, args.connections, args.py_spy)
            )
        finally:
            databases.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
