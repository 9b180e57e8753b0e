"""Slow clients against a real `qdn serve`: its file descriptors, /healthz latency, and how long slow sockets live.

    .venv/bin/python bench/bench_slow_clients.py                      # 1,800 slowloris + 200 slow-body sockets
    .venv/bin/python bench/bench_slow_clients.py --slowloris 4800      # mind `ulimit -n` (both ends count here)
    .venv/bin/python bench/bench_slow_clients.py --unbounded           # as before issue #28: no timeouts, no cap

Every slow socket drips one byte every 2 s: a slowloris one a header line that never ends, a
slow-body one a JSON body that never completes. Every 5 s for 35 s the bench prints the server's
open descriptors (/proc/PID/fd), how many slow sockets the server still holds, and /healthz
latency (10 requests on new connections). Nothing here is asserted; docs/production-timeouts.md
keeps the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.support import API_TOKEN, LiveServer, base_environ

DRIP_SECONDS = 2.0
DURATION_SECONDS = 35.0
SAMPLE_SECONDS = 5.0


async def slow_socket(port: int, head: bytes, drip: bytes, open_ones: set[int]) -> None:
    """Send `head`, then `drip` a byte every DRIP_SECONDS until the server closes the connection."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return  # refused or closed at once (the cap): never held
    key = id(writer)
    open_ones.add(key)
    try:
        writer.write(head)
        for byte in drip:
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(65536), DRIP_SECONDS) == b"":
                    return  # closed by the server (or answered 408 and closed: read on, then b"")
            except TimeoutError:
                pass
            writer.write(bytes([byte]))
    except OSError:
        return
    finally:
        open_ones.discard(key)
        writer.close()


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def healthz_ms(url: str, count: int = 10) -> list[float]:
    timings = []
    # A new connection each time, like a load balancer's prober.
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(count):
            started = time.perf_counter()
            try:
                (await client.get(f"{url}/healthz")).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
            except httpx.HTTPError:
                timings.append(float("inf"))
    return timings


async def attack(server: LiveServer, slowloris: int, slow_body: int) -> None:
    assert server.process is not None
    pid, port = server.process.pid, server.port
    loris_head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
    body_head = (
        b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
        + f"Authorization: Bearer {API_TOKEN}\r\n\r\n{{".encode()
    )
    drip = b"a" * 1000
    open_ones: set[int] = set()
    print(f"server pid {pid}: {descriptors(pid)} descriptors before; healthz {summary(await healthz_ms(server.url))}")
    started = time.monotonic()
    tasks = [asyncio.create_task(slow_socket(port, loris_head, drip, open_ones)) for _ in range(slowloris)]
    tasks += [asyncio.create_task(slow_socket(port, body_head, drip, open_ones)) for _ in range(slow_body)]
    while (elapsed := time.monotonic() - started) < DURATION_SECONDS:
        await asyncio.sleep(SAMPLE_SECONDS)
        timings = await healthz_ms(server.url)
        print(
            f"t={time.monotonic() - started:5.1f}s  server descriptors {descriptors(pid):5d}  "
            f"slow sockets still open {len(open_ones):5d}  healthz {summary(timings)}"
        )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    del elapsed


def summary(timings: list[float]) -> str:
    finite = [t for t in timings if t != float("inf")]
    failed = len(timings) - len(finite)
    if not finite:
        return f"all {failed} failed"
    return f"median {statistics.median(finite):.1f} ms, max {max(finite):.1f} ms" + (
        f", {failed} failed" if failed else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slowloris", type=int, default=1800)
    parser.add_argument("--slow-body", type=int, default=200)
    parser.add_argument("--unbounded", action="store_true", help="timeouts of an hour and no cap: as before #28")
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process holds one end of every socket
    print(f"ulimit -n: {soft} (raised to {hard} here; the server inherits it)")
    args = ["--header-timeout", "3600", "--body-timeout", "3600", "--max-connections", "100000"]
    folder = Path(tempfile.mkdtemp(prefix="qdn-slow-"))
    server = LiveServer(base_environ(folder), folder, args=args if options.unbounded else [])
    server.start()
    try:
        asyncio.run(attack(server, options.slowloris, options.slow_body))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
