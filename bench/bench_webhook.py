"""Webhook benchmark: the service against bare Starlette, as history grows, and with 20 businesses.

    .venv/bin/python bench/bench_webhook.py [--seconds 8] [--connections 16] [--rounds 2]   (or: make bench)

Everything runs on this machine over loopback, in one run, so each figure is
printed next to the baseline it is measured against:

(a) throughput: signed inbound-SMS webhooks (bench/load.py `Texts`) against
    the real service (`python -m web serve`, one uvicorn worker) holding
    10,000 jobs / 200,000 texts, against bench/baseline_app.py (bare
    Starlette: parse the form, answer constant TwiML) under the same uvicorn
    arguments and the same wrk load (one wrk thread, `--connections`
    keep-alive connections, `--seconds` after a warm-up). Server on CPU 0,
    wrk on CPU 1.
(a') the same, sustained: the journal absorbs the run and the conversation
    files catch up when writes pause; the CPU time of that checkpoint is
    charged to the run's requests (requests / (run time + checkpoint CPU)).
(b) latency as history grows: p50 and p99 of the same webhook, one request at
    a time (wrk, one connection, a fixed number of requests after a warm-up),
    with 200,000 texts against the same with 1,000.
(c) the price of durability: logging one inbound text and acknowledging it
    -- `Store.record_inbound` of a STATUS text, its TwiML reply row and the
    sender's new phone state, exactly as handlers/twilio/receive.py calls it, awaited
    until it is on disk -- timed in this process, one at a time, on a fresh
    copy of the 200,000-text store, against a plain append + fsync of the
    same inbound record (JSON, one line) to a file in the same data folder:
    the physical floor of any durable acknowledgement. Also shown: the whole
    webhook round trip of (b) against the same floor.
(d) resident memory of the service (peak VmHWM over the whole (a) run) with
    10,000 jobs / 200,000 texts, and start-up time: from spawning the process
    to the first 200 from /healthz.
(e) several businesses: the same 10,000 jobs / 200,000 texts held by 20
    businesses of one deployment (bench/generate.py `several`: 20 stores,
    each with its own journal and checkpoint thread), the load spread over
    all 20 numbers (each request signed with the deployment's Auth Token,
    which checks the webhooks of every business without Twilio credentials
    of its own): (a), (a'), (b) and (d) again, against the one business.
    The one-business and 20-business servers of (a)/(e) alternate
    (`--rounds` times, ABBA order) and the figures are the median of the
    rounds, so a drift of the machine's speed hits both alike. Where perf
    may trace syscalls, the server's fdatasync calls during the run are
    counted, and those made on the event loop's thread.

What is texted (bench/load.py `Texts`): no phone texts twice in a server's
life (SPEC "No answer twice": the same automatic answer is never sent to a
phone again within 10 minutes; each server lives under a minute). One in
three of (a)'s texts is from one of the data set's customers texting STATUS,
each once; the others from phones the business has never seen, each texting
the tracking code of one of its open jobs. (b) uses one customer in 11 (the
small data set has 149 customers who may text, for 1,600 requests) on every
data set alike. Every answer is checked to be a 200 and counted if it
carries a reply; the share from known customers is printed with each run.
Each server starts from a fresh copy of the cached data set (bench/generate.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import generate  # noqa: E402
from bench.load import LoadResult, Texts, require_wrk, run_wrk, write_requests  # noqa: E402
from tests.twilio_fake import twilio_form  # noqa: E402

SERVER_CPU, CLIENT_CPU = 0, 1
LATENCY_REQUESTS = 1_500  # one at a time, after WARMUP_REQUESTS
WARMUP_REQUESTS = 100
THROUGHPUT_EVERY = 3  # (a): one text in 3 from a customer texting STATUS (enough of them for ~22k requests)
IDLE_SECONDS = 3.0  # how long the CPU of an idle server is watched, right after start-up


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process pinned to one CPU; knows its start-up time and memory."""

    def __init__(self, command: Sequence[str], environ: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = list(command)
        self.environ = {**os.environ, **environ, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.cwd = cwd
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    def start(self, timeout: float = 60) -> Server:
        with open(self.log, "ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.environ,
                stdout=log,
                stderr=log,
                preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),
            )
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() - started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        self.startup_seconds = time.perf_counter() - started
                        return self
                except httpx.TransportError:
                    time.sleep(0.005)
        raise RuntimeError(f"server did not answer /healthz within {timeout}s: {self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process (all its threads) has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak resident) in MB, and Threads, from /proc/<pid>/status."""
        assert self.process is not None
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
            elif key == "Threads":
                fields[key] = int(value)
        return fields

    def open_files(self) -> int:
        assert self.process is not None
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def run_ns(self) -> int:
        """Nanoseconds all the server's threads have run on a CPU (schedstat: finer than /proc/<pid>/stat)."""
        assert self.process is not None
        total = 0
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
                total += int((task / "schedstat").read_text().split()[0])
        return total

    def idle_cpu(self, seconds: float) -> float:
        """The share of one CPU the server uses while nobody calls it (its timers, its threads' polls)."""
        before = self.run_ns()
        time.sleep(seconds)
        return (self.run_ns() - before) / 1e9 / seconds

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass
class Workload:
    """What one server is texted over its life (bench/load.py `Texts`) and where its requests are written."""

    texts: Texts
    folder: Path
    data: Path | None = None  # the service's data folder (None for the baseline)
    runs: int = 0

    def requests(self, count: int) -> Path:
        """A new file of the next `count` texts as signed requests, none sent before."""
        self.runs += 1
        return write_requests(
            self.folder / f"requests-{self.runs}.txt",
            self.texts,
            count=count,
            auth_token=generate.AUTH_TOKEN,
            public_base_url=generate.PUBLIC_BASE_URL,
            account_sid=bench_env_value("TWILIO_ACCOUNT_SID"),
        )


def bench_env_value(name: str) -> str:
    return generate.bench_environ(Path("."))[name]


def manifest_of(data_set: generate.DataSet) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((generate.ensure(data_set) / "manifest.json").read_text())
    return manifest


def service(data_set: generate.DataSet, work: Path, every: int = THROUGHPUT_EVERY) -> tuple[Server, Workload]:
    """The real service (`python -m web serve`) on a fresh copy of `data_set`."""
    # A new folder per server: deleting the previous run's ~17,000 files just before a timed run
    # queues discards (ext4 `discard`) that stall its fdatasyncs -- (b)'s p99 at 200k texts went
    # from ~1.2 ms to 2-3.5 ms. The old copies go with the run's temporary folder at the end.
    folder = Path(tempfile.mkdtemp(prefix=f"{data_set.name}-", dir=work))
    data, manifest = generate.fresh_copy(data_set, folder)
    # Run from the work folder: a developer's .env in the checkout must not change the service under test.
    server = Server([sys.executable, "-m", "web", "serve"], generate.bench_environ(data), work, work / "service.log")
    return server, Workload(Texts(manifest["businesses"], every), folder, data)


def check_answers(server: Server, workload: Workload, count: int) -> str:
    """The next `count` texts one by one, as people send them: each answer must be TwiML with a reply
    (naming the business texted, when the workload knows its name). Returns the first reply."""
    texts, replies = workload.texts, []
    names = {business["number"]: business.get("name") for business in texts.businesses}
    with httpx.Client(timeout=10) as client:
        for n in range(texts.cursor, texts.cursor + count):
            text = texts.at(n)
            form = twilio_form(text.sender, text.to, texts.sid(n), bench_env_value("TWILIO_ACCOUNT_SID"), text.body)
            url = generate.PUBLIC_BASE_URL + "/twilio/sms"
            signature = RequestValidator(generate.AUTH_TOKEN).compute_signature(url, form)
            response = client.post(f"{server.url}/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
            if response.status_code != 200 or not response.headers["content-type"].startswith("text/xml"):
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:300]}")
            reply = "".join(ET.fromstring(response.text).itertext())
            name = names[text.to]
            if not reply or (name and name not in reply):
                raise RuntimeError(f"{text} got no reply from {name or 'its business'}: {response.text[:300]}")
            replies.append(reply)
    texts.advance(count)
    return replies[0]


def load(server: Server, workload: Workload, *, connections: int, count: int, seconds: float) -> LoadResult:
    """Stop at `count` answers or after `seconds` (wrk then reports `seconds` as the duration)."""
    requests = workload.requests(count + connections + 8)  # spares for requests in flight at the stop
    result = run_wrk(server.url, requests, connections=connections, count=count, duration=seconds, cpu=CLIENT_CPU)
    workload.texts.advance(result.sent)
    if result.errors or result.exhausted or result.statuses.replace("200=", "").strip() != str(result.requests):
        raise RuntimeError(f"load run had errors or repeats: {result}")
    return result


def throughput(server: Server, workload: Workload, seconds: float, connections: int) -> LoadResult:
    """Warm up, then as many requests as `connections` connections get answered in `seconds`."""
    warm_up(server, workload, connections)
    return load(server, workload, connections=connections, count=budget(seconds), seconds=seconds)


def budget(seconds: float) -> int:
    # Requests written for a run of `seconds`: more than the service answers (< 2,500 req/s so far). A
    # server that answers them all sooner (bare Starlette, at times) ends the run early: its rate holds.
    return 6_000 * round(seconds)


def warm_up(server: Server, workload: Workload, connections: int) -> None:
    load(server, workload, connections=connections, count=budget(2), seconds=2)


class Fdatasyncs:
    """The server's fdatasync calls while in this block, by thread: perf's syscall tracepoint, if perf is here.

    `total` stays None where perf is missing or may not trace (then the figure is left out).
    `in_loop` counts those made on the event loop's (the main) thread.
    """

    def __init__(self, server: Server, folder: Path) -> None:
        assert server.process is not None
        self.pid = server.process.pid
        self.out = folder / f"perf-{self.pid}.txt"
        self.perf: subprocess.Popen[bytes] | None = None
        self.total: int | None = None
        self.in_loop = 0

    def __enter__(self) -> Fdatasyncs:
        perf = shutil.which("perf")
        if perf:
            self.perf = subprocess.Popen(
                [perf, "stat", "-x,", "--per-thread", "-e", "syscalls:sys_enter_fdatasync", "-p", str(self.pid),
                 "-o", str(self.out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=lambda: os.sched_setaffinity(0, {CLIENT_CPU}),
            )  # fmt: skip
            time.sleep(0.3)  # attached before the run starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self.perf is None:
            return
        self.perf.send_signal(signal.SIGINT)
        try:
            self.perf.wait(10)
        except subprocess.TimeoutExpired:
            self.perf.kill()
            self.perf.wait()
            return
        counts = {}
        for line in self.out.read_text().splitlines() if self.out.exists() else ():
            cells = line.split(",")
            if len(cells) > 3 and cells[3] == "syscalls:sys_enter_fdatasync" and cells[1].isdigit():
                counts[cells[0].rpartition("-")[2]] = int(cells[1])
        if counts:
            self.total, self.in_loop = sum(counts.values()), counts.get(str(self.pid), 0)


def journals_caught_up(data: Path) -> bool:
    """Whether every store of the deployment is down to one empty journal segment (all checkpointed)."""
    segments: dict[Path, list[Path]] = {}
    for path in data.rglob("qdn.journal.*"):
        if path.suffix[1:].isdigit():
            segments.setdefault(path.parent, []).append(path)
    return all(len(paths) == 1 and paths[0].stat().st_size == 0 for paths in segments.values())


def checkpoint_cpu_seconds(server: Server, workload: Workload, timeout: float = 120) -> float:
    """CPU time the server spends bringing its files up to date after a run (its idle checkpoints).

    The journal absorbs a burst; the conversation files catch up once writes
    pause (store/tinydb/partitions.py). That work is owed by the run's requests, so a
    sustained rate charges it to them. Done when every store's journal is down to
    one empty segment.
    """
    assert workload.data is not None
    started, cpu_before = time.perf_counter(), server.cpu_seconds()
    while time.perf_counter() - started < timeout:
        if journals_caught_up(workload.data):
            return server.cpu_seconds() - cpu_before
        time.sleep(0.05)
    raise RuntimeError(f"the service did not checkpoint within {timeout}s of the run")


@dataclass
class Life:
    """One service process under (a)'s load: from spawning it to its last checkpoint."""

    name: str
    businesses: int
    load: LoadResult
    checkpoint_cpu: float
    startup: float
    idle_cpu: float  # share of one CPU, idle, right after start-up
    rss_started: float  # MB, right after start-up
    peak: float  # MB, VmHWM after the run and its checkpoint
    threads: int  # after the run
    open_files: int  # after the run
    known_share: float  # of the requests sent: from the data set's customers (else never-seen phones)
    fdatasyncs: int | None  # during the timed run (None: perf could not count them)
    fdatasyncs_in_loop: int  # of those, made on the event loop's thread

    @property
    def sustained(self) -> float:
        return self.load.requests / (self.load.seconds + self.checkpoint_cpu)

    def syncs_a_request(self) -> float:
        return (self.fdatasyncs or 0) / max(1, self.load.sent)

    def syncs_in_loop(self) -> float:
        """Percent of the fdatasyncs made on the event loop's thread (blocking every request meanwhile)."""
        return 100 * self.fdatasyncs_in_loop / max(1, self.fdatasyncs or 0)


def life_under_load(data_set: generate.DataSet, work: Path, seconds: float, connections: int) -> Life:
    server, workload = service(data_set, work)
    server.start()
    try:
        idle = server.idle_cpu(IDLE_SECONDS)
        started = server.status()
        check_answers(server, workload, 2 * len(workload.texts.businesses))  # each business, both kinds of text
        warm_up(server, workload, connections)
        with Fdatasyncs(server, workload.folder) as syncs:
            result = load(server, workload, connections=connections, count=budget(seconds), seconds=seconds)
        owed = checkpoint_cpu_seconds(server, workload)
        after, files = server.status(), server.open_files()
    finally:
        server.stop()
    texts = workload.texts
    life = Life(data_set.name, data_set.businesses, result, owed, server.startup_seconds, idle, started["VmRSS"],
                after["VmHWM"], int(after["Threads"]), files, texts.known_sent / texts.cursor, syncs.total,
                syncs.in_loop)  # fmt: skip
    flushes = "" if syncs.total is None else (
        f"; {syncs.total / result.sent:.2f} fdatasync a request, {syncs.in_loop / max(1, syncs.total):.0%} of them "
        "on the event loop")  # fmt: skip
    print(f"  {data_set.name} ({data_set.businesses} business{'es' if data_set.businesses > 1 else ''}): "
          f"{result.per_second:,.0f} req/s (p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms), "
          f"{life.sustained:,.0f} sustained ({owed:.2f} s of checkpoint CPU){flushes}; "
          f"{result.replied / result.requests:.0%} answered with a text, {life.known_share:.0%} from known "
          f"customers; start-up {life.startup:.2f} s, RSS {life.rss_started:.0f} MB after it, peak "
          f"{life.peak:.0f} MB; idle CPU {life.idle_cpu:.2%}; {life.threads} threads, "
          f"{life.open_files} open files")  # fmt: skip
    return life


def sequential(server: Server, workload: Workload) -> LoadResult:
    """Latency percentiles of `LATENCY_REQUESTS` requests, one at a time, after a short warm-up."""
    load(server, workload, connections=1, count=WARMUP_REQUESTS, seconds=1)
    return load(server, workload, connections=1, count=LATENCY_REQUESTS, seconds=5)


def latency_every(data_sets: Sequence[generate.DataSet]) -> int:
    """One text in how many from a customer, so that no business of any of these runs out of customers in (b)."""
    every = 1
    for data_set in data_sets:
        businesses = manifest_of(data_set)["businesses"]
        per_business = math.ceil((WARMUP_REQUESTS + LATENCY_REQUESTS + 16) / len(businesses))
        every = max(every, *(math.ceil(per_business / len(business["senders"])) for business in businesses))
    return every


def append_fsync_floor(folder: Path, record: dict[str, Any], count: int = 2_000) -> tuple[float, float]:
    """p50 and p99 (ms) of appending `record` as a JSON line and fsyncing, in `folder`."""
    os.sched_setaffinity(0, {SERVER_CPU})
    path = folder / "floor.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for n in range(count):
            started = time.perf_counter()
            os.write(fd, (json.dumps({**record, "twilio_sid": f"SM{n:032x}"}) + "\n").encode())
            os.fsync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
        os.sched_setaffinity(0, {CLIENT_CPU})
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000


def store_write_latency(data: Path, senders: list[str], count: int = 1_500) -> tuple[float, float]:
    """p50 and p99 (ms) of logging one STATUS text the way handlers/twilio/receive.py does, until durable."""
    os.environ.update(generate.bench_environ(data))
    from bot.conversation import guards
    from store import open_store

    async def run() -> list[float]:
        store = await open_store(generate.bench_environ(data)["DATABASE_URL"])
        times = []
        try:
            for n in range(count):
                sender = senders[n % len(senders)]
                now = datetime.now(UTC)
                open_jobs = await store.list_jobs(statuses=("scheduled", "en_route", "arrived"), phone=sender)
                inbound = {**inbound_record(sender), "twilio_sid": f"SMstore{n:027x}",
                           "job_id": open_jobs[0]["id"] if open_jobs else None}  # fmt: skip
                reply = {**inbound, "direction": "outbound", "kind": "reply", "from": generate.BUSINESS_PHONE,
                         "to": sender, "body": inbound["reply_body"], "twilio_sid": None, "status": "sent"}  # fmt: skip
                del reply["reply_body"], reply["num_media"]

                def count_reply(state: dict[str, Any], now: datetime = now) -> dict[str, Any]:
                    guards.count(state, guards.REPLY_COUNTER, now, guards.AUTO_REPLY_WINDOW)
                    return state

                started = time.perf_counter()
                await store.record_inbound(inbound, outbound=[reply], phone=sender, change_phone=count_reply)
                times.append(time.perf_counter() - started)
        finally:
            await store.close()
        return times

    os.sched_setaffinity(0, {SERVER_CPU})
    try:
        times = sorted(asyncio.run(run()))
    finally:
        os.sched_setaffinity(0, {CLIENT_CPU})
    return statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000


def inbound_record(sender: str) -> dict[str, Any]:
    """The inbound row handlers/twilio/receive.py logs for a STATUS text (same fields, same sizes)."""
    now = "2026-11-27T18:32:40.123Z"
    return {
        "direction": "inbound", "kind": "command", "job_id": 10000, "phone": sender, "from": sender,
        "to": generate.BUSINESS_PHONE, "body": "STATUS", "twilio_sid": "SM" + "0" * 32, "status": "received",
        "error_code": None, "error_message": None, "created_at": now, "updated_at": now, "num_media": "0",
        "reply_body": "QuickDumpNow: Job 10000 (dump trailer rental) is on the way, ETA 20 min (around 2:45 PM). "
        "Track: https://sms.quickdumpnow.test/track?token=K7M2-9XPQ-2HTR-4VWA-8B3C",
    }  # fmt: skip


# --- the report ------------------------------------------------------------------------------


def row(figure: str, value: str, baseline: str, ratio: float, target: str, met: bool) -> list[str]:
    return [figure, value, baseline, f"{ratio:.2f}", target, "yes" if met else "NO"]


def print_table(rows: list[list[str]]) -> None:
    header = ["figure", "value", "baseline", "ratio", "target", "met?"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |")


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown CPU")  # fmt: skip
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def middle(values: Sequence[float]) -> float:
    """The median: one round disturbed by the machine's other work does not move it."""
    return statistics.median(values)


def several_table(one: list[Life], twenty: list[Life], lat_one: LoadResult, lat_twenty: LoadResult,
                  bare: LoadResult) -> None:  # fmt: skip
    """(e): each figure with one business and with 20 (median of the rounds), their ratio, and against bare."""
    header = ["figure", "1 business", "20 businesses", "20 / 1", "vs bare Starlette (1 / 20)"]

    def line(figure: str, a: float, b: float, unit: str, digits: int, bare_value: float | None = None) -> list[str]:
        against = "" if bare_value is None else f"{a / bare_value:.2f} / {b / bare_value:.2f}"
        one, twenty = (f"{value:,.{digits}f} {unit}".strip() for value in (a, b))
        return [figure, one, twenty, f"{b / a:.2f}" if a and unit != "%" else "", against]

    def avg(lives: list[Life], figure: Any) -> float:
        return middle([figure(life) for life in lives])

    rows = [
        line("webhook throughput (a)", avg(one, lambda x: x.load.per_second), avg(twenty, lambda x: x.load.per_second),
             "req/s", 0, bare.per_second),
        line("the same, checkpoint included (a')", avg(one, lambda x: x.sustained), avg(twenty, lambda x: x.sustained),
             "req/s", 0, bare.per_second),
        line("p50 under (a)'s load", avg(one, lambda x: x.load.p50_ms), avg(twenty, lambda x: x.load.p50_ms), "ms", 2,
             bare.p50_ms),
        line("p99 under (a)'s load", avg(one, lambda x: x.load.p99_ms), avg(twenty, lambda x: x.load.p99_ms), "ms", 2,
             bare.p99_ms),
        line("p50 one at a time (b)", lat_one.p50_ms, lat_twenty.p50_ms, "ms", 3),
        line("p99 one at a time (b)", lat_one.p99_ms, lat_twenty.p99_ms, "ms", 3),
        line("start-up to first /healthz 200", avg(one, lambda x: x.startup), avg(twenty, lambda x: x.startup), "s", 2),
        line("RSS after start-up", avg(one, lambda x: x.rss_started), avg(twenty, lambda x: x.rss_started), "MB", 0),
        line("peak RSS (VmHWM) after (a)", avg(one, lambda x: x.peak), avg(twenty, lambda x: x.peak), "MB", 0),
        line("CPU while idle", avg(one, lambda x: 100 * x.idle_cpu), avg(twenty, lambda x: 100 * x.idle_cpu),
             "% of a CPU", 2),
        line("threads", avg(one, lambda x: x.threads), avg(twenty, lambda x: x.threads), "", 0),
        line("open files", avg(one, lambda x: x.open_files), avg(twenty, lambda x: x.open_files), "", 0),
    ]  # fmt: skip
    if all(life.fdatasyncs is not None for life in one + twenty):  # perf could count them
        rows[4:4] = [
            line("fdatasync calls a request, (a)", avg(one, Life.syncs_a_request), avg(twenty, Life.syncs_a_request),
                 "", 2),
            line("  of them on the event loop's thread", avg(one, Life.syncs_in_loop), avg(twenty, Life.syncs_in_loop),
                 "%", 0),
        ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for cells in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="length of each throughput run (after warm-up)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for throughput runs")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each layout, alternating")
    args = parser.parse_args()
    require_wrk()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("bench: needs 2 CPUs (server on one, load generator on the other)")
    os.sched_setaffinity(0, {CLIENT_CPU})
    sets = {name: generate.DATA_SETS[name] for name in ("large", "small", "several")}
    for data_set in sets.values():
        generate.ensure(data_set)  # generated (or found cached) before any timing starts
    large = sets["large"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qdn-bench-run-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        print(f"machine: {machine()}")

        # the baseline: bare Starlette under (a)'s load
        base = Server([sys.executable, str(ROOT / "bench/baseline_app.py")], {}, ROOT, work / "baseline.log")
        base.start()
        try:
            base_workload = Workload(Texts(manifest_of(large)["businesses"]), work)
            check_answers(base, base_workload, 1)
            bare = throughput(base, base_workload, args.seconds, args.connections)
        finally:
            base.stop()
        print(f"bare Starlette: {bare.per_second:,.0f} req/s (p50 {bare.p50_ms:.2f} ms, p99 {bare.p99_ms:.2f} ms)")

        # (a), (a'), (d) and (e): one business and 20 businesses, alternating (ABBA...)
        print(f"service, 10k jobs / 200k texts, {args.rounds} round(s) of each layout:")
        lives: dict[str, list[Life]] = {"large": [], "several": []}
        for n in range(args.rounds):
            for name in ("large", "several") if n % 2 == 0 else ("several", "large"):
                lives[name].append(life_under_load(sets[name], work, args.seconds, args.connections))
        one, twenty = lives["large"], lives["several"]

        # (b) one request at a time: 200k texts against 1k texts, and 200k texts in 20 businesses
        every = latency_every(list(sets.values()))
        latencies = {}
        for name, data_set in sets.items():
            server, workload = service(data_set, work, every)
            server.start()
            try:
                latencies[name] = lat = sequential(server, workload)
            finally:
                server.stop()
            print(f"one at a time, {name}: p50 {lat.p50_ms:.3f} ms, p99 {lat.p99_ms:.3f} ms ({lat.requests} "
                  f"requests, {lat.replied / lat.requests:.0%} answered with a text, "
                  f"{workload.texts.known_sent / workload.texts.cursor:.0%} from known customers)")  # fmt: skip

        # (c) logging one text durably, and the floor: append + fsync of the same record, same folder
        data, manifest = generate.fresh_copy(large, work / "store")
        write_p50, write_p99 = store_write_latency(data, manifest["senders"])
        print(f"store.record_inbound until durable: p50 {write_p50:.3f} ms, p99 {write_p99:.3f} ms")
        floor_p50, floor_p99 = append_fsync_floor(data, inbound_record(manifest["senders"][0]))
        print(f"append+fsync floor: p50 {floor_p50:.3f} ms, p99 {floor_p99:.3f} ms")

    rate, sustained = middle([x.load.per_second for x in one]), middle([x.sustained for x in one])
    peak, startup = max(x.peak for x in one), middle([x.startup for x in one])
    big, little = latencies["large"], latencies["small"]
    print()
    print_table([
        row("(a) webhook throughput, 10k jobs / 200k texts", f"{rate:,.0f} req/s",
            f"{bare.per_second:,.0f} req/s (bare Starlette)", rate / bare.per_second, ">= 0.50",
            rate >= 0.5 * bare.per_second),
        row("(a') the same, its checkpoint included (sustained)", f"{sustained:,.0f} req/s",
            f"{bare.per_second:,.0f} req/s (bare Starlette)", sustained / bare.per_second, ">= 0.50",
            sustained >= 0.5 * bare.per_second),
        row("(b) p50 latency at 200k texts", f"{big.p50_ms:.3f} ms", f"{little.p50_ms:.3f} ms (1k texts)",
            big.p50_ms / little.p50_ms, "<= 1.25", big.p50_ms <= 1.25 * little.p50_ms),
        row("(b) p99 latency at 200k texts", f"{big.p99_ms:.3f} ms", f"{little.p99_ms:.3f} ms (1k texts)",
            big.p99_ms / little.p99_ms, "<= 1.25", big.p99_ms <= 1.25 * little.p99_ms),
        row("(c) log one text durably (store, p50)", f"{write_p50:.3f} ms",
            f"{floor_p50:.3f} ms (append+fsync)", write_p50 / floor_p50, "<= 3", write_p50 <= 3 * floor_p50),
        row("(c') whole webhook round trip (p50 of (b))", f"{big.p50_ms:.3f} ms",
            f"{floor_p50:.3f} ms (append+fsync)", big.p50_ms / floor_p50, "<= 3", big.p50_ms <= 3 * floor_p50),
        row("(d) peak resident memory, 10k jobs / 200k texts", f"{peak:.0f} MB", "300 MB", peak / 300, "< 1",
            peak < 300),
        row("(d) start-up to first /healthz 200", f"{startup:.2f} s", "2 s", startup / 2, "< 1", startup < 2),
    ])  # fmt: skip
    print(f"\n(e) 10k jobs / 200k texts in 1 business and in 20 (median of {args.rounds} round(s)):\n")
    several_table(one, twenty, big, latencies["several"], bare)
    print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
