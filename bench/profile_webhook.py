"""Where a webhook's CPU goes: the service under one request kind's load, sampled by py-spy.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile_webhook.py [--seconds 8] [--kind mix|token|status|callback] [--baseline]

Starts the service (or, with --baseline, bench/baseline_app.py) on a fresh
copy of the large data set, warms it up, lets the checkpoint of the warm-up
finish, then samples it with `py-spy record` while wrk fires signed webhooks:
`mix` is bench_webhook.py's (a) (one text in three a customer's STATUS, the
others never-seen phones texting tracking codes); `token`, `status` and
`callback` are bench_levers.py's loads of one kind. Prints the rate, the server's
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
from bench.bench_levers import Feed, settle  # noqa: E402
from bench.bench_webhook import CLIENT_CPU, Server, Workload, service, throughput  # noqa: E402
from bench.load import WEBHOOK_PATH, Texts, run_wrk  # noqa: E402

# The first rule whose frame text appears in a sampled stack names its part.
PARTS = (
    ("checkpoint thread: conversation files catching up", "_checkpoint_loop"),
    ("flush thread: fdatasync hand-offs, thread pool", "concurrent/futures/thread.py"),
    ("signature check: reading and parsing the form", "webhook_form (handlers/twilio/forms.py"),
    ("routing to the business (tenancy)", "_business_"),
    ("signature check: the HMAC (twilio RequestValidator)", "_signed_by (handlers/twilio/signature.py"),
    ("signature check: headers, key, the rest", "check_signed (handlers/twilio/signature.py"),
    ("decoding the form's fields (InboundSms, StatusReport)", "decode (handlers/twilio/forms.py"),
    ("store calls: memory lookups, journal append", "TinyDBStore."),
    ("handler: TwiML (twilio MessagingResponse)", "twiml (handlers/twilio/receive.py"),
    ("handler: conversation parse + decide", "bot/conversation/"),
    ("handler: the rest (rows, per-SID lock)", "_answer (handlers/twilio/receive.py"),
    ("status callback handler: the rest", "_apply (handlers/twilio/status.py"),
    ("access log (the app's line, or uvicorn's through the redaction filter)", "Logger.info"),
    # the baseline's endpoints (the service's namesakes are named above, with their modules)
    ("baseline handler: parse the form, answer a constant", "inbound_sms ("),
    ("baseline handler: parse the form, answer a constant", "status_callback ("),
)
FRAMEWORK = "uvicorn + Starlette: HTTP, event loop, routing, response"
# Judged by the innermost frame alone: code of these modules that calls nothing the rules above name.
LEAF_PARTS = (("the app's middleware: its own code (body limit, privacy headers, access timing)",
               ("web/middleware.py", "web/headers.py")),)  # fmt: skip


def parts(raw: Path) -> dict[str, float]:
    """Share of the samples per part, from py-spy's raw (collapsed stack) output."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        part = next((label for label, frame in PARTS if frame in stack), None) or next(
            (label for label, files in LEAF_PARTS if any(name in leaf for name in files)), FRAMEWORK
        )
        counts[part] += int(number)
    total = sum(counts.values()) or 1
    return {label: count / total for label, count in counts.most_common()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--baseline", action="store_true", help="profile bench/baseline_app.py instead")
    parser.add_argument("--kind", choices=("mix", "token", "status", "callback"), default="mix")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn", help="the service's server")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples (collapsed stacks) in this file")
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("profile: py-spy is not installed; `.venv/bin/pip install py-spy`")
    os.sched_setaffinity(0, {CLIENT_CPU})
    large = generate.DATA_SETS["large"]
    with tempfile.TemporaryDirectory(prefix="qdn-profile-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        businesses = json.loads((generate.ensure(large) / "manifest.json").read_text())["businesses"]
        data = None
        if args.baseline:
            server = Server([sys.executable, str(ROOT / "bench/baseline_app.py")], {}, ROOT, work / "server.log")
            workload = Workload(Texts(businesses), work)
        else:
            server, workload = service(large, work)
            if args.server == "granian":
                server.command = [sys.executable, str(ROOT / "bench/servers.py"), "service"]
            data = workload.data
        feed = Feed(businesses, work, cycle=args.baseline)
        server.start()
        try:
            budget = 12_000 * args.seconds
            if args.kind == "mix":
                throughput(server, workload, 2, args.connections)  # warm-up
                requests, path = workload.requests(budget + args.connections + 8), WEBHOOK_PATH
            else:
                warm = 1_000 if args.kind == "status" else 3_000
                requests, path = feed.write(args.kind, warm + args.connections + 8)
                warmed = run_wrk(server.url, requests, connections=args.connections, count=warm, duration=1,
                                 cpu=CLIENT_CPU, path=path)  # fmt: skip
                feed.advance(args.kind, warmed.sent)
                if args.kind == "status" and not args.baseline:
                    budget = feed.customers_left - 2 * args.connections - 16
                requests, path = feed.write(args.kind, budget + args.connections + 8)
            # the checkpoint of the warm-up's writes (after 2 s idle) is not this run's
            settle(server, data)
            time.sleep(0 if data else 2.5)
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
                             duration=args.seconds, cpu=CLIENT_CPU, path=path)  # fmt: skip
            cpu = server.cpu_seconds() - cpu_before
            wall = time.perf_counter() - started
            sampler.wait()
            if args.raw:
                shutil.copyfile(raw, args.raw)
        finally:
            server.stop()
        per_request = cpu / result.requests * 1e6
        print(f"{'baseline' if args.baseline else 'service'} ({args.kind}): {result.per_second:,.0f} req/s, "
              f"server CPU {100 * cpu / wall:.0f} %, {per_request:.0f} µs of CPU a request")  # fmt: skip
        print()
        print("| part | share | µs |")
        print("|---|---|---|")
        for label, share in parts(raw).items():
            print(f"| {label} | {100 * share:.0f} % | ~{share * per_request:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
