"""Webhook benchmark: the service against bare Starlette, and flat cost as history grows.

    .venv/bin/python bench/bench_webhook.py [--seconds 8] [--connections 16]      (or: make bench)

Everything runs on this machine over loopback, in one run, so each figure is
printed next to the baseline it is measured against:

(a) throughput: signed customer "STATUS" webhooks against the real service
    (`python -m web serve`, one uvicorn worker) holding 10,000 jobs / 200,000
    texts, against bench/baseline_app.py (bare Starlette: parse the form,
    answer constant TwiML) under the same uvicorn arguments and the same wrk
    load (one wrk thread, `--connections` keep-alive connections, `--seconds`
    after a warm-up). Server on CPU 0, wrk on CPU 1.
(a') the same, sustained: the journal absorbs the run and the conversation
    files catch up when writes pause; the CPU time of that checkpoint is
    charged to the run's requests (requests / (run time + checkpoint CPU)).
(b) latency as history grows: p50 and p99 of the same webhook, one request at
    a time (wrk, one connection, a fixed number of requests after a warm-up),
    with 200,000 texts against the same with 1,000.
(c) the price of durability: logging one inbound text and acknowledging it
    -- `Store.record_inbound` of a STATUS text, its TwiML reply row and the
    sender's new phone state, exactly as handlers/sms.py calls it, awaited
    until it is on disk -- timed in this process, one at a time, on a fresh
    copy of the 200,000-text store, against a plain append + fsync of the
    same inbound record (JSON, one line) to a file in the same data folder:
    the physical floor of any durable acknowledgement. Also shown: the whole
    webhook round trip of (b) against the same floor.
(d) resident memory of the service (peak VmHWM over the whole (a) run) with
    10,000 jobs / 200,000 texts, and start-up time: from spawning the process
    to the first 200 from /healthz.

Senders are real customers of the data set, round-robin, so each request
looks up their open jobs and writes its rows; no sender gets more than 10
answers an hour (the service's auto-reply cap) within a run, so every
request takes the full path. Each server starts from a fresh copy of the
cached data set (bench/generate.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from bench.load import LoadResult, require_wrk, run_wrk, twilio_form, write_requests  # noqa: E402

SERVER_CPU, CLIENT_CPU = 0, 1
LATENCY_REQUESTS = 1_500  # one at a time; the small set's 198 senders stay under the 10-an-hour cap
WARMUP_REQUESTS = 100


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

    def memory_mb(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak resident) of the server process, in MB."""
        assert self.process is not None
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return fields

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
    """A data set's senders and where its signed requests are written."""

    senders: list[str]
    folder: Path
    data: Path | None = None  # the service's data folder (None for the baseline)
    runs: int = 0

    def requests(self, count: int) -> Path:
        """A new file of `count` signed requests, none sent before."""
        self.runs += 1
        path = self.folder / f"requests-{self.runs}.txt"
        start = self.runs * 7 % len(self.senders)  # each run starts elsewhere in the round
        return write_requests(
            path,
            senders=self.senders[start:] + self.senders[:start],
            count=count,
            run_tag=self.runs,
            auth_token=generate.AUTH_TOKEN,
            public_base_url=generate.PUBLIC_BASE_URL,
            to=generate.BUSINESS_PHONE,
            account_sid=bench_env_value("TWILIO_ACCOUNT_SID"),
        )


def bench_env_value(name: str) -> str:
    return generate.bench_environ(Path("."))[name]


def service(data_set: generate.DataSet, work: Path) -> tuple[Server, Workload]:
    """The real service (`python -m web serve`) on a fresh copy of `data_set`."""
    # A new folder per server: deleting the previous run's ~17,000 files just before a timed run
    # queues discards (ext4 `discard`) that stall its fdatasyncs -- (b)'s p99 at 200k texts went
    # from ~1.2 ms to 2-3.5 ms. The old copies go with the run's temporary folder at the end.
    folder = Path(tempfile.mkdtemp(prefix=f"{data_set.name}-", dir=work))
    data, manifest = generate.fresh_copy(data_set, folder)
    # Run from the work folder: a developer's .env in the checkout must not change the service under test.
    server = Server([sys.executable, "-m", "web", "serve"], generate.bench_environ(data), work, work / "service.log")
    return server, Workload(manifest["senders"], folder, data)


def check_answer(server: Server, sender: str) -> str:
    """One signed STATUS, as a person would send it: the answer must be TwiML with a reply."""
    form = twilio_form(sender, generate.BUSINESS_PHONE, "SM" + "c" * 32, bench_env_value("TWILIO_ACCOUNT_SID"))
    signature = RequestValidator(generate.AUTH_TOKEN).compute_signature(generate.PUBLIC_BASE_URL + "/twilio/sms", form)
    response = httpx.post(f"{server.url}/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
    if response.status_code != 200 or not response.headers["content-type"].startswith("text/xml"):
        raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:300]}")
    return "".join(ET.fromstring(response.text).itertext())


def load(server: Server, workload: Workload, *, connections: int, count: int, seconds: float) -> LoadResult:
    """Stop at `count` answers or after `seconds` (wrk then reports `seconds` as the duration)."""
    requests = workload.requests(count + connections + 8)  # spares for requests in flight at the stop
    result = run_wrk(server.url, requests, connections=connections, count=count, duration=seconds, cpu=CLIENT_CPU)
    if result.errors or result.exhausted or result.statuses.replace("200=", "").strip() != str(result.requests):
        raise RuntimeError(f"load run had errors or repeats: {result}")
    return result


def throughput(server: Server, workload: Workload, seconds: float, connections: int) -> LoadResult:
    """Warm up, then as many requests as `connections` connections get answered in `seconds`."""
    budget = 12_000 * round(seconds)  # more than any server here answers: never repeat a MessageSid
    load(server, workload, connections=connections, count=budget // 4, seconds=2)
    return load(server, workload, connections=connections, count=budget, seconds=seconds)


def checkpoint_cpu_seconds(server: Server, workload: Workload, timeout: float = 120) -> float:
    """CPU time the server spends bringing its files up to date after a run (its idle checkpoint).

    The journal absorbs a burst; the conversation files catch up once writes
    pause (store/tinydb/engine.py). That work is owed by the run's requests, so a
    sustained rate charges it to them. Done when the journal is down to one
    empty segment.
    """
    assert workload.data is not None
    started, cpu_before = time.perf_counter(), server.cpu_seconds()
    while time.perf_counter() - started < timeout:
        segments = [p for p in workload.data.glob("qdn.journal.*") if p.suffix[1:].isdigit()]
        if len(segments) == 1 and segments[0].stat().st_size == 0:
            return server.cpu_seconds() - cpu_before
        time.sleep(0.05)
    raise RuntimeError(f"the service did not checkpoint within {timeout}s of the run")


def sequential(server: Server, workload: Workload) -> LoadResult:
    """Latency percentiles of `LATENCY_REQUESTS` requests, one at a time, after a short warm-up."""
    load(server, workload, connections=1, count=WARMUP_REQUESTS, seconds=1)
    return load(server, workload, connections=1, count=LATENCY_REQUESTS, seconds=5)


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
    """p50 and p99 (ms) of logging one STATUS text the way handlers/sms.py does, until durable."""
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
    """The inbound row handlers/sms.py logs for a STATUS text (same fields, same sizes)."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="length of each throughput run (after warm-up)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for throughput runs")
    args = parser.parse_args()
    require_wrk()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("bench: needs 2 CPUs (server on one, load generator on the other)")
    os.sched_setaffinity(0, {CLIENT_CPU})
    large, small = generate.ensure(generate.DATA_SETS["large"]), generate.ensure(generate.DATA_SETS["small"])
    del large, small  # generated (or found cached) before any timing starts
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qdn-bench-run-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        print(f"machine: {machine()}")

        # (a) the baseline, then the service at 10k jobs / 200k texts
        base = Server([sys.executable, str(ROOT / "bench/baseline_app.py")], {}, ROOT, work / "baseline.log")
        base.start()
        try:
            check_answer(base, "+15125550199")
            base_workload = Workload(json.loads((generate.cached_path(generate.DATA_SETS["large"]) / "manifest.json")
                                                .read_text())["senders"], work)  # fmt: skip
            bare = throughput(base, base_workload, args.seconds, args.connections)
        finally:
            base.stop()
        print(f"bare Starlette: {bare.per_second:,.0f} req/s (p50 {bare.p50_ms:.2f} ms, p99 {bare.p99_ms:.2f} ms)")

        server, workload = service(generate.DATA_SETS["large"], work)
        server.start()
        try:
            after_start = server.memory_mb()
            print("service answers:", check_answer(server, workload.senders[-1])[:80], "...")
            full = throughput(server, workload, args.seconds, args.connections)
            owed = checkpoint_cpu_seconds(server, workload)
            memory = server.memory_mb()
        finally:
            server.stop()
        startup = server.startup_seconds
        print(f"service, 200k texts: {full.per_second:,.0f} req/s (p50 {full.p50_ms:.2f} ms, p99 {full.p99_ms:.2f} ms)")
        sustained = full.requests / (full.seconds + owed)
        print(f"  then {owed:.2f} s of CPU checkpointing the run's writes: {sustained:,.0f} req/s sustained")
        print(f"memory: {after_start['VmRSS']:.0f} MB after start-up, peak {memory['VmHWM']:.0f} MB; "
              f"start-up {startup:.2f} s")  # fmt: skip

        # (b) one request at a time, 200k texts against 1k texts, each on a fresh copy
        latencies = {}
        for name in ("large", "small"):
            server, workload = service(generate.DATA_SETS[name], work)
            server.start()
            try:
                latencies[name] = sequential(server, workload)
            finally:
                server.stop()
            lat = latencies[name]
            print(f"one at a time, {name}: p50 {lat.p50_ms:.3f} ms, p99 {lat.p99_ms:.3f} ms ({lat.requests} requests)")

        # (c) logging one text durably, and the floor: append + fsync of the same record, same folder
        data, manifest = generate.fresh_copy(generate.DATA_SETS["large"], work / "store")
        write_p50, write_p99 = store_write_latency(data, manifest["senders"])
        print(f"store.record_inbound until durable: p50 {write_p50:.3f} ms, p99 {write_p99:.3f} ms")
        floor_p50, floor_p99 = append_fsync_floor(data, inbound_record(workload.senders[0]))
        print(f"append+fsync floor: p50 {floor_p50:.3f} ms, p99 {floor_p99:.3f} ms")

    big, little = latencies["large"], latencies["small"]
    print()
    print_table([
        row("(a) webhook throughput, 10k jobs / 200k texts", f"{full.per_second:,.0f} req/s",
            f"{bare.per_second:,.0f} req/s (bare Starlette)", full.per_second / bare.per_second, ">= 0.50",
            full.per_second >= 0.5 * bare.per_second),
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
        row("(d) peak resident memory, 10k jobs / 200k texts", f"{memory['VmHWM']:.0f} MB", "300 MB",
            memory["VmHWM"] / 300, "< 1", memory["VmHWM"] < 300),
        row("(d) start-up to first /healthz 200", f"{startup:.2f} s", "2 s", startup / 2, "< 1", startup < 2),
    ])  # fmt: skip
    print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
