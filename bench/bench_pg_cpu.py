"""PostgreSQL's own CPU a webhook, one backend, statements replayed (issue #30): where it goes, variant by variant.

    QDN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5433/postgres \\
        .venv/bin/python bench/bench_pg_cpu.py [--webhooks 3000] [--warm-up 300] [--rounds 3] \\
        [--kinds token,status,callback] [--variants baseline,no_conv_trigger,...]

1. Capture: the service's app in this process (bench/bench_inprocess.py's way: no server, no network),
   on a fresh database made from the large data set's template (bench/bench_postgres.py), answers
   `--warm-up` + `--webhooks` webhooks of each kind (bench/bench_cpu.py's Feed: tracking codes from
   never-seen phones, customers texting STATUS, status callbacks), one at a time; every statement
   the process sends to PostgreSQL meanwhile (asyncpg's execute/fetch/fetchrow/fetchval, with their
   arguments: the webhook's read, its write, a BEGIN/COMMIT, the batched NOTIFY) is recorded, by webhook.
2. Replay, per variant and round (variants alternating within each round, each on a fresh copy of
   the template with the schema the code migrates to, then the variant's SQL): one asyncpg
   connection with the pool's own session settings (generic plans) and codecs sends the recorded
   statements in order -- prepared, as the pool does -- and the backend's CPU is read from
   /proc/<pg_backend_pid()>/schedstat (ns, user + system) around the `--webhooks` after the warm-up.
   Each copy holds the same rows as the capture's did, so every write finds what it found there
   (the same phone versions, `xmin`, as they come from the template; never-seen phones never seen).

Printed: per kind, the median µs of the backend's CPU a webhook per variant (and the rounds' range),
the difference to the baseline, and the statements replayed a webhook and the errors (a variant that
changes answers shows here). The machine is shared: the backend's own CPU time is what is counted,
not the wall clock.
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
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.bench_cpu import KINDS, Feed, _delivered  # noqa: E402
from bench.bench_inprocess import batch, open_service, requests_of  # noqa: E402
from bench.bench_postgres import PREFIX, Databases, fetch_column, service_environ, template, url_of  # noqa: E402

Call = tuple[str, str, tuple[Any, ...]]  # method, query, arguments

_PENDING_INDEXES = ("messages_claimed", "messages_due", "messages_pending", "messages_queue")
# conversations.waiting_since kept by the text trigger (as a plain column) instead of GENERATED ... STORED.
_PLAIN_WAITING = """ALTER TABLE conversations ALTER COLUMN waiting_since DROP EXPRESSION;
CREATE OR REPLACE FUNCTION qdn_conversation_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := qdn_message_kind(NEW.doc);
    free_text text := CASE WHEN NEW.direction = 'inbound' AND kind = 'text' THEN NEW.created_at END;
    answer text := CASE WHEN NEW.direction = 'outbound' AND kind IN ('relay', 'notification')
        THEN NEW.created_at END;
    said boolean := kind IS NULL OR kind NOT IN ('reply', 'system');
BEGIN
    INSERT INTO conversations AS c (business, phone, last_at, last_text_at, answered_at, said_at, said_seq,
        waiting_since)
    VALUES (NEW.business, NEW.phone, NEW.created_at, free_text, answer,
        CASE WHEN said THEN NEW.created_at END, CASE WHEN said THEN NEW.seq END,
        CASE WHEN free_text > COALESCE(answer, '') THEN free_text END)
    ON CONFLICT (business, phone) DO UPDATE SET
        last_at = GREATEST(c.last_at, EXCLUDED.last_at),
        last_text_at = GREATEST(c.last_text_at, EXCLUDED.last_text_at),
        answered_at = GREATEST(c.answered_at, EXCLUDED.answered_at),
        waiting_since = CASE WHEN GREATEST(c.last_text_at, EXCLUDED.last_text_at)
            > COALESCE(GREATEST(c.answered_at, EXCLUDED.answered_at), '')
            THEN GREATEST(c.last_text_at, EXCLUDED.last_text_at) END,
        said_at = CASE WHEN c.said_at IS NULL OR (EXCLUDED.said_at, EXCLUDED.said_seq) > (c.said_at, c.said_seq)
            THEN COALESCE(EXCLUDED.said_at, c.said_at) ELSE c.said_at END,
        said_seq = CASE WHEN c.said_at IS NULL OR (EXCLUDED.said_at, EXCLUDED.said_seq) > (c.said_at, c.said_seq)
            THEN COALESCE(EXCLUDED.said_seq, c.said_seq) ELSE c.said_seq END;
    RETURN NULL;
END $$"""


@dataclass
class Variant:
    name: str
    what: str
    sql: str = ""  # run on the fresh copy before the replay
    settings: dict[str, str] = field(default_factory=dict)  # session settings beyond the pool's
    # the webhook's recorded calls -> the calls replayed (default: as recorded)
    calls: Callable[[list[Call]], list[Call]] | None = None


def _only(predicate: Callable[[str], bool]) -> Callable[[list[Call]], list[Call]]:
    return lambda calls: [call for call in calls if predicate(call[1])]


def _is_write(query: str) -> bool:
    return query.lstrip().upper().startswith("WITH")


def _commit_only(calls: list[Call]) -> list[Call]:
    return [("fetchval", "SELECT txid_current()", ())]  # a transaction with an id: its commit, WAL flushed


def _drop(*indexes: str) -> str:
    return ";".join(f"DROP INDEX {name}" for name in indexes)


def _migration(version: str) -> str:
    found = sorted((ROOT / "store/postgres/migrations").glob(f"{version}_*.sql"))
    return found[0].read_text(encoding="utf-8") if found else ""


VARIANTS = {
    v.name: v
    for v in [
        Variant("baseline", "the code's schema and statements"),
        Variant("read_only", "the webhook's read alone (no write: later reads see the template's rows)",
                calls=_only(lambda q: not _is_write(q) and q.strip().upper() not in ("BEGIN", "COMMIT"))),
        Variant("write_only", "the webhook's write alone (its data-modifying statement)", calls=_only(_is_write)),
        Variant("commit_only", "an empty transaction with a txid (SELECT txid_current()) a webhook",
                calls=_commit_only),
        Variant("custom_plans", "plan_cache_mode=auto (custom plans, planned per call)",
                settings={"plan_cache_mode": "auto"}),
        Variant("no_conv_trigger", "messages_conversation trigger disabled",
                "ALTER TABLE messages DISABLE TRIGGER messages_conversation"),
        Variant("plain_waiting", "conversations.waiting_since a plain column kept by the trigger", _PLAIN_WAITING),
        Variant("no_conv_indexes", "conversations' two partial indexes dropped",
                _drop("conversations_waiting", "conversations_recent")),
        Variant("no_media_trigger", "messages_media_due_notify trigger disabled",
                "ALTER TABLE messages DISABLE TRIGGER messages_media_due_notify"),
        Variant("no_notify_trigger", "messages_changes_notify trigger disabled (its WHEN skips it anyway)",
                "ALTER TABLE messages DISABLE TRIGGER messages_changes_notify"),
        Variant("no_pending_indexes", "messages' 4 partial indexes on status = 'pending' dropped",
                _drop(*_PENDING_INDEXES)),
        Variant("no_media_index", "messages_media_due (an expression index, a regex over doc) dropped",
                _drop("messages_media_due")),
        Variant("no_job_sid_phone_indexes", "messages_by_job, messages_by_sid, messages_by_phone dropped",
                _drop("messages_by_job", "messages_by_sid", "messages_by_phone")),
        Variant("no_event_indexes", "events' 3 secondary indexes dropped",
                _drop("events_by_age", "events_by_id", "events_pending")),
        Variant("no_consent_index", "phones_with_consent dropped", _drop("phones_with_consent")),
        Variant("m0013", "migration 0013 (if the code has one)", _migration("0013")),
    ]
}


# --- capture ----------------------------------------------------------------------------------------


class Recorder:
    """Every statement asyncpg sends while `index` is set, by webhook."""

    METHODS = ("execute", "fetch", "fetchrow", "fetchval")

    def __init__(self) -> None:
        self.index: int | None = None
        self.calls: dict[int, list[Call]] = {}

    def install(self) -> Callable[[], None]:
        import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

        originals = {name: getattr(asyncpg.Connection, name) for name in self.METHODS}
        recorder = self

        def wrap(name: str) -> Any:
            original = originals[name]

            async def recorded(conn: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                if recorder.index is not None:
                    recorder.calls.setdefault(recorder.index, []).append((name, query, args))
                return await original(conn, query, *args, **kwargs)

            return recorded

        for name in self.METHODS:
            setattr(asyncpg.Connection, name, wrap(name))

        def uninstall() -> None:
            for name, original in originals.items():
                setattr(asyncpg.Connection, name, original)

        return uninstall


async def capture(kinds: Sequence[str], count: int, template_name: str, databases: Databases,
                  work: Path, business: dict[str, Any]) -> dict[str, list[list[Call]]]:  # fmt: skip
    database = await asyncio.to_thread(databases.fresh, template_name)
    environ = service_environ(url_of(database), work, RUN_SENDER="false")
    callbacks = await _delivered(environ["DATABASE_URL"], business["delivered_sids"][:30_000])
    recorder = Recorder()
    captured: dict[str, list[list[Call]]] = {}
    async with AsyncExitStack() as stack:
        app, state = await open_service(stack, environ)
        feed = Feed(business, callbacks, work)
        uninstall = recorder.install()
        try:
            for kind in kinds:
                recorder.calls = {}
                for n, request in enumerate(requests_of(feed, kind, count)):
                    recorder.index = n
                    _, answers = await batch(app, state, [request], 1)
                    if answers != [200] and answers != [204]:
                        raise RuntimeError(f"{kind} webhook {n}: answered {answers}")
                await asyncio.sleep(0.2)  # the last wake-ups owed (notify_later), recorded with the last webhook
                recorder.index = None
                captured[kind] = [recorder.calls.get(n, []) for n in range(count)]
        finally:
            recorder.index = None
            uninstall()
    return captured


# --- replay -----------------------------------------------------------------------------------------


def backend_cpu_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


@dataclass
class Replayed:
    us: float  # backend CPU µs a webhook
    calls: float  # statements a webhook
    errors: int
    first_error: str = ""


async def replay(database: str, variant: Variant, webhooks: list[list[Call]], warm_up: int) -> Replayed:
    import asyncpg

    from store.postgres.connection import SESSION_SETTINGS, _init_connection

    conn = await asyncpg.connect(url_of(database), server_settings={**SESSION_SETTINGS, **variant.settings})
    try:
        await _init_connection(conn)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        plan = [variant.calls(calls) if variant.calls else calls for calls in webhooks]
        errors, first, sent = 0, "", 0
        started = 0
        for n, calls in enumerate(plan):
            if n == warm_up:
                started, sent, errors = backend_cpu_ns(pid), 0, 0
            for method, query, args in calls:
                sent += 1
                try:
                    await getattr(conn, method)(query, *args)
                except asyncpg.PostgresError as error:
                    errors += 1
                    first = first or f"{type(error).__name__}: {error}"
                    if conn.is_in_transaction():
                        await conn.execute("ROLLBACK")
        used = backend_cpu_ns(pid) - started
    finally:
        await conn.close()
    measured = len(plan) - warm_up
    return Replayed(used / measured / 1000, sent / measured, errors, first)


def existing_template(data_set: generate.DataSet, work: Path) -> str:
    """A large template already built (by any checkout: migrations are applied to each copy), else a new one."""
    from tests.pg import admin_url

    names = fetch_column(admin_url(), "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY oid DESC", f"{PREFIX}{data_set.name}\\_%")  # fmt: skip
    names = [name for name in names if not name.endswith("_building")]
    return names[0] if names else template(data_set, work)


async def migrated_copy(databases: Databases, template_name: str, variant: Variant) -> str:
    from store.postgres.connection import connect
    from store.postgres.migrate import migrate

    database = await asyncio.to_thread(databases.fresh, template_name)
    async with connect(url_of(database)) as conn:
        await migrate(conn)
        if variant.sql:
            await conn.execute(variant.sql)
    return database


async def run(args: argparse.Namespace) -> None:
    kinds = args.kinds.split(",")
    variants = [VARIANTS[name] for name in args.variants.split(",")]
    work = Path(tempfile.mkdtemp(prefix="qdn-pgcpu-"))
    logging.basicConfig(filename=work / "service.log", level=logging.INFO)
    data_set = generate.DATA_SETS["large"]
    manifest = generate.ensure(data_set)
    business = json.loads((manifest / "manifest.json").read_text())["businesses"][0]
    databases = Databases()
    try:
        name = await asyncio.to_thread(existing_template, data_set, work)
        total = args.warm_up + args.webhooks
        started = time.perf_counter()
        captured = await capture(kinds, total, name, databases, work, business)
        await asyncio.to_thread(databases.drop_all)
        print(f"template {name}; captured {total} webhooks of each kind in {time.perf_counter() - started:.0f} s; "
              f"{args.rounds} rounds, variants alternating; {args.webhooks} measured after {args.warm_up}", flush=True)  # fmt: skip
        results: dict[tuple[str, str], list[Replayed]] = {}
        for round_ in range(args.rounds):
            order = variants if round_ % 2 == 0 else variants[::-1]
            for kind in kinds:
                for variant in order:
                    database = await migrated_copy(databases, name, variant)
                    try:
                        done = await replay(database, variant, captured[kind], args.warm_up)
                    finally:
                        await asyncio.to_thread(databases.drop_all)
                    results.setdefault((kind, variant.name), []).append(done)
                    print(f"  round {round_ + 1} {kind} {variant.name}: {done.us:.0f} µs, {done.calls:.2f} statements"
                          f"{f', {done.errors} errors ({done.first_error[:120]})' if done.errors else ''}", flush=True)  # fmt: skip
        print("\n| kind | variant | PostgreSQL CPU µs a webhook (median, range) | vs baseline | statements | errors |")
        print("|---|---|---|---|---|---|")
        for kind in kinds:
            base = statistics.median(r.us for r in results.get((kind, "baseline"), [Replayed(0, 0, 0)]))
            for variant in variants:
                rows = results[(kind, variant.name)]
                middle = statistics.median(r.us for r in rows)
                spread = f"{middle:.0f} ({min(r.us for r in rows):.0f}-{max(r.us for r in rows):.0f})"
                delta = f"{middle - base:+.0f}" if base else ""
                print(f"| {kind} | {variant.name} | {spread} | {delta} | {rows[0].calls:.2f} "
                      f"| {max(r.errors for r in rows)} |")  # fmt: skip
        print("\nvariants: " + "; ".join(f"{v.name}: {v.what}" for v in variants))
    finally:
        databases.drop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=3000, help="measured a kind, after the warm-up")
    parser.add_argument("--warm-up", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--variants", default=",".join(name for name in VARIANTS if name != "m0013"),
                        help=f"of {', '.join(VARIANTS)}")  # fmt: skip
    os.environ.setdefault("QDN_BENCH_PG_PREFIX", PREFIX)
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
