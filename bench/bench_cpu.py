"""Issue #30's bench: CPU a webhook against the floor, per kind, on TinyDB and on PostgreSQL.

    make bench     # = .venv/bin/python bench/bench_cpu.py [--rounds 3] [--seconds 3] [--backends ...]
                   #   [--kinds token,status,callback] [--logged: the floor with uvicorn's access log too]

Three kinds of signed webhook, each at the address naming its business, none sent twice to a server:

  token     never-seen phones texting the tracking code of one of the business's open jobs
            (POST /twilio/{slug}/sms)
  status    the data set's customers texting STATUS, each once (POST /twilio/{slug}/sms)
  callback  status callbacks for texts the data set holds as delivered, each reported `read`
            (POST /twilio/{slug}/status?m=<message id>: a lookup by SID, a write)

Servers, each a fresh process (the service on a fresh copy of the large data set, or a fresh
database made from its template, bench/bench_postgres.py), taking turns every round (ABC..CBA):

  floor     bench/baseline_app.py --no-access-log: bare Starlette, parse the form, constant TwiML
            (or 204), uvicorn, no access log at all
  logged    the same with uvicorn's access log through the redaction filter (`--logged`)
  tinydb    `python -m web serve` (the Procfile's `web`) on the TinyDB data set
  postgres  the same on PostgreSQL (only when QDN_TEST_POSTGRES_URL names a server), RUN_SENDER=false
            as beside the Procfile's `worker`

Per kind and server: a warm-up, the TinyDB journals checkpointed, then
wrk for `--seconds` (16 keep-alive connections). Measured: the web process's CPU time (user +
system of all its threads, /proc) over that run, divided by the answers, and on PostgreSQL the CPU time of its
processes for that database and its shared ones (/proc); wrk's req/s and p50/p99. Nothing is
pinned: the machine is shared, so CPU a request is the figure that counts (far less sensitive to
other programs than req/s). Printed: every run, then per kind and backend the medians and the
rounds' range, and the ratios floor / service of CPU a request and of req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import generate  # noqa: E402
from bench.bench_levers import CALLBACK_STATUS, CustomerTexts  # noqa: E402
from bench.bench_pg_drivers import postgres_cpu_seconds  # noqa: E402
from bench.bench_postgres import Databases, Server, service_environ, template, url_of  # noqa: E402
from bench.bench_webhook import bench_env_value, journals_caught_up, machine, manifest_of  # noqa: E402
from bench.load import LoadResult, Texts, require_wrk, run_wrk  # noqa: E402
from bot.webhook_paths import sms_path, status_callback_path  # noqa: E402
from tests.twilio_fake import status_callback_form, twilio_form  # noqa: E402

KINDS = ("token", "status", "callback")
WARM_UP_SECONDS = 1


async def _delivered(database_url: str, sids: Sequence[str]) -> list[tuple[str, str]]:
    from store import open_deployment

    deployment = await open_deployment(database_url)
    try:
        store = next(iter(deployment.stores().values()))
        found = [await store.find_message_by_sid(sid) for sid in sids]
    finally:
        await deployment.close()
    return [(sid, str(message["id"])) for sid, message in zip(sids, found, strict=True) if message is not None]


def delivered(database_url: str, sids: Sequence[str]) -> list[tuple[str, str]]:
    """(MessageSid, message id) of each of `sids` in that store (ids are the store's own: read them there)."""
    return asyncio.run(_delivered(database_url, sids))


@dataclass
class Feed:
    """The requests one server gets over its life, per kind, each line with its own path; none sent twice."""

    business: dict[str, Any]
    callbacks: list[tuple[str, str]]  # (MessageSid, message id) of delivered texts
    folder: Path
    cycle: bool = False  # the floor keeps no state: customers and callbacks may repeat
    tokens: Texts = field(init=False)
    customers: CustomerTexts = field(init=False)
    reported: int = 0
    files: int = 0

    def __post_init__(self) -> None:
        self.tokens = Texts([self.business], every=0)
        self.customers = CustomerTexts([self.business], self.cycle)
        self.validator = RequestValidator(generate.AUTH_TOKEN)
        self.account = bench_env_value("TWILIO_ACCOUNT_SID")

    @property
    def customers_left(self) -> int:
        return 10**6 if self.cycle else self.customers.total - self.customers.cursor

    def _line(self, path: str, form: dict[str, str]) -> str:
        signature = self.validator.compute_signature(generate.PUBLIC_BASE_URL + path, form)
        return f"{signature}\t{path}\t{urlencode(form)}\n"

    def write(self, kind: str, count: int) -> Path:
        self.files += 1
        out_path = self.folder / f"{kind}-{self.files}.txt"
        slug = self.business["slug"]
        with open(out_path, "w", encoding="utf-8") as out:
            for n in range(count):
                if kind == "callback":
                    sid, message_id = self.callbacks[(self.reported + n) % len(self.callbacks)]
                    form = status_callback_form(sid, self.business["number"], "+15125550000", self.account,
                                                CALLBACK_STATUS)  # fmt: skip
                    out.write(self._line(status_callback_path(slug, message_id), form))
                    continue
                texts = self.tokens if kind == "token" else self.customers
                text = texts.at(texts.cursor + n)
                form = twilio_form(text.sender, text.to, texts.sid(texts.cursor + n), self.account, text.body)
                out.write(self._line(sms_path(slug), form))
        return out_path

    def advance(self, kind: str, sent: int) -> None:
        if kind == "callback":
            self.reported += sent
        else:
            (self.tokens if kind == "token" else self.customers).advance(sent)


@dataclass
class Run:
    load: LoadResult
    web_us: float  # the web process's CPU a request
    pg_us: float  # PostgreSQL's CPU a request (0 off PostgreSQL)


def timed(server: Server, feed: Feed, kind: str, seconds: float, database: str | None, connections: int) -> Run:
    """wrk for `seconds` (it always runs its whole -d), the server's CPU over that run / the answers counted.

    A STATUS run stops at the customers left (each texts once): it then ends early and its rate reads low
    (flagged); its CPU a request is exact either way.
    """
    count = 8_000 * round(seconds)
    if kind == "status":  # each customer texts once; the callbacks and tokens have their own supplies
        count = min(count, feed.customers_left - connections - 8)
    path = feed.write(kind, count + connections + 8)  # spares for requests in flight at the stop
    databases = {database} if database else set()
    web, pg = server.cpu_seconds(), postgres_cpu_seconds(databases) if database else 0.0
    result = run_wrk(server.url, path, connections=connections, count=count, duration=seconds, cpu=None)
    web = server.cpu_seconds() - web
    pg = postgres_cpu_seconds(databases) - pg if database else 0.0
    path.unlink()
    feed.advance(kind, result.sent)
    expected = "204" if kind == "callback" else "200"
    if result.errors or result.exhausted or result.statuses.replace(f"{expected}=", "").strip() != str(result.requests):
        raise RuntimeError(f"{kind} load had errors or repeats: {result}; see {server.log}")
    if result.requests >= count:
        print(f"  ({kind}: every request answered before {seconds:.0f} s: its rate reads low)")
    return Run(result, web / result.requests * 1e6, pg / result.requests * 1e6)


def settle(data: Path | None, timeout: float = 60) -> None:
    """Wait until the TinyDB journals are checkpointed: the warm-up's writes are not the run's."""
    started = time.perf_counter()
    time.sleep(0.3)
    while data is not None and time.perf_counter() - started < timeout and not journals_caught_up(data):
        time.sleep(0.05)
    time.sleep(0.2)


@dataclass
class Backend:
    name: str  # floor, logged, tinydb, postgres; "-before": the service of the --before tree
    work: Path
    databases: Databases
    template_name: str | None = None
    before: Path | None = None  # the tree whose `web` the "-before" servers run

    def server(self, folder: Path) -> tuple[Server, Path | None, str | None]:
        """A fresh server: its process, its TinyDB data folder, its PostgreSQL database."""
        log = self.work / f"{self.name}.log"
        if self.name in ("floor", "logged"):
            command = [sys.executable, str(ROOT / "bench/baseline_app.py")]
            command += ["--no-access-log"] if self.name == "floor" else []
            return Server(command, {}, ROOT, log), None, None
        serve = [sys.executable, "-m", "web", "serve"]
        # `python -m` imports from its working folder first: the --before tree's code, or this one's.
        cwd = self.before if self.name.endswith("-before") and self.before else ROOT
        if self.name.startswith("tinydb"):
            data, _ = generate.fresh_copy(generate.DATA_SETS["large"], folder)
            return Server(serve, generate.bench_environ(data), cwd, log), data, None
        database = self.databases.fresh(self.template_name)
        environ = service_environ(url_of(database), self.work, RUN_SENDER="false")
        return Server(serve, environ, cwd, log), None, database


def one_life(backend: Backend, feed: Feed, kinds: Sequence[str], seconds: float, connections: int) -> dict[str, Run]:
    server, data, database = backend.server(feed.folder)
    server.start()
    runs = {}
    try:
        for kind in kinds:
            timed(server, feed, kind, WARM_UP_SECONDS, database, connections)
            settle(data)
            runs[kind] = timed(server, feed, kind, seconds, database, connections)
    finally:
        server.stop()
    return runs


def spread(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    middle = fmt.format(statistics.median(values))
    return middle if len(values) < 2 else f"{middle} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(kinds: Sequence[str], runs: dict[str, dict[str, list[Run]]], floor: str = "floor") -> None:
    print()
    print("| kind | server | req/s | × floor req/s | CPU µs/req (web) | × floor CPU | PostgreSQL CPU µs/req "
          "| p50 / p99 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        bare = runs[floor][kind]
        for name, by_kind in runs.items():
            ours = by_kind[kind]
            rate = [r.load.per_second / b.load.per_second for r, b in zip(ours, bare, strict=False)]
            cpu = [b.web_us / r.web_us for r, b in zip(ours, bare, strict=False)]
            pg = spread([r.pg_us for r in ours]) if any(r.pg_us for r in ours) else "-"
            p50 = statistics.median(r.load.p50_ms for r in ours)
            p99 = statistics.median(r.load.p99_ms for r in ours)
            cells = [kind, name, spread([r.load.per_second for r in ours]), spread(rate, "{:.2f}"),
                     spread([r.web_us for r in ours]), spread(cpu, "{:.2f}"), pg, f"{p50:.2f} / {p99:.2f}"]  # fmt: skip
            print("| " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3, help="each timed run (after a 1 s warm-up)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--backends", default="tinydb,postgres", help="the services measured against the floor")
    parser.add_argument("--logged", action="store_true", help="also the floor with uvicorn's access log")
    parser.add_argument("--before", type=Path, help="a tree of the code before a lever (`git worktree add`): "
                        "its service too, as tinydb-before and postgres-before, in the same rounds")  # fmt: skip
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    require_wrk()
    data_set = generate.DATA_SETS["large"]
    generate.ensure(data_set)
    business = manifest_of(data_set)["businesses"][0]
    needed = business["delivered_sids"][:40_000]  # callbacks: a delivered text each, never one twice a server
    services = args.backends.split(",")
    if "postgres" in services and not os.environ.get("QDN_TEST_POSTGRES_URL"):
        print("(no QDN_TEST_POSTGRES_URL: PostgreSQL left out)")
        services.remove("postgres")
    befores = [f"{name}-before" for name in services] if args.before else []
    paired = [name for pair in zip(befores, services, strict=True) for name in pair] if befores else services
    names = ["floor", *(["logged"] if args.logged else []), *paired]
    print(f"machine: {machine()}; data set {data_set.name}; {args.seconds:.0f} s a kind and server; "
          f"{args.connections} connections; slug {business['slug']!r} ({quote(business['slug'])})")  # fmt: skip
    databases = Databases()
    runs: dict[str, dict[str, list[Run]]] = {name: {kind: [] for kind in kinds} for name in names}
    with tempfile.TemporaryDirectory(prefix="qdn-cpu-", dir=generate.cache_root()) as tmp:
        work = Path(tmp)
        copy, _ = generate.fresh_copy(data_set, work / "ids")
        callbacks = {"tinydb": delivered(f"tinydb:///{copy.resolve()}/qdn.json", needed)}
        pg_template = template(data_set, work) if "postgres" in services else None
        if pg_template is not None:
            callbacks["postgres"] = callbacks["postgres-before"] = delivered(url_of(pg_template), needed)
        try:
            for n in range(args.rounds):
                for name in names if n % 2 == 0 else reversed(names):
                    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))
                    backend = Backend(name, work, databases, pg_template, args.before)
                    feed = Feed(
                        business, callbacks.get(name, callbacks["tinydb"]), folder, cycle=name in ("floor", "logged")
                    )
                    for kind, run in one_life(backend, feed, kinds, args.seconds, args.connections).items():
                        runs[name][kind].append(run)
                        pg = f"  PostgreSQL {run.pg_us:5.0f} µs/req" if run.pg_us else ""
                        print(f"  round {n + 1} {name:8} {kind:8} {run.load.per_second:7,.0f} req/s  "
                              f"web {run.web_us:5.0f} µs CPU/req{pg}  p50 {run.load.p50_ms:.2f} ms  "
                              f"p99 {run.load.p99_ms:.2f} ms", flush=True)  # fmt: skip
                    databases.drop_all()
        finally:
            databases.drop_all()
    report(kinds, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
