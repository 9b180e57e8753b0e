"""Issue #19's bench: each request kind against bare Starlette, on one core, in the same run.

    .venv/bin/python bench/bench_levers.py [--set large] [--seconds 6] [--rounds 3]
                                           [--server uvicorn|granian] [--baseline-server uvicorn|granian]

Three loads, each a stream of signed webhooks no server has seen before:

  token     never-seen phones texting the tracking code of one of the business's open jobs
  status    the data set's customers texting STATUS, each once (their open jobs looked up)
  callback  status callbacks for texts the data set holds as delivered, each reported `read`
            (the next step a report may take: a lookup by SID, a write, like sent -> delivered)

The service (`python -m web serve`, one process, CPU 0) and bench/baseline_app.py
(bare Starlette: parse the form, answer constant TwiML or 204; on uvicorn unless
--baseline-server says otherwise) take turns, `--rounds` times (ABBA order), each
a fresh process (the service on a fresh copy of the data set). Per kind: a warm-up,
the service's checkpoint of it, then the timed run (wrk on CPU 1,
`--connections` keep-alive connections). Printed per kind: req/s of both, their
ratio (median of the rounds), the server's CPU time per request (user + system
from /proc, all threads) and p50/p99 under load. The STATUS load is as long as
the data set has customers (large: ~7,400; the warm-up takes 1,000).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.bench_webhook import (  # noqa: E402
    CLIENT_CPU,
    Server,
    bench_env_value,
    journals_caught_up,
    machine,
    manifest_of,
)
from bench.load import (  # noqa: E402
    STATUS_PATH,
    WEBHOOK_PATH,
    LoadResult,
    Text,
    Texts,
    require_wrk,
    run_wrk,
    write_callbacks,
    write_requests,
)

KINDS = ("token", "status", "callback")
STATUS_WARM_UP = 1_000
STATUS_SECONDS = 2  # large: ~6,400 customers left after the warm-up, enough for 3,000 STATUS a second
CALLBACK_STATUS = "read"


class CustomerTexts(Texts):
    """Customers texting STATUS, with MessageSids of their own (the token stream numbers its texts too).

    `cycle`: once every customer has texted, they text again (for the baseline, which keeps no state).
    """

    def __init__(self, businesses: list[dict[str, Any]], cycle: bool) -> None:
        super().__init__(businesses, every=1)
        self.total = sum(len(b["senders"]) for b in businesses)
        self.cycle = cycle

    def at(self, n: int) -> Text:
        return super().at(n % self.total if self.cycle else n)

    def sid(self, n: int) -> str:
        return f"SMc{n:031x}"


@dataclass
class Feed:
    """The requests one server gets over its life, per kind; nothing is sent twice."""

    businesses: list[dict[str, Any]]
    folder: Path
    cycle: bool = False  # the baseline: customers text again, callbacks repeat (it keeps no state)
    tokens: Texts = field(init=False)
    customers: CustomerTexts = field(init=False)
    callbacks: int = 0  # next delivered SID to report on
    files: int = 0

    def __post_init__(self) -> None:
        self.tokens = Texts(self.businesses, every=0)
        self.customers = CustomerTexts(self.businesses, self.cycle)

    @property
    def customers_left(self) -> int:
        return 10**9 if self.cycle else self.customers.total - self.customers.cursor

    def write(self, kind: str, count: int) -> tuple[Path, str]:
        """A file of the next `count` requests of `kind`, and the path they go to."""
        self.files += 1
        path = self.folder / f"{kind}-{self.files}.txt"
        common = {"auth_token": generate.AUTH_TOKEN, "public_base_url": generate.PUBLIC_BASE_URL,
                  "account_sid": bench_env_value("TWILIO_ACCOUNT_SID")}  # fmt: skip
        if kind == "callback":
            sids = self.businesses[0]["delivered_sids"]
            if self.cycle:
                sids = sids * (1 + (self.callbacks + count) // len(sids))
            write_callbacks(path, sids, start=self.callbacks, count=count, sender=self.businesses[0]["number"],
                            status=CALLBACK_STATUS, **common)  # fmt: skip
            return path, STATUS_PATH
        texts = self.tokens if kind == "token" else self.customers
        write_requests(path, texts, count=count, **common)
        return path, WEBHOOK_PATH

    def advance(self, kind: str, sent: int) -> None:
        if kind == "callback":
            self.callbacks += sent
        else:
            (self.tokens if kind == "token" else self.customers).advance(sent)


@dataclass
class Run:
    load: LoadResult
    cpu_us: float  # server CPU per answered request


def timed(server: Server, feed: Feed, kind: str, count: int, seconds: float, connections: int) -> Run:
    path, url_path = feed.write(kind, count + connections + 8)  # spares for requests in flight at the stop
    cpu = server.cpu_seconds()
    result = run_wrk(server.url, path, connections=connections, count=count, duration=seconds, cpu=CLIENT_CPU,
                     path=url_path)  # fmt: skip
    cpu = server.cpu_seconds() - cpu
    feed.advance(kind, result.sent)
    expected = "204" if kind == "callback" else "200"
    if result.errors or result.exhausted or result.statuses.replace(f"{expected}=", "").strip() != str(result.requests):
        raise RuntimeError(f"{kind} load had errors or repeats: {result}")
    return Run(result, cpu / max(1, result.requests) * 1e6)


def settle(server: Server, data: Path | None, timeout: float = 120) -> None:
    """Wait until the service's journals are checkpointed (the warm-up's writes are not the run's)."""
    if data is None:
        time.sleep(0.5)
        return
    started = time.perf_counter()
    time.sleep(0.2)
    while time.perf_counter() - started < timeout and not journals_caught_up(data):
        time.sleep(0.05)
    time.sleep(0.3)


def one_life(server: Server, feed: Feed, data: Path | None, kinds: list[str], seconds: float,
             connections: int) -> dict[str, Run]:  # fmt: skip
    server.start()
    runs = {}
    try:
        for kind in kinds:
            # wrk reports its -d as the duration even when it stops at `count` answers: the budget must
            # outlast the run, or the rate is understated (flagged). The service has only so many
            # customers for STATUS (each texts once): its STATUS run is shorter.
            length, count = seconds, 15_000 * round(seconds)  # more than any server answers in `seconds`
            warm = 3_000
            if kind == "status" and not feed.cycle:
                warm = min(STATUS_WARM_UP, feed.customers_left // 5)
                count = feed.customers_left - warm - 2 * connections - 16
                length = min(seconds, STATUS_SECONDS)
            timed(server, feed, kind, warm, 1, connections)
            settle(server, data)
            runs[kind] = run = timed(server, feed, kind, count, length, connections)
            if run.load.requests >= count:
                print(f"  ({kind}: all {count} requests answered before {length:.0f} s: the rate is a lower bound)")
    finally:
        server.stop()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="large", choices=("large", "small"))
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn",
                        help="the service's server: `qdn serve` (uvicorn), or the same app on granian")  # fmt: skip
    parser.add_argument("--baseline-server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--no-baseline", action="store_true", help="the service alone")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    require_wrk()
    os.sched_setaffinity(0, {CLIENT_CPU})
    data_set = generate.DATA_SETS[args.set]
    generate.ensure(data_set)
    businesses = manifest_of(data_set)["businesses"]
    # The service as deployed (`qdn serve`: uvicorn), or the same with granian in uvicorn's place.
    service_command = [sys.executable, "-m", "web", "serve"]
    if args.server == "granian":
        service_command = [sys.executable, str(ROOT / "bench/servers.py"), "service"]
    service_runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    bare_runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    print(f"machine: {machine()}; data set {data_set.name}; service on {args.server}, "
          f"baseline on {args.baseline_server}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="qdn-levers-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        for n in range(args.rounds):
            order = ("bare", "service") if n % 2 == 0 else ("service", "bare")
            for who in order:
                if who == "bare" and args.no_baseline:
                    continue
                folder = Path(tempfile.mkdtemp(prefix=f"{who}-", dir=work))
                if who == "bare":
                    command = [sys.executable, str(ROOT / "bench/baseline_app.py"), "--server", args.baseline_server]
                    server, data = Server(command, {}, ROOT, work / "baseline.log"), None
                else:
                    data, _ = generate.fresh_copy(data_set, folder)
                    server = Server(service_command, generate.bench_environ(data), work, work / "service.log")
                feed = Feed(businesses, folder, cycle=who == "bare")
                runs = one_life(server, feed, data, kinds, args.seconds, args.connections)
                for kind, run in runs.items():
                    (bare_runs if who == "bare" else service_runs)[kind].append(run)
                    print(f"  round {n + 1} {who:7} {kind:8} {run.load.per_second:7,.0f} req/s  "
                          f"{run.cpu_us:5.0f} µs CPU/req  p50 {run.load.p50_ms:.2f} ms  p99 {run.load.p99_ms:.2f} ms"
                          f"  ({run.load.requests} requests)", flush=True)  # fmt: skip
    print()
    print("| kind | service req/s | bare req/s | ratio | service µs CPU/req | bare µs CPU/req | service p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        ours = service_runs[kind]
        rate = statistics.median(r.load.per_second for r in ours)
        cpu = statistics.median(r.cpu_us for r in ours)
        p50 = statistics.median(r.load.p50_ms for r in ours)
        p99 = statistics.median(r.load.p99_ms for r in ours)
        if bare_runs[kind]:
            bare = statistics.median(r.load.per_second for r in bare_runs[kind])
            bare_cpu = statistics.median(r.cpu_us for r in bare_runs[kind])
            ratios = [a.load.per_second / b.load.per_second for a, b in zip(ours, bare_runs[kind], strict=False)]
            ratio = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            cells = [kind, f"{rate:,.0f}", f"{bare:,.0f}", ratio, f"{cpu:.0f}", f"{bare_cpu:.0f}"]
            cells.append(f"{p50:.2f} / {p99:.2f}")
            print("| " + " | ".join(cells) + " |")
        else:
            print(f"| {kind} | {rate:,.0f} | - | - | {cpu:.0f} | - | {p50:.2f} / {p99:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
