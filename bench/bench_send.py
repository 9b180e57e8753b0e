"""Send-queue benchmark: 1,000 queued texts to a local fake Twilio over real HTTP.

    .venv/bin/python bench/bench_send.py [--texts 1000] [--latency 0.1] [--capped-texts 100 --cap 20]

A fake Twilio (uvicorn, in its own process, on 127.0.0.1) answers each
`POST .../Messages.json` in Twilio's wire format after `--latency` seconds.
Texts are queued on a real TinyDB store first, then the real worker
(sender.worker.Sender + TwilioTransport over httpx) drains them.

Printed as ratios against a baseline measured in the same run: the same
number of bare httpx POSTs to the same fake at the same concurrency (what the
network and the fake allow). Reported:
- texts/second with a high SEND_RATE_PER_SECOND, against the baseline rate;
- the worker process's CPU time per text (event loop + store thread), against
  the baseline's CPU per bare request;
- a second run with a low cap, to show the cap is honoured;
- duplicates seen by the fake (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import jobs  # noqa: E402
from config.settings import load_settings  # noqa: E402
from handlers.services import Services  # noqa: E402
from sender.transports.twilio import TwilioTransport  # noqa: E402
from sender.worker import Sender  # noqa: E402
from store import open_store  # noqa: E402
from tests.twilio_fake import MESSAGES_PATH, message_json, twilio_environ  # noqa: E402

# --- the fake Twilio (runs in a child process) ----------------------------------------------


def fake_twilio_app(latency: float) -> Callable[[dict[str, Any], Any, Any], Awaitable[None]]:
    sids = (f"SM{n:032x}" for n in itertools.count(1))
    bodies: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        payload: dict[str, Any]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET" and scope["path"] == "/stats":
            payload, status = {"creates": len(bodies), "distinct": len(set(bodies))}, 200
        elif scope["method"] == "POST" and scope["path"] == MESSAGES_PATH:
            await asyncio.sleep(latency)
            form = dict(parse_qsl(body.decode()))
            bodies.append(form.get("Body", ""))
            payload, status = message_json(next(sids), form), 201
        else:
            payload, status = {"code": 20404, "message": "not found", "status": 404}, 404
        data = json.dumps(payload).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": data})

    return app


def serve_fake(port: int, latency: float) -> None:
    import uvicorn

    uvicorn.run(fake_twilio_app(latency), host="127.0.0.1", port=port, log_level="warning", backlog=2048)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_fake(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port), "--latency", str(latency)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/stats", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the fake Twilio did not start")


# --- measurements ----------------------------------------------------------------------------


async def baseline(url: str, count: int, concurrency: int) -> tuple[float, float]:
    """Bare httpx POSTs of a text-sized form at `concurrency`: (requests/s, CPU seconds/request)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                form = {"To": f"+1512555{n % 10000:04d}", "From": "+15125550123", "Body": f"baseline {n}" + "x" * 180}
                response = await client.post(url + MESSAGES_PATH, data=form)
                response.raise_for_status()

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - wall), (time.process_time() - cpu) / count


async def drain_queue(url: str, count: int, rate: float, folder: Path) -> tuple[float, float, int]:
    """Queue `count` status texts (one job per customer), then time the worker draining them.

    Returns (texts/s, worker CPU seconds/text, concurrency used).
    """
    environ = twilio_environ(folder, TWILIO_API_BASE_URL=url, SEND_RATE_PER_SECOND=str(rate))
    settings = load_settings(environ, env_file=None)
    store = await open_store(settings.database_url)
    services = Services(settings=settings, store=store)
    for n in range(count):
        fields = {"customer_name": f"Customer {n}", "customer_phone": f"+1512555{n % 10000:04d}",
                  "service_type": "junk removal"}  # fmt: skip
        await services.create_job(jobs.clean_fields(fields, settings.timezone, partial=False))
    sender = Sender(store, TwilioTransport(settings), rate_per_second=rate, give_up_hours=24)
    cpu, wall = time.process_time(), time.perf_counter()
    await sender.start()
    await sender.wait_idle()
    elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
    await sender.stop()
    left = await store.pending_messages()
    await store.close()
    if left:
        raise SystemExit(f"{len(left)} texts still pending")
    return count / elapsed, used / count, sender.concurrency


def stats(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/stats", timeout=5).json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the fake Twilio takes per request")
    parser.add_argument("--rate", type=float, default=1000, help="SEND_RATE_PER_SECOND for the throughput run")
    parser.add_argument("--cap", type=float, default=20, help="SEND_RATE_PER_SECOND for the capped run")
    parser.add_argument("--capped-texts", type=int, default=100)
    parser.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake, args.latency)
        return

    fake, url = start_fake(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            concurrency = Sender.concurrency_for(args.rate)
            base_rate, base_cpu = asyncio.run(baseline(url, args.texts, concurrency))
            before = stats(url)
            rate, cpu_per_text, _ = asyncio.run(drain_queue(url, args.texts, args.rate, folder / "fast"))
            middle = stats(url)
            capped_rate, _, capped_concurrency = asyncio.run(
                drain_queue(url, args.capped_texts, args.cap, folder / "capped")
            )
            after = stats(url)
    finally:
        fake.terminate()
        fake.wait(10)

    print(f"fake Twilio: {args.latency * 1000:.0f} ms per request, own process; {os.cpu_count()} CPUs")
    print(f"baseline  bare httpx POSTs, {concurrency} at a time: {base_rate:7.1f} req/s, "
          f"{base_cpu * 1000:.3f} ms CPU/request")  # fmt: skip
    print(f"worker    {args.texts} texts, SEND_RATE_PER_SECOND={args.rate:g} ({concurrency} at a time): "
          f"{rate:7.1f} texts/s = {rate / base_rate:.2f} x baseline; "
          f"{cpu_per_text * 1000:.3f} ms CPU/text = {cpu_per_text / base_cpu:.1f} x baseline")  # fmt: skip
    print(f"capped    {args.capped_texts} texts, SEND_RATE_PER_SECOND={args.cap:g} ({capped_concurrency} at a time): "
          f"{capped_rate:7.1f} texts/s = {capped_rate / args.cap:.2f} x the cap")  # fmt: skip
    sent_fast = middle["creates"] - before["creates"]
    sent_capped = after["creates"] - middle["creates"]
    duplicates = (after["creates"] - after["distinct"]) - (before["creates"] - before["distinct"])
    print(f"Twilio received {sent_fast} + {sent_capped} creates for {args.texts} + {args.capped_texts} texts; "
          f"duplicate bodies: {duplicates}")  # fmt: skip


if __name__ == "__main__":
    main()
