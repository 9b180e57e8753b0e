"""The app's own CPU a webhook, in one process, no server and no network (issue #30's levers).

    .venv/bin/python bench/bench_inprocess.py [--requests 4000] [--rounds 5] [--kinds token,status,callback]
                                              [--concurrency 16] [--backends tinydb[,postgres]]

bench/bench_cpu.py measures whole servers under wrk: the figure that counts, but on a shared
2-core machine its rounds move by 25-45 %, more than most levers give. This drives the ASGI apps
directly -- `concurrency` requests in flight on one event loop, as many as wrk's connections --
and times each batch with `time.process_time()` (every thread of this process: the TinyDB flush
and log threads count). What is left out is uvicorn's own work (HTTP parsing, sockets), the same
for every app. Apps, alternating batch by batch so the machine's state is shared:

  floor     bench/baseline_app.py's app: bare Starlette, parse the form, constant TwiML (or 204)
  tinydb    the service's app (web.app.create_app) on a fresh copy of the large data set
  postgres  the same on a fresh database from the large template (QDN_TEST_POSTGRES_URL)

Printed: per kind and app, the median µs of CPU a request over the rounds (and their range), and
the service's multiple of the floor. The service's access log is on (to a file), as `qdn serve`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.bench_cpu import KINDS, Feed, _delivered  # noqa: E402
from bench.bench_postgres import Databases, service_environ, template, url_of  # noqa: E402

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Request = tuple[str, str, bytes, bytes]  # path, query, body, signature


def requests_of(feed: Feed, kind: str, count: int) -> list[Request]:
    path = feed.write(kind, count)
    out = []
    for line in path.read_text().splitlines():
        signature, target, body = line.split("\t")
        parts = urlsplit(target)
        out.append((parts.path, parts.query, body.encode(), signature.encode()))
    path.unlink()
    feed.advance(kind, count)
    return out


async def call(app: App, state: dict[str, Any], request: Request, answers: list[int]) -> None:
    path, query, body, signature = request
    headers = [
        (b"host", b"sms.quickdumpnow.test"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"x-twilio-signature", signature),
        (b"user-agent", b"TwilioProxy/1.1"),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": dict(state),
    }  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answers.append(message["status"])

    await app(scope, receive, send)


async def batch(
    app: App, state: dict[str, Any], requests: Sequence[Request], concurrency: int
) -> tuple[float, list[int]]:
    """CPU seconds of this process (all threads) to answer `requests`, `concurrency` at a time."""
    answers: list[int] = []
    queue = iter(requests)

    async def worker() -> None:
        for request in queue:
            await call(app, state, request, answers)

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - started, answers


class Subject:
    def __init__(self, name: str, app: App, state: dict[str, Any], feed: Feed) -> None:
        self.name, self.app, self.state, self.feed = name, app, state, feed
        self.us: dict[str, list[float]] = {}


async def open_service(stack: AsyncExitStack, environ: dict[str, str]) -> tuple[App, dict[str, Any]]:
    from config.settings import load_settings
    from store import backend_for
    from web.app import create_app

    os.environ.update(environ)
    app = create_app(load_settings(check_database_url=backend_for))
    state = await stack.enter_async_context(app.router.lifespan_context(app))
    return app, dict(state or {})


async def run(args: argparse.Namespace) -> None:
    kinds = args.kinds.split(",")
    work = Path(tempfile.mkdtemp(prefix="qdn-inprocess-"))
    logging.basicConfig(filename=work / "service.log", level=logging.INFO)
    manifest = generate.ensure(generate.DATA_SETS["large"])
    business = json.loads((manifest / "manifest.json").read_text())["businesses"][0]
    async with AsyncExitStack() as stack:
        from bench.baseline_app import app as floor_app

        subjects = [Subject("floor", floor_app, {}, Feed(business, [], work, cycle=True))]
        backends = args.backends.split(",")
        if "tinydb" in backends:
            data, _ = generate.fresh_copy(generate.DATA_SETS["large"], work / "tinydb")
            environ = generate.bench_environ(data)
            callbacks = await _delivered(environ["DATABASE_URL"], business["delivered_sids"][:30_000])
            app, state = await open_service(stack, environ)
            subjects.append(Subject("tinydb", app, state, Feed(business, callbacks, work)))
        if "postgres" in backends:
            databases = Databases()
            stack.push_async_callback(asyncio.to_thread, databases.drop_all)
            name = await asyncio.to_thread(template, generate.DATA_SETS["large"], work)  # asyncio.run inside
            database = await asyncio.to_thread(databases.fresh, name)
            environ = service_environ(url_of(database), work, RUN_SENDER="false")
            callbacks = await _delivered(environ["DATABASE_URL"], business["delivered_sids"][:30_000])
            app, state = await open_service(stack, environ)
            subjects.append(Subject("postgres", app, state, Feed(business, callbacks, work)))
        subjects[0].feed.callbacks = subjects[-1].feed.callbacks
        for kind in kinds:
            for subject in subjects:  # warm-up
                await batch(subject.app, subject.state, requests_of(subject.feed, kind, 300), args.concurrency)
            for _ in range(args.rounds):
                for subject in subjects:
                    requests = requests_of(subject.feed, kind, args.requests)
                    seconds, answers = await batch(subject.app, subject.state, requests, args.concurrency)
                    bad = [status for status in answers if status >= 300]
                    if bad or len(answers) != len(requests):
                        raise RuntimeError(f"{subject.name} {kind}: {len(bad)} errors ({bad[:3]}), see {work}")
                    subject.us.setdefault(kind, []).append(seconds / len(requests) * 1e6)
    print("| kind | app | CPU µs/req | × floor CPU |")
    print("|---|---|---|---|")
    for kind in kinds:
        floor = statistics.median(subjects[0].us[kind])
        for subject in subjects:
            values = subject.us[kind]
            middle = statistics.median(values)
            spread = f"{middle:.0f} ({min(values):.0f}-{max(values):.0f})"
            print(f"| {kind} | {subject.name} | {spread} | {middle / floor:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--backends", default="tinydb")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
