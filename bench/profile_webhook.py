"""Where a webhook's CPU goes: the service under the (a) load of bench_webhook.py, sampled by py-spy.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile_webhook.py [--seconds 8] [--baseline]

Starts the service (or, with --baseline, bench/baseline_app.py) on a fresh
copy of the large data set, warms it up, lets the checkpoint of the warm-up
finish, then samples it with `py-spy record` while wrk fires signed STATUS
webhooks, exactly as bench_webhook.py's (a). Prints the rate, the server's
CPU time per request (user + system, from /proc), and the sampled time by
part, scaled to that CPU time. Samples are on-CPU Python stacks, so kernel
time shows only as the parts that make the system calls.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.bench_webhook import CLIENT_CPU, Server, Workload, service, throughput  # noqa: E402
from bench.load import Texts, run_wrk  # noqa: E402

# The first rule whose frame text appears in a sampled stack names its part.
PARTS = (
    ("checkpoint thread: conversation files catching up", "_checkpoint_loop"),
    ("flush thread: fdatasync hand-offs, thread pool", "concurrent/futures/thread.py"),
    ("signature check: reading and parsing the form", "webhook_form (handlers/signature.py"),
    ("signature check: the HMAC (twilio RequestValidator)", "_signed_by (handlers/signature.py"),
    ("signature check: headers, key, the rest", "verified_form (handlers/signature.py"),
    ("store calls: memory lookups, journal append", "TinyDBStore."),
    ("handler: TwiML (twilio MessagingResponse)", "twiml (handlers/sms.py"),
    ("handler: conversation parse + decide", "bot/conversation/"),
    ("handler: the rest (From check, rows, per-SID lock)", "inbound_sms (handlers/sms.py"),
    ("uvicorn's access log through the redaction filter", "Logger.info"),
    ("baseline handler: parse the form, answer a constant", "baseline_app.py"),
)
FRAMEWORK = "uvicorn + Starlette: HTTP, event loop, routing, response"


def parts(raw: Path) -> dict[str, float]:
    """Share of the samples per part, from py-spy's raw (collapsed stack) output."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        part = next((label for label, frame in PARTS if frame in stack), FRAMEWORK)
        counts[part] += int(number)
    total = sum(counts.values()) or 1
    return {label: count / total for label, count in counts.most_common()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--baseline", action="store_true", help="profile bench/baseline_app.py instead")
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("profile: py-spy is not installed; `.venv/bin/pip install py-spy`")
    os.sched_setaffinity(0, {CLIENT_CPU})
    large = generate.DATA_SETS["large"]
    with tempfile.TemporaryDirectory(prefix="qdn-profile-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        if args.baseline:
            server = Server([sys.executable, str(ROOT / "bench/baseline_app.py")], {}, ROOT, work / "server.log")
            businesses = json.loads((generate.ensure(large) / "manifest.json").read_text())["businesses"]
            workload = Workload(Texts(businesses), work)
        else:
            server, workload = service(large, work)
        server.start()
        try:
            throughput(server, workload, 2, args.connections)  # warm-up
            budget = 12_000 * args.seconds
            requests = workload.requests(budget + args.connections + 8)
            time.sleep(3)  # the checkpoint of the warm-up's writes (after 2 s idle) is not this run's
            raw = work / "samples.txt"
            assert server.process is not None
            sampler = subprocess.Popen(
                [spy, "record", "--pid", str(server.process.pid), "--rate", "400", "--format", "raw",
                 "--output", str(raw), "--duration", str(args.seconds + 1), "--nonblocking", "--gil"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=lambda: os.sched_setaffinity(0, {CLIENT_CPU}),
            )  # fmt: skip
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
            result = run_wrk(server.url, requests, connections=args.connections, count=budget,
                             duration=args.seconds, cpu=CLIENT_CPU)  # fmt: skip
            cpu = server.cpu_seconds() - cpu_before
            wall = time.perf_counter() - started
            sampler.wait()
        finally:
            server.stop()
        per_request = cpu / result.requests * 1e6
        print(f"{'baseline' if args.baseline else 'service'}: {result.per_second:,.0f} req/s, "
              f"server CPU {100 * cpu / wall:.0f} %, {per_request:.0f} µs of CPU a request")  # fmt: skip
        print()
        print("| part | share | µs |")
        print("|---|---|---|")
        for label, share in parts(raw).items():
            print(f"| {label} | {100 * share:.0f} % | ~{share * per_request:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
