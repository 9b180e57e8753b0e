"""PostgreSQL benchmark (issue #15): web processes on one database, round trips, senders against the cap.

    make bench-postgres     # = .venv/bin/python bench/bench_postgres.py [--seconds 8] [--rounds 2] [--parts ...]
                            #   (--parts: throughput,latency,trips,sender,claims; all by default)
                            #   [--quiet SECONDS: wait for an idle machine first] [--keep: keep the logs]

Needs wrk and a PostgreSQL server: the admin URL is QDN_TEST_POSTGRES_URL (required, as for the
tests: tests/pg.py; e.g. postgresql://postgres@127.0.0.1:5432/postgres), a role that may
create databases. Everything runs on this machine, in one run, each figure beside its baseline:

(a) throughput at 10,000 jobs / 200,000 texts: signed inbound-SMS webhooks (bench/load.py
    `Texts`, one text in 3 from a customer texting STATUS) against the service on PostgreSQL
    with 1 and with 2 web processes (`python -m web serve`, each on its own port, RUN_SENDER=false
    as beside `qdn send`), against bare Starlette (bench/baseline_app.py) with 1 and 2 processes,
    and against the service on TinyDB (1 process: its only shape). N processes get N wrk
    instances of 16/N connections each (an even load balancer); nothing is pinned: the web
    processes, PostgreSQL and wrk share the machine's cores, as they would on one host. Each
    shape runs `--rounds` times, alternating (ABC..CBA), on a fresh database (or data folder);
    the figures are the medians. During each timed run the CPU time of the web processes,
    of PostgreSQL (its processes serving that database, and its shared ones: /proc), of wrk,
    and of everything else on the machine is read, so the report says how much PostgreSQL took
    (and whether another program ran meanwhile: "other"); on PostgreSQL, also its transactions a
    request over the server's life (pg_stat_database). Printed beside them: the most 2 cores
    allow at the CPU a request measured with 1 process.
(b) latency as history grows: p50 and p99 of the same webhook one at a time (one connection,
    100 warm-up requests, then 1,500), 1 process on PostgreSQL with 200,000 texts against 1,000.
(c) round trips to PostgreSQL per inbound webhook (a customer's STATUS, a tracking code from a
    new phone, the same MessageSid delivered again) and per status callback (sent -> delivered,
    and a repeat): the app in this process (Starlette's TestClient over create_app, as the tests
    run it), every call on an asyncpg connection -- execute, fetch, fetchrow, fetchval, each one
    round trip once its statement is prepared -- counted while a request is being handled, after a
    warm-up that prepared them on every pooled connection. Transactions are shown as BEGIN/COMMIT; a call
    outside them is a statement of its own, in its own transaction (a write: data-modifying CTEs, so the
    webhook's whole write is one such statement: store/postgres/inbound.py).
(d) the sender: `--texts` pending texts (300, to as many new phones) queued in one write into a
    copy of the large data set, sent by 2 `python -m web send` processes (console transport,
    SEND_RATE_PER_SECOND=50), then by 1, against the cap: texts per second from 10 % to 90 % sent,
    the most sent within any 1 s, the delay from the queueing commit to the first text, CPU and
    PostgreSQL transactions per text, and each text printed once.
    Then a burst: `--burst` texts (1,000) for 2 senders; senders that send nothing for 20 s are
    reported stalled, with the last error they logged.
(e) claims (`--parts claims`, no data set, ~1 min): store/postgres/queue.py's claim and next_due statements
    against the window-function pass they replaced (WINDOW_CLAIM, WINDOW_NEXT_DUE), EXPLAIN (ANALYZE,
    BUFFERS) EXECUTE of each prepared with a generic plan (as the pool runs them), on fresh migrated
    databases filled by one INSERT with autovacuum off -- no statistics -- and again after ANALYZE:
    300, 1,000, 5,000 pending texts to as many phones (8 out), and 1,000, 5,000 with all but 100 to one
    phone, written first, its oldest out (a claim walks past the rest). The plans are written to the
    work folder (`--keep`).

Data: bench/generate.py's TinyDB data sets (`large`, `small`), copied once into a PostgreSQL
database with `qdn store copy`'s own code (store/copy.py: Store.import_rows, verified counts),
kept as a template (qdn_bench_<set>_<key>, keyed on the data set and store/postgres/), from
which every server gets a fresh database (CREATE DATABASE ... TEMPLATE), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import generate  # noqa: E402
from bench.bench_pg_drivers import postgres_cpu_seconds  # noqa: E402
from bench.load import LoadResult, Texts, require_wrk, run_wrk  # noqa: E402
from tests.twilio_fake import twilio_form  # noqa: E402

CONNECTIONS = 16
THROUGHPUT_EVERY = 3  # (a): one text in 3 from a customer texting STATUS, as bench_webhook.py
LATENCY_EVERY = 11  # (b): as bench_webhook.py (the small set has 149 customers who may text)
LATENCY_REQUESTS, LATENCY_WARMUP = 1_500, 100
SEND_RATE = 50
STALL_SECONDS = 20.0  # (d): no text sent for this long, and the senders are reported stalled
# $QDN_BENCH_PG_PREFIX: runs from several checkouts on one server each keep their own templates (a
# template of other code is dropped as stale).
PREFIX = os.environ.get("QDN_BENCH_PG_PREFIX") or "qdn_bench_"


def account_sid() -> str:
    return generate.bench_environ(Path("."))["TWILIO_ACCOUNT_SID"]


# --- databases ------------------------------------------------------------------------------------


def admin(*statements: str, attempts: int = 20) -> None:
    """Run statements as the admin; CREATE ... TEMPLATE and RENAME wait out a session on the database
    (an autovacuum worker, a pool still closing)."""
    from tests.pg import admin_url, execute

    for attempt in range(attempts):
        try:
            execute(admin_url(), *statements)
            return
        except Exception as error:
            if "being accessed by other users" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.25)


async def _fetch_column(url: str, query: str, *args: Any) -> list[Any]:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

    conn = await asyncpg.connect(url)
    try:
        return [row[0] for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def fetch_column(url: str, query: str, *args: Any) -> list[Any]:
    return asyncio.run(_fetch_column(url, query, *args))


def url_of(database: str) -> str:
    from tests.pg import database_url

    return database_url(database)


def _template_key(data_set: generate.DataSet) -> str:
    # The manifest too: a data set generated again under the same name has other tracking codes and SIDs.
    digest = hashlib.sha256((generate.ensure(data_set) / "manifest.json").read_bytes())
    folder = ROOT / "store" / "postgres"
    for path in sorted([*folder.glob("*.py"), *(folder / "migrations").glob("*.sql"), ROOT / "store/copy.py"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


async def _copy_into(source_url: str, target_url: str) -> list[str]:
    from store import open_deployment
    from store.copy import copy_deployment

    source = await open_deployment(source_url)
    try:
        target = await open_deployment(target_url)
        try:
            report = await copy_deployment(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
    return report.lines()


def template(data_set: generate.DataSet, work: Path) -> str:
    """The PostgreSQL database holding `data_set` (made once, through `qdn store copy`'s code): a template."""
    from tests.pg import admin_url

    name = f"{PREFIX}{data_set.name}_{_template_key(data_set)}"
    existing = fetch_column(admin_url(), "SELECT datname FROM pg_database WHERE datname LIKE $1",
                            f"{PREFIX}{data_set.name}\\_%")  # fmt: skip
    if name in existing:
        return name
    for stale in existing:  # an older data set or store, or a copy that was interrupted
        admin(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
    building = f"{name}_building"
    admin(f'CREATE DATABASE "{building}"')
    data, _ = generate.fresh_copy(data_set, work / f"copy-{data_set.name}")
    started = time.perf_counter()
    print(f"copying the {data_set.name} data set into PostgreSQL ({building}) ...", flush=True)
    lines = asyncio.run(_copy_into(f"tinydb:///{data.resolve()}/qdn.json", url_of(building)))
    for line in lines:
        print(f"  {line}")
    admin_on(building, "VACUUM (ANALYZE)")  # hint bits, visibility map, statistics: paid once, here
    admin(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    shutil.rmtree(data.parent, ignore_errors=True)
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return name


def admin_on(database: str, *statements: str) -> None:
    from tests.pg import execute

    execute(url_of(database), *statements)


class Databases:
    """Fresh databases made from templates (or empty), dropped at the end."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def fresh(self, template_name: str | None = None) -> str:
        name = f"{PREFIX}run_{secrets.token_hex(4)}"
        admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template_name}"' if template_name else ""))
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        for name in self.made:
            with contextlib.suppress(Exception):
                admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


# --- servers ----------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One process (a web process or a sender), unpinned; web processes answer /healthz when ready."""

    def __init__(self, command: Sequence[str], environ: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = list(command)
        self.environ = {**os.environ, **environ, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.cwd, self.log = cwd, log
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> Server:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.environ, stdout=log, stderr=log)
        return self

    def start(self, timeout: float = 60) -> Server:
        self.spawn()
        assert self.process is not None
        started = time.perf_counter()
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() - started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.01)
        raise RuntimeError(f"server did not answer /healthz within {timeout}s: {self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return proc_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def machine_busy_seconds() -> float:
    """CPU time every core has spent busy (all processes, the kernel's too), from /proc/stat."""
    cells = [int(cell) for cell in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    busy = sum(cells) - cells[3] - cells[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit: float, busy_cores: float = 0.3) -> float:
    """Wait (up to `limit` seconds) until the machine is idle -- under `busy_cores` of CPU busy over a
    second: another program's run would be measured with ours. The seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = machine_busy_seconds()
        time.sleep(1.0)
        if machine_busy_seconds() - before < busy_cores:
            break
    return time.perf_counter() - started


def database_transactions(database: str) -> int:
    """Transactions PostgreSQL has counted in `database` (a statement outside BEGIN is one of its own)."""
    from tests.pg import admin_url

    [count] = fetch_column(
        admin_url(), "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", database
    )
    return int(count)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- what one shape of servers is texted ----------------------------------------------------------------


def write_texts(path: Path, texts: Texts, numbers: Iterator[int]) -> Path:
    """The texts `numbers` names as signed webhooks, one per line (bench/load.py's format)."""
    validator = RequestValidator(generate.AUTH_TOKEN)
    url = generate.PUBLIC_BASE_URL + "/twilio/sms"
    sid = account_sid()
    with open(path, "w", encoding="utf-8") as out:
        for n in numbers:
            text = texts.at(n)
            form = twilio_form(text.sender, text.to, texts.sid(n), sid, text.body)
            out.write(f"{validator.compute_signature(url, form)}\t{urlencode(form)}\n")
    return path


@dataclass
class Shape:
    """N processes of one kind, texted by N wrk instances over the same database (or none)."""

    name: str
    servers: list[Server]
    texts: Texts
    folder: Path
    database: str | None = None  # the PostgreSQL database its processes share
    runs: int = 0

    def load(self, *, connections: int, budget: int, seconds: float) -> Run:
        """Each process gets every N-th text of the next N * `budget` (none sent before), from its own wrk."""
        count = len(self.servers)
        first = self.texts.cursor
        self.runs += 1
        files = [write_texts(self.folder / f"{self.name}-{self.runs}-{i}.txt", self.texts,
                             iter(range(first + i, first + count * (budget + connections + 8), count)))
                 for i in range(count)]  # fmt: skip
        web = [server.cpu_seconds() for server in self.servers]
        databases = {self.database} if self.database else set()
        pg, wrk, machine = postgres_cpu_seconds(databases), children_cpu_seconds(), machine_busy_seconds()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            results = list(pool.map(
                lambda pair: run_wrk(pair[0].url, pair[1], connections=connections // count, count=budget,
                                     duration=seconds, cpu=None),
                zip(self.servers, files, strict=True),
            ))  # fmt: skip
        machine = machine_busy_seconds() - machine
        wrk = children_cpu_seconds() - wrk
        pg = postgres_cpu_seconds(databases) - pg if self.database else 0.0
        web_cpu = sum(server.cpu_seconds() for server in self.servers) - sum(web)
        self.texts.cursor = first + count * max(result.sent for result in results)
        for result in results:
            if result.errors or result.exhausted or result.statuses.replace("200=", "").strip() != str(result.requests):
                raise RuntimeError(f"{self.name}: load run had errors or repeats: {result}")
        for file in files:
            file.unlink()
        return Run(self.name, results, web_cpu, pg, wrk, machine)


@dataclass
class Run:
    name: str
    results: list[LoadResult]
    web_cpu: float
    pg_cpu: float
    wrk_cpu: float
    machine_cpu: float
    transactions: float | None = None  # PostgreSQL transactions a request (pg_stat_database), warm-up included

    @property
    def requests(self) -> int:
        return sum(result.requests for result in self.results)

    @property
    def seconds(self) -> float:
        return max(result.seconds for result in self.results)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:  # per instance; with 2, their mean (weighted by requests)
        return sum(r.p50_ms * r.requests for r in self.results) / self.requests

    @property
    def p99_ms(self) -> float:  # the worst instance's
        return max(r.p99_ms for r in self.results)

    @property
    def replied(self) -> float:
        return sum(r.replied for r in self.results) / self.requests

    def cores(self, cpu: float) -> float:
        return cpu / self.seconds

    @property
    def other_cpu(self) -> float:
        return max(0.0, self.machine_cpu - self.web_cpu - self.pg_cpu - self.wrk_cpu)

    def ms_a_request(self, cpu: float) -> float:
        return cpu / self.requests * 1000

    def line(self) -> str:
        split = "/".join(f"{r.per_second:,.0f}" for r in self.results)
        per = f"; CPU a request: web {self.ms_a_request(self.web_cpu):.2f} ms"
        if self.pg_cpu:
            per += f", PostgreSQL {self.ms_a_request(self.pg_cpu):.2f} ms"
        if self.transactions is not None:
            per += f"; {self.transactions:.1f} PostgreSQL transactions a request"
        return (f"{self.per_second:7,.0f} req/s ({split}), p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
                f"{self.replied:.0%} answered with a text; cores busy: web {self.cores(self.web_cpu):.2f}, "
                f"PostgreSQL {self.cores(self.pg_cpu):.2f}, wrk {self.cores(self.wrk_cpu):.2f}, "
                f"other {self.cores(self.other_cpu):.2f}{per}")  # fmt: skip


def service_environ(database_url: str, work: Path, **overrides: str) -> dict[str, str]:
    """bench_webhook's settings (live Twilio settings: signatures checked), on `database_url`."""
    environ = generate.bench_environ(work / "unused")
    environ.update(DATABASE_URL=database_url, DATA_DIR=str(work / "secrets"), **overrides)
    return environ


class Shapes:
    """Makes the servers of each shape, on fresh data."""

    def __init__(self, work: Path, databases: Databases, large: str, manifest: dict[str, Any]) -> None:
        self.work, self.databases, self.large, self.manifest = work, databases, large, manifest

    def texts(self, every: int = THROUGHPUT_EVERY) -> Texts:
        return Texts(self.manifest["businesses"], every)

    def folder(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))

    def postgres(self, processes: int, template_name: str | None = None, every: int = THROUGHPUT_EVERY) -> Shape:
        database = self.databases.fresh(template_name or self.large)
        environ = service_environ(url_of(database), self.work, RUN_SENDER="false")
        servers = [Server([sys.executable, "-m", "web", "serve"], environ, self.work, self.work / "postgres.log")
                   for _ in range(processes)]  # fmt: skip
        return Shape(f"postgresql-x{processes}", servers, self.texts(every), self.folder("pg"), database)

    def tinydb(self) -> Shape:
        folder = self.folder("tinydb")
        data, _ = generate.fresh_copy(generate.DATA_SETS["large"], folder)
        environ = service_environ(f"tinydb:///{data.resolve()}/qdn.json", self.work)
        server = Server([sys.executable, "-m", "web", "serve"], environ, self.work, self.work / "tinydb.log")
        return Shape("tinydb-x1", [server], self.texts(), folder)

    def bare(self, processes: int) -> Shape:
        servers = [Server([sys.executable, str(ROOT / "bench/baseline_app.py")], {}, self.work,
                          self.work / "bare.log") for _ in range(processes)]  # fmt: skip
        return Shape(f"bare-x{processes}", servers, self.texts(), self.folder("bare"))


def throughput(shape: Shape, seconds: float, connections: int, quiet: float) -> Run:
    waited = wait_for_quiet(quiet) if quiet else 0.0
    if waited > 1.5:
        print(f"  (waited {waited:.0f} s for the machine to be idle)", flush=True)
    transactions = database_transactions(shape.database) if shape.database else 0
    for server in shape.servers:
        server.start()
    try:
        # Budgets: more texts than the shape answers in the time; a shape that answers them all sooner ends early.
        budget = 8_000 if shape.name.startswith("bare") else 4_000
        warm = shape.load(connections=connections, budget=budget * 2, seconds=2)
        run = shape.load(connections=connections, budget=budget * round(seconds), seconds=seconds)
    finally:
        for server in shape.servers:
            server.stop()
    if shape.database:  # each backend reports its counts when it exits: the servers have stopped
        sent = sum(result.sent for result in [*warm.results, *run.results])
        time.sleep(0.5)
        run.transactions = (database_transactions(shape.database) - transactions) / sent
    print(f"  {shape.name:13} {run.line()}", flush=True)
    return run


def latency(shapes: Shapes, template_name: str) -> Run:
    shape = shapes.postgres(1, template_name, every=LATENCY_EVERY)
    server = shape.servers[0].start()
    try:
        shape.load(connections=1, budget=LATENCY_WARMUP, seconds=2)
        run = shape.load(connections=1, budget=LATENCY_REQUESTS, seconds=30)
    finally:
        server.stop()
    if run.requests != LATENCY_REQUESTS:
        raise RuntimeError(f"latency run answered {run.requests} of {LATENCY_REQUESTS} in time")
    return run


# --- (c) round trips ------------------------------------------------------------------------------------


def short(statement: str) -> str:
    """A statement's gist: its verb and tables ("SELECT phones", "INSERT messages", "BEGIN"); a SELECT with
    sub-selects names each table it reads, a statement of data-modifying CTEs what each of them writes."""
    words = statement.replace("(", " ( ").replace(";", " ").split()
    verb = words[0].upper()
    if verb == "WITH" or (verb == "SELECT" and statement.upper().count("SELECT") > 1):
        writes = re.findall(r"\b(INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement, flags=re.IGNORECASE)
        if writes:
            done = [f"{how.split()[0].upper()} {table}" for how, table in writes]
            notify = " + pg_notify" if "pg_notify" in statement else ""
            return f"[one statement: {', '.join(dict.fromkeys(done))}{notify}]"
        tables = re.findall(r"\b(?:FROM|JOIN) (\w+)", statement, flags=re.IGNORECASE)
        return f"[one SELECT: {', '.join(dict.fromkeys(t for t in tables if t.upper() not in ('LATERAL',)))}]"
    after = {"SELECT": "FROM", "INSERT": "INTO", "DELETE": "FROM", "UPDATE": "UPDATE"}.get(verb)
    upper = [word.upper() for word in words]
    table = words[upper.index(after) + 1] if after in upper and upper.index(after) + 1 < len(words) else ""
    for function in ("pg_notify", "nextval"):
        if function in statement:
            table = function
    lock = " FOR UPDATE" if "FOR UPDATE" in statement.upper() else ""
    return f"{verb} {table}".strip() + lock


@dataclass
class Trips:
    name: str
    calls: list[list[str]] = field(default_factory=list)

    @property
    def per_request(self) -> float:
        return statistics.mean(len(c) for c in self.calls)

    def transactions(self) -> float:
        return statistics.mean(sum(1 for s in c if s.upper().startswith("BEGIN")) for c in self.calls)

    def outside(self) -> float:
        """Round trips outside any transaction (each its own implicit one)."""
        counts = []
        for calls in self.calls:
            depth, n = 0, 0
            for statement in calls:
                verb = statement.split()[0].upper().rstrip(";")
                if verb == "BEGIN":
                    depth += 1
                elif verb in ("COMMIT", "ROLLBACK"):
                    depth -= 1
                elif depth == 0:
                    n += 1
            counts.append(n)
        return statistics.mean(counts)

    def shown(self) -> str:
        return ", ".join(short(s) for s in self.calls[-1])


def round_trips(databases: Databases, small: str, work: Path, manifest: dict[str, Any]) -> list[Trips]:
    from starlette.testclient import TestClient

    from config.settings import load_settings
    from tests.round_trips import count_calls, per_request
    from web.app import create_app

    database = databases.fresh(small)
    url = url_of(database)
    # Delivery reports on texts Twilio accepted but has not reported yet: status `sent` (the data set's are final).
    sids = fetch_column(url, """UPDATE messages SET status = 'sent', doc = (doc::jsonb || '{"status": "sent"}')::json
        WHERE seq IN (SELECT seq FROM messages WHERE direction = 'outbound' AND twilio_sid IS NOT NULL
                      AND status = 'delivered' ORDER BY seq LIMIT 60) RETURNING twilio_sid""")  # fmt: skip
    count_calls(setattr)
    settings = load_settings(service_environ(url, work, RUN_SENDER="false"), env_file=None)
    app, requests = per_request(create_app(settings))
    texts = Texts(manifest["businesses"], every=2)  # even: a customer's STATUS, odd: a new phone's tracking code
    validator = RequestValidator(generate.AUTH_TOKEN)
    found = {name: Trips(name) for name in ("webhook: a customer's STATUS", "webhook: a tracking code, new phone",
                                            "webhook: the same MessageSid again", "status callback: sent -> delivered",
                                            "status callback: delivered again")}  # fmt: skip
    names = list(found)

    def post(client: Any, path: str, form: dict[str, str]) -> Any:
        signature = validator.compute_signature(generate.PUBLIC_BASE_URL + path, form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code in (200, 204), response.text
        return response

    with TestClient(app, base_url=generate.PUBLIC_BASE_URL) as client:
        for n in range(60):  # 20 of each kind warm the pool's 10 connections' statement caches; the rest count
            text = texts.at(n)
            form = twilio_form(text.sender, text.to, texts.sid(n), account_sid(), text.body)
            post(client, "/twilio/sms", form)
            if n >= 20:
                found[names[0] if text.known else names[1]].calls.append(requests[-1])
                assert text.known == (n % 2 == 0)
            post(client, "/twilio/sms", form)
            if n >= 20:
                found[names[2]].calls.append(requests[-1])
        for n, sid in enumerate(sids):
            form = {"SmsSid": sid, "SmsStatus": "delivered", "MessageStatus": "delivered", "To": "+15125550000",
                    "MessageSid": sid, "AccountSid": account_sid(), "From": generate.BUSINESS_PHONE,
                    "ApiVersion": "2010-04-01"}  # fmt: skip
            post(client, "/twilio/status", form)
            if n >= 20:
                found[names[3]].calls.append(requests[-1])
            post(client, "/twilio/status", form)
            if n >= 20:
                found[names[4]].calls.append(requests[-1])
    return list(found.values())


# --- (d) senders --------------------------------------------------------------------------------------


async def _queue_and_watch(
    url: str, count: int, tag: str, why: Callable[[], str]
) -> tuple[list[tuple[float, int]], str | None]:
    """Queue `count` texts (to as many new phones) in one write, then watch them go: (seconds after the
    commit, texts no longer pending) every 50 ms, until all are sent or none has been for STALL_SECONDS
    (then `why()` says why)."""
    import asyncpg

    from bot.jobs import utc_now
    from bot.messages import outbound_message
    from store import open_store

    store = await open_store(url)
    try:
        now = utc_now()
        rows = [outbound_message(kind="relay", to=f"+1945{tag}{n:06d}", body=f"Bench text {n}", sender="console",
                                 now=now, opted_out=False) for n in range(count)]  # fmt: skip
        await store.import_rows(messages=rows)  # one write: the senders are woken at its commit
        queued = time.perf_counter()
    finally:
        await store.close()
    conn = await asyncpg.connect(url)
    try:
        marks, progress = [(0.0, 0)], 0.0
        while True:
            pending = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE business = 'default' AND status = 'pending'"
            )
            elapsed, done = time.perf_counter() - queued, count - pending
            if done > marks[-1][1]:
                progress = elapsed
            marks.append((elapsed, done))
            if done >= count:
                return marks, None
            if elapsed - progress > STALL_SECONDS:
                return marks, why()
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


@dataclass
class Sending:
    senders: int
    texts: int
    sent: int
    per_second: float  # from 10 % to 90 % sent (0 if it never got there)
    seconds: float  # from queueing to the last sent
    first_after: float | None  # from queueing to the first sent
    per_sender: list[int]
    sender_cpu: float  # seconds, all senders, from queueing to the end
    pg_cpu: float  # seconds, PostgreSQL's processes for that database and its shared ones
    stalled: str | None = None  # why nothing more was sent for STALL_SECONDS (the senders' last error)
    transactions: float = 0.0  # PostgreSQL transactions a text (pg_stat_database; start-up included)
    peak: int = 0  # the most texts sent within any 1 s (marks 50 ms apart)

    def line(self) -> str:
        first = "none" if self.first_after is None else f"{self.first_after * 1000:.0f} ms"
        done = f"all {self.texts:,}" if self.sent == self.texts else f"{self.sent:,} of {self.texts:,}"
        text = (f"{self.senders} sender(s), {self.texts:,} texts: {self.per_second:.1f} texts/s (10-90 %), "
                f"at most {self.peak} in any 1 s, "
                f"{done} sent in {self.seconds:.1f} s, the first {first} after queueing; per sender "
                f"{self.per_sender}; CPU a text: senders {self.sender_cpu / max(1, self.sent) * 1000:.2f} ms, "
                f"PostgreSQL {self.pg_cpu / max(1, self.sent) * 1000:.2f} ms; {self.transactions:.1f} PostgreSQL "
                f"transactions a text")  # fmt: skip
        return text + (f"; STALLED: {self.stalled}" if self.stalled else "")


def last_error(logs: Sequence[Path]) -> str:
    lines = [line for log in logs for line in log.read_text(errors="replace").splitlines()
             if line.startswith(("ERROR", "bot.errors", "WARNING"))]  # fmt: skip
    return lines[-1] if lines else "no error logged"


def sending(databases: Databases, work: Path, senders: int, texts: int, template_name: str) -> Sending:
    """`texts` pending texts queued in one write into a copy of the large data set, sent by `senders`
    `python -m web send` processes (console transport) at SEND_RATE_PER_SECOND=50."""
    database = databases.fresh(template_name)
    url = url_of(database)
    environ = {
        "DATABASE_URL": url,
        "SEND_RATE_PER_SECOND": str(SEND_RATE),
        "BUSINESS_NAME": generate.BUSINESS_NAME,
        "BUSINESS_PHONE": generate.BUSINESS_PHONE,
        "TIMEZONE": "America/Chicago",
        "DATA_DIR": str(work / "secrets"),
        "API_TOKEN": "bench-api-token-5e0b7c",
        "ADMIN_TOKEN": "bench-admin-token-77c0d1",
        "SECRET_KEY": "bench-secret-key-for-stored-twilio-secrets-3f9a2c",
        "REMINDER_HOUR": "",
    }
    for name in list(os.environ):  # console transport: no Twilio settings may leak in from the caller
        if name.startswith("TWILIO_"):
            environ[name] = ""
    logs = [work / f"send-{database}-{i}.log" for i in range(senders)]
    transactions = database_transactions(database)
    processes = [Server([sys.executable, "-m", "web", "send"], environ, work, log).spawn() for log in logs]
    try:
        deadline = time.perf_counter() + 60
        while not all("sending texts of" in log.read_text(errors="replace") for log in logs):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"senders did not start: {logs[0].read_text()[-2000:]}")
            time.sleep(0.05)
        cpu, pg = sum(p.cpu_seconds() for p in processes), postgres_cpu_seconds({database})
        marks, stalled = asyncio.run(_queue_and_watch(url, texts, f"{senders}", lambda: last_error(logs)))
        cpu = sum(p.cpu_seconds() for p in processes) - cpu
        pg = postgres_cpu_seconds({database}) - pg
    finally:
        for process in processes:
            process.stop()
    sent = marks[-1][1]
    time.sleep(0.5)  # each backend reports its counts when it exits: the senders have stopped
    # Less this bench's own: the queueing write (and its store's start-up reads) and one count a mark.
    transactions = database_transactions(database) - transactions - len(marks) - 10
    per_sender = [log.read_text(errors="replace").count("--- text to ") for log in logs]
    if sum(per_sender) != sent:
        raise RuntimeError(f"{sent} texts marked sent, {per_sender} printed by the senders: one sent twice?")

    def when(share: float) -> float | None:
        return next((t for t, done in marks if done >= share * texts and done > 0), None)

    first, tenth, ninth = when(1 / texts), when(0.1), when(0.9)
    rate = 0.8 * texts / (ninth - tenth) if tenth is not None and ninth is not None and ninth > tenth else 0.0
    peak, start = 0, 0
    for end in range(len(marks)):  # the most sent between two marks at most 1 s apart
        while marks[end][0] - marks[start][0] > 1.0:
            start += 1
        peak = max(peak, marks[end][1] - marks[start][1])
    return Sending(senders, texts, sent, rate, marks[-1][0], first, per_sender, cpu, pg, stalled,
                   transactions / max(1, sent), peak)  # fmt: skip


# --- (e) claims: the claim query's plan and cost on a fresh database -------------------------------------

# The queries before #15's change to store/postgres/queue.py (one window-function pass over the whole
# pending queue a call), kept here to measure against.
WINDOW_CLAIM = """WITH queue AS MATERIALIZED (
    SELECT seq, created_at, COALESCE(next_attempt_at, created_at) AS due,
        row_number() OVER (PARTITION BY recipient ORDER BY created_at, seq) AS place,
        bool_or(claimed_until > $2) OVER (PARTITION BY recipient) AS busy
    FROM messages WHERE business = $1 AND status = 'pending'
), taken AS (
    SELECT m.seq FROM queue q JOIN messages m ON m.business = $1 AND m.seq = q.seq
    WHERE q.place = 1 AND NOT COALESCE(q.busy, false) AND q.due <= $2 AND m.status = 'pending'
        AND (m.claimed_until IS NULL OR m.claimed_until <= $2)
    ORDER BY q.due, q.created_at, q.seq
    LIMIT $3
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE messages m SET claimed_until = $4 FROM taken WHERE m.business = $1 AND m.seq = taken.seq
RETURNING m.seq, m.doc, COALESCE(m.next_attempt_at, m.created_at) AS due, m.created_at"""
WINDOW_NEXT_DUE = """WITH queue AS MATERIALIZED (
    SELECT COALESCE(next_attempt_at, created_at) AS due, claimed_until,
        row_number() OVER (PARTITION BY recipient ORDER BY created_at, seq) AS place,
        bool_or(claimed_until IS NOT NULL) OVER (PARTITION BY recipient) AS busy
    FROM messages WHERE business = $1 AND status = 'pending'
)
SELECT LEAST((SELECT min(claimed_until) FROM queue), (SELECT min(due) FROM queue WHERE place = 1 AND NOT busy))"""

CLAIM_LIMIT, CLAIMS_OUT = 8, 8  # a claim's LIMIT (a sender's free slots); heads already out (other senders')
CLAIM_SHAPES = (("phones", 300), ("phones", 1_000), ("phones", 5_000), ("deep", 1_000), ("deep", 5_000))


async def _fill_queue(url: str, shape: str, pending: int) -> None:
    """`pending` texts, all due: "phones", one a phone, the first CLAIMS_OUT of them out (claimed);
    "deep", all but 100 to one phone, written first, its oldest out, then one text each to 100 phones.
    Autovacuum is off for the table, so the planner has no statistics (reltuples -1) until ANALYZE."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")
        deep = pending - 100 if shape == "deep" else 0
        await conn.execute(
            """INSERT INTO messages (business, phone, recipient, status, direction, created_at, doc)
            SELECT 'default', r, r, 'pending', 'outbound', to_char(timestamp '2026-03-02 15:00' + n * interval '1 ms',
                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '{"body": "Bench"}'::json
            FROM generate_series(1, $1) AS n,
                LATERAL (SELECT CASE WHEN n <= $2 THEN '+19450000000'
                    ELSE '+1946' || lpad(n::text, 7, '0') END AS r) p""",
            pending, deep)  # fmt: skip
        out = 1 if shape == "deep" else CLAIMS_OUT
        await conn.execute(
            "UPDATE messages SET claimed_until = '2026-03-02T16:01:00.000Z' WHERE seq IN "
            "(SELECT seq FROM messages ORDER BY seq LIMIT $1)", out)  # fmt: skip
    finally:
        await conn.close()


async def _explain(url: str, query: str, types: str, args: str, runs: int = 3) -> tuple[float, float, int, str]:
    """EXPLAIN (ANALYZE, BUFFERS) EXECUTE of `query` prepared with a generic plan, as the store's pool runs
    it (force_generic_plan), in a transaction rolled back: (median execution ms, its planning ms, shared
    buffers hit + read, the plan)."""
    import asyncpg

    conn = await asyncpg.connect(url, server_settings={"plan_cache_mode": "force_generic_plan"})
    try:
        await conn.execute(f"PREPARE q ({types}) AS {query}")
        found: list[tuple[float, float, int, str]] = []
        for _ in range(runs):
            transaction = conn.transaction()
            await transaction.start()
            try:
                lines = [row[0] for row in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q ({args})")]
            finally:
                await transaction.rollback()
            found.append(_explained(lines))
    finally:
        await conn.close()
    return sorted(found)[len(found) // 2]


def _explained(lines: list[str]) -> tuple[float, float, int, str]:
    def number(pattern: str) -> float:
        return sum(float(x) for x in re.findall(pattern, "\n".join(lines[:1] + lines[-3:])))

    buffers = next((line for line in lines if "Buffers:" in line), "")
    blocks = sum(int(x) for x in re.findall(r"(?:hit|read)=([0-9]+)", buffers))
    return number(r"Execution Time: ([0-9.]+)"), number(r"Planning Time: ([0-9.]+)"), blocks, "\n".join(lines)


def claims_part(databases: Databases, work: Path) -> list[str]:
    """The claim and next_due statements, the store's and the window pass before them, on fresh databases:
    EXPLAIN (ANALYZE, BUFFERS) with generic plans, before ANALYZE (no statistics) and after."""
    from store.postgres import queue
    from store.postgres.migrate import migrate_database

    now, lease = "'default', '2026-03-02T16:00:00.000Z'", "'2026-03-02T16:01:00.000Z'"
    statements = (
        ("claim, window pass (before)", WINDOW_CLAIM, "text, text, bigint, text", f"{now}, {CLAIM_LIMIT}, {lease}"),
        ("claim, head walk (now)", queue._CLAIM, "text, text, bigint, text", f"{now}, {CLAIM_LIMIT}, {lease}"),
        ("next_due, window pass (before)", WINDOW_NEXT_DUE, "text", "'default'"),
        ("next_due, head walk (now)", queue._NEXT_DUE, "text", "'default'"),
    )
    summary: list[str] = []
    plans = work / "claim-plans.txt"
    for shape, pending in CLAIM_SHAPES:
        database = databases.fresh()
        url = url_of(database)
        asyncio.run(migrate_database(url))
        asyncio.run(_fill_queue(url, shape, pending))
        for analyzed in (False, True):
            if analyzed:
                admin_on(database, "ANALYZE messages")
            stats = "after ANALYZE" if analyzed else "fresh, no ANALYZE"
            for name, query, types, args in statements:
                ms, planning, blocks, plan = asyncio.run(_explain(url, query, types, args))
                line = (f"{shape} {pending:,} pending, {stats}: {name}: {ms:.3f} ms (+{planning:.3f} planning), "
                        f"{blocks} buffers")  # fmt: skip
                print(f"  {line}", flush=True)
                with plans.open("a") as out:
                    out.write(f"=== {line}\n{plan}\n\n")
                summary.append(f"| (e) {shape}, {pending:,} pending, {stats}: {name} | {ms:.3f} ms | - | - | - |")
        databases.drop_all()
    print(f"  plans: {plans}", flush=True)
    return summary


# --- the run --------------------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.per_second)[len(runs) // 2]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds of each throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs of each shape, alternating")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--texts", type=int, default=300, help="texts queued for the senders' rate runs")
    parser.add_argument("--burst", type=int, default=1_000, help="texts queued for the senders' burst run")
    parser.add_argument("--parts", default="throughput,latency,trips,sender,claims",
                        help="a comma-separated subset of throughput, latency, trips, sender, claims")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the processes' logs)")
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each throughput run, wait up to this long for an idle machine (shared hosts)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    from tests.pg import postgres_problem

    problem = postgres_problem()
    if problem is not None:
        raise SystemExit(f"bench: {problem}")
    if parts & {"throughput", "latency"}:  # the round trips and the senders need no wrk
        require_wrk()
    print(f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"PostgreSQL {fetch_column(url_of('postgres'), 'SHOW server_version')[0]}")  # fmt: skip
    databases = Databases()
    work = Path(tempfile.mkdtemp(prefix="qdn-bench-pg-"))
    summary: list[str] = []
    try:
        if "claims" in parts:
            print(f"(e) claims on fresh databases, EXPLAIN (ANALYZE, BUFFERS), generic plans, LIMIT {CLAIM_LIMIT}:",
                  flush=True)  # fmt: skip
            summary += claims_part(databases, work)
        if parts - {"claims"}:  # the data sets, copied into PostgreSQL (once: templates)
            large_set, small_set = generate.DATA_SETS["large"], generate.DATA_SETS["small"]
            large, small = template(large_set, work), template(small_set, work)
            manifest = json.loads((generate.ensure(large_set) / "manifest.json").read_text())
            small_manifest = json.loads((generate.ensure(small_set) / "manifest.json").read_text())
            shapes = Shapes(work, databases, large, manifest)
        if "throughput" in parts:
            summary += throughput_part(shapes, databases, args.rounds, args.seconds, args.connections, args.quiet)
        if "latency" in parts:
            print("(b) one request at a time, 1 process on PostgreSQL:", flush=True)
            at_200k, at_1k = latency(shapes, large), latency(Shapes(work, databases, small, small_manifest), small)
            databases.drop_all()
            for name, run in (("200k texts", at_200k), ("1k texts", at_1k)):
                print(f"  {name:10} p50 {run.p50_ms:.3f} ms, p99 {run.p99_ms:.3f} ms")
            summary += [
                f"| (b) p50 at 200k texts, 1 process | {at_200k.p50_ms:.3f} ms | {at_1k.p50_ms:.3f} ms (1k texts) "
                f"| {ratio(at_200k.p50_ms, at_1k.p50_ms)} | flat |",
                f"| (b) p99 at 200k texts, 1 process | {at_200k.p99_ms:.3f} ms | {at_1k.p99_ms:.3f} ms (1k texts) "
                f"| {ratio(at_200k.p99_ms, at_1k.p99_ms)} | flat |",
            ]  # fmt: skip
        if "trips" in parts:
            print("(c) round trips to PostgreSQL per request (mean of 40 each, after 20 of warm-up):", flush=True)
            trips = round_trips(databases, small, work, small_manifest)
            databases.drop_all()
            for trip in trips:
                print(f"  {trip.name}: {trip.per_request:.1f} ({trip.transactions():.0f} BEGIN/COMMIT transaction(s), "
                      f"{trip.outside():.1f} statement(s) outside one, each its own): {trip.shown()}")  # fmt: skip
                target = 3 if trip.name.startswith("webhook") else 2
                summary.append(f"| (c) round trips, {trip.name} | {trip.per_request:.1f} | - | - | <= {target} |")
        if "sender" in parts:
            print(f"(d) senders at SEND_RATE_PER_SECOND={SEND_RATE}, texts queued at once into the large data set:",
                  flush=True)  # fmt: skip
            for count, texts in ((2, args.texts), (1, args.texts), (2, args.burst)):
                sent = sending(databases, work, count, texts, large)
                databases.drop_all()
                print(f"  {sent.line()}", flush=True)
                summary.append(f"| (d) texts/s, {count} sender(s), {texts:,} queued | {sent.per_second:.1f} "
                               f"{'(stalled) ' if sent.stalled else ''}(most in 1 s: {sent.peak}) | {SEND_RATE} (cap) "
                               f"| {sent.per_second / SEND_RATE:.2f} | 1.00 |")  # fmt: skip
    finally:
        databases.drop_all()
        if args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("| figure | value | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    print("\n".join(summary))
    return 0


def throughput_part(
    shapes: Shapes, databases: Databases, rounds: int, seconds: float, connections: int, quiet: float
) -> list[str]:
    print(f"(a) webhook throughput at 10k jobs / 200k texts, {connections} connections, {seconds:g} s after 2 s "
          f"of warm-up, {rounds} round(s):", flush=True)  # fmt: skip
    makers: list[tuple[str, Callable[[], Shape]]] = [
        ("bare-x1", lambda: shapes.bare(1)),
        ("postgresql-x1", lambda: shapes.postgres(1)),
        ("postgresql-x2", lambda: shapes.postgres(2)),
        ("bare-x2", lambda: shapes.bare(2)),
        ("tinydb-x1", shapes.tinydb),
    ]
    runs: dict[str, list[Run]] = {name: [] for name, _ in makers}
    for n in range(rounds):
        for name, make in makers if n % 2 == 0 else makers[::-1]:
            runs[name].append(throughput(make(), seconds, connections, quiet))
            databases.drop_all()
    m = {name: median_run(found) for name, found in runs.items()}
    pg1, pg2, bare1, bare2, tiny = (m[k] for k in ("postgresql-x1", "postgresql-x2", "bare-x1", "bare-x2", "tinydb-x1"))
    print("  medians: " + "; ".join(f"{name} {run.per_second:,.0f}" for name, run in m.items()))
    return [
        f"| (a) 2 web processes / 1, PostgreSQL | {pg2.per_second:,.0f} req/s | {pg1.per_second:,.0f} req/s "
        f"| {ratio(pg2.per_second, pg1.per_second)} | >= 1.6 |",
        f"| (a) 2 processes / 1, bare Starlette | {bare2.per_second:,.0f} req/s | {bare1.per_second:,.0f} req/s "
        f"| {ratio(bare2.per_second, bare1.per_second)} | - |",
        f"| (a) PostgreSQL x1 against bare x1 | {pg1.per_second:,.0f} req/s | {bare1.per_second:,.0f} req/s "
        f"| {ratio(pg1.per_second, bare1.per_second)} | - |",
        f"| (a) PostgreSQL x2 against bare x2 | {pg2.per_second:,.0f} req/s | {bare2.per_second:,.0f} req/s "
        f"| {ratio(pg2.per_second, bare2.per_second)} | - |",
        f"| (a) TinyDB x1 against bare x1 | {tiny.per_second:,.0f} req/s | {bare1.per_second:,.0f} req/s "
        f"| {ratio(tiny.per_second, bare1.per_second)} | - |",
        f"| (a) PostgreSQL x1 against TinyDB x1 | {pg1.per_second:,.0f} req/s | {tiny.per_second:,.0f} req/s "
        f"| {ratio(pg1.per_second, tiny.per_second)} | - |",
        f"| (a) CPU a request, PostgreSQL x1: web + PostgreSQL + wrk | {pg1.ms_a_request(pg1.web_cpu):.2f} + "
        f"{pg1.ms_a_request(pg1.pg_cpu):.2f} + {pg1.ms_a_request(pg1.wrk_cpu):.2f} ms | TinyDB x1: "
        f"{tiny.ms_a_request(tiny.web_cpu):.2f} + {tiny.ms_a_request(tiny.wrk_cpu):.2f} ms | - | - |",
        f"| (a) the most 2 cores allow on PostgreSQL at that CPU a request | "
        f"{2000 / (pg1.ms_a_request(pg1.web_cpu + pg1.pg_cpu + pg1.wrk_cpu)):,.0f} req/s | {pg1.per_second:,.0f} "
        f"req/s (x1) | {2000 / pg1.ms_a_request(pg1.web_cpu + pg1.pg_cpu + pg1.wrk_cpu) / pg1.per_second:.2f} "
        f"| >= 1.6 |",
        f"| (a) PostgreSQL's CPU, x1 / x2 | {pg1.cores(pg1.pg_cpu):.2f} / {pg2.cores(pg2.pg_cpu):.2f} cores "
        f"| web {pg1.cores(pg1.web_cpu):.2f} / {pg2.cores(pg2.web_cpu):.2f} cores "
        f"| {pg1.pg_cpu / pg1.requests * 1e6:.0f} / {pg2.pg_cpu / pg2.requests * 1e6:.0f} us a request | - |",
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
