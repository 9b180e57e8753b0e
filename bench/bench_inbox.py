"""The office inbox (#24): its conversation list as history grows, and 50 open inboxes' live updates.

    .venv/bin/python bench/bench_inbox.py [--repeat 30] [--streams 50] [--webhooks 300] [--parts list,live]
    export QDN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres   # the list on PostgreSQL too

Printed as ratios against a baseline measured in the same run; never asserted.

list: bench/generate.py's data sets (small: 200 jobs / 1,000 texts, the baseline; large: 10,000
  jobs / 200,000 texts), opened in the real app in-process (Starlette's TestClient, no sockets):
  the median time of `Store.conversations_page` (the first page, the inbox's 50 rows; timed in the
  app's event loop) and of a logged-in GET /inbox, both sizes open at once and their calls taking
  turns. Target: large <= 1.25 x small. On PostgreSQL the data sets are copied
  into template databases once (bench/bench_postgres.py's `template`).
live: one `python -m web serve` (TinyDB, the small data set) and `--streams` logged-in
  GET /inbox/events streams. Webhook throughput (`--webhooks` signed customer texts, 8 at a
  time) with no stream open and with them all open (target: within 10 %), and per webhook the
  time from sending it to its change event reaching every stream (p50 / p99; target p99 <= 2 s).
  The client runs in this process, on the same machine: the ratio is what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bench import generate  # noqa: E402
from bench.timing import interleaved_ms  # noqa: E402
from config.settings import Settings, load_settings  # noqa: E402
from handlers.inbox.session import COOKIE, new_session  # noqa: E402
from store import DEFAULT_BUSINESS  # noqa: E402
from tests.twilio_fake import sign, twilio_form  # noqa: E402
from web.app import create_app  # noqa: E402

PAGE = 50  # the inbox's page (handlers/inbox/conversations.py PAGE_SIZE)
CONCURRENCY = 8


def session_cookie(settings: Settings) -> str:
    """A logged-in dispatcher's cookie, signed as the login signs it (the code step is not what is timed)."""
    return new_session(settings.dispatcher_numbers[0], DEFAULT_BUSINESS).dumps(settings)


# --- the list -----------------------------------------------------------------------------------------


class Opened:
    """A data set's app in-process (Starlette's TestClient: no sockets), a dispatcher logged in."""

    def __init__(self, environ: dict[str, str], stack: ExitStack) -> None:
        settings = load_settings({**environ, "RUN_SENDER": "false"}, env_file=None)
        self.client = stack.enter_context(TestClient(create_app(settings), base_url=generate.PUBLIC_BASE_URL))
        self.client.cookies.set(COOKIE, session_cookie(settings))
        self.store = self.client.app_state["services"].store
        assert self.client.portal is not None
        self.portal = self.client.portal
        rows, self.waiting = self.portal.call(lambda: self.store.conversations_page(offset=0, limit=PAGE))
        assert rows, "no conversations in the data set"

    def rows(self, offset: int) -> int:
        return len(self.portal.call(lambda: self.store.conversations_page(offset=offset, limit=PAGE))[0])

    def page(self, offset: int) -> Callable[[], float]:
        """A call of the store's page, timed in the app's event loop: the server's time, not the hop to it."""

        async def timed() -> float:
            started = time.perf_counter()
            await self.store.conversations_page(offset=offset, limit=PAGE)
            return time.perf_counter() - started

        return lambda: self.portal.call(timed)

    def inbox(self) -> float:
        started = time.perf_counter()
        response = self.client.get("/inbox")
        took = time.perf_counter() - started
        assert response.status_code == 200 and "Needs reply" in response.text, response.status_code
        return took


def list_figures(small_environ: dict[str, str], large_environ: dict[str, str], repeat: int) -> list[str]:
    """Both data sets open at once, each figure's calls taking turns between them (small, large, small ...):
    a machine busier in one moment than the next weighs on both sizes alike, so the ratio holds."""
    with ExitStack() as stack:
        small, large = Opened(small_environ, stack), Opened(large_environ, stack)
        deep = f"{small.rows(1000)} / {large.rows(1000)} rows"  # the small set has fewer than 1,000 conversations
        figures = {
            f"conversations_page (first {PAGE})": (small.page(0), large.page(0)),
            f"conversations_page (offset 1000, {PAGE}: {deep})": (small.page(1000), large.page(1000)),
            "GET /inbox (logged in)": (small.inbox, large.inbox),
        }
        lines = []
        for name, (at_small, at_large) in figures.items():
            small_ms, large_ms = interleaved_ms([at_small, at_large], repeat)
            lines.append(f"| {name} | {small_ms:.2f} ms | {large_ms:.2f} ms | {large_ms / small_ms:.2f} |")
        lines.append(f"| waiting conversations | {small.waiting} | {large.waiting} | - |")
    return lines


def list_part(work: Path, repeat: int) -> list[str]:
    lines = [f"\nThe conversation list, median of {repeat} (in-process app, no sockets)\n"]
    lines += [
        "| backend | figure | 1k texts (baseline) | 200k texts | ratio (target <= 1.25) |",
        "|---|---|---|---|---|",
    ]
    backends: list[tuple[str, Callable[[generate.DataSet], dict[str, str]]]] = []

    def tinydb(data_set: generate.DataSet) -> dict[str, str]:
        data, _ = generate.fresh_copy(data_set, work / data_set.name)
        return generate.bench_environ(data)

    backends.append(("TinyDB", tinydb))
    databases = None
    if os.environ.get("QDN_TEST_POSTGRES_URL"):
        from bench import bench_postgres

        databases = bench_postgres.Databases()

        def postgres(data_set: generate.DataSet) -> dict[str, str]:
            assert databases is not None
            name = databases.fresh(bench_postgres.template(data_set, work))
            return {**generate.bench_environ(work / "unused"), "DATABASE_URL": bench_postgres.url_of(name)}

        backends.append(("PostgreSQL", postgres))
    try:
        for backend, environ_of in backends:
            small, large = environ_of(generate.DATA_SETS["small"]), environ_of(generate.DATA_SETS["large"])
            lines += [f"| {backend} {line}" for line in list_figures(small, large, repeat)]
    finally:
        if databases is not None:
            databases.drop_all()
    return lines


# --- live updates -------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`python -m web serve` on a fresh copy of the small data set."""

    def __init__(self, work: Path) -> None:
        data, self.manifest = generate.fresh_copy(generate.DATA_SETS["small"], work / "live")
        self.port = free_port()
        self.environ = {**generate.bench_environ(data), "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.settings = load_settings(self.environ, env_file=None)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (work / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web", "serve"],
            cwd=ROOT,
            env={**os.environ, **self.environ},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the service did not start: see {work / 'serve.log'}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


class Webhooks:
    """Signed customer texts, each from a phone with a job, none sent twice."""

    def __init__(self, service: Service) -> None:
        self.senders = service.manifest["senders"]
        self.sids = itertools.count()
        self.url = f"{service.url}/twilio/sms"

    def request(self) -> tuple[str, dict[str, str]]:
        n = next(self.sids)
        fields = twilio_form(
            self.senders[n % len(self.senders)],
            generate.BUSINESS_PHONE,
            f"SMb{n:032x}",
            generate.bench_environ(Path("."))["TWILIO_ACCOUNT_SID"],
            f"Can you come a bit later today? ({n})",
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(f"{generate.PUBLIC_BASE_URL}/twilio/sms", fields, generate.AUTH_TOKEN),
        }
        return urlencode(fields), headers


async def post(client: httpx.AsyncClient, hooks: Webhooks) -> None:
    body, headers = hooks.request()
    response = await client.post(hooks.url, content=body, headers=headers)
    assert response.status_code == 200, response.text


async def throughput(service: Service, hooks: Webhooks, count: int) -> float:
    """Webhooks a second, `CONCURRENCY` at a time."""
    left = itertools.count()
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            while next(left) < count:
                await post(client, hooks)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started)


class Streams:
    """`n` logged-in /inbox/events streams; each records when its change events arrive."""

    def __init__(self, service: Service, n: int) -> None:
        self.service, self.n = service, n
        self.arrivals: list[list[float]] = [[] for _ in range(n)]
        self.ready = 0
        self.tasks: list[asyncio.Task[None]] = []

    async def _read(self, i: int, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", f"{self.service.url}/inbox/events") as response:
            assert response.status_code == 200, response.status_code
            self.ready += 1
            async for line in response.aiter_lines():
                if line.startswith("event: change"):
                    self.arrivals[i].append(time.perf_counter())

    async def open(self) -> None:
        cookie = session_cookie(self.service.settings)
        self.clients = [
            httpx.AsyncClient(timeout=None, cookies={COOKIE: cookie}, headers={"Accept": "text/event-stream"})
            for _ in range(self.n)
        ]
        self.tasks = [asyncio.create_task(self._read(i, c)) for i, c in enumerate(self.clients)]
        while self.ready < self.n:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # each stream's first event (the current count) has come

    def clear(self) -> None:
        for got in self.arrivals:
            got.clear()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for client in self.clients:
            await client.aclose()


async def reach(streams: Streams, hooks: Webhooks, samples: int) -> list[float]:
    """Seconds from sending a webhook to its change event on the last of the streams, one at a time."""
    times = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(samples):
            streams.clear()
            started = time.perf_counter()
            await post(client, hooks)
            while any(not got for got in streams.arrivals):
                await asyncio.sleep(0.005)
                if time.perf_counter() - started > 30:
                    raise SystemExit("a change event did not reach every stream within 30 s")
            times.append(max(got[0] for got in streams.arrivals) - started)
            await asyncio.sleep(0.3)  # the next one starts from quiet streams
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def live_part(work: Path, n: int, webhooks: int, samples: int) -> list[str]:
    service = Service(work)
    try:
        hooks = Webhooks(service)
        await throughput(service, hooks, 20)  # warm
        none_open = await throughput(service, hooks, webhooks)
        streams = Streams(service, n)
        await streams.open()
        try:
            with_open = await throughput(service, hooks, webhooks)
            await asyncio.sleep(1)
            times = await reach(streams, hooks, samples)
        finally:
            await streams.close()
        none_after = await throughput(service, hooks, webhooks)
    finally:
        service.stop()
    baseline = (none_open + none_after) / 2
    return [
        f"\n{n} open inboxes on one `qdn serve` (TinyDB, 200 jobs / 1k texts; "
        f"{webhooks} webhooks, {CONCURRENCY} at a time)\n",
        "| figure | none open (baseline: before / after) | streams open | ratio |",
        "|---|---|---|---|",
        f"| webhooks/s | {none_open:.0f} / {none_after:.0f} | {with_open:.0f} "
        f"| {with_open / baseline:.2f} (target >= 0.90) |",
        f"\nwebhook -> change event on all {n} streams, {samples} webhooks one at a time: "
        f"p50 {percentile(times, 0.5) * 1000:.0f} ms, p99 {percentile(times, 0.99) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms (target p99 <= 2000 ms)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="list: calls per figure (the median is printed)")
    parser.add_argument("--streams", type=int, default=50, help="live: open inboxes")
    parser.add_argument("--webhooks", type=int, default=300, help="live: webhooks per throughput run")
    parser.add_argument("--samples", type=int, default=100, help="live: webhooks timed to every stream")
    parser.add_argument("--parts", default="list,live", help="list, live or both")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qdn-bench-inbox-") as folder:
        work = Path(folder)
        if "list" in parts:
            lines += list_part(work, args.repeat)
        if "live" in parts:
            generate.ensure(generate.DATA_SETS["small"])  # generated outside the event loop (it runs its own)
            lines += asyncio.run(live_part(work, args.streams, args.webhooks, args.samples))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
