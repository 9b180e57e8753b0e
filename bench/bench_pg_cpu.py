"""PostgreSQL's own CPU a webhook, one backend, statements replayed (issue #30): where it goes, variant by variant.

    QDN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5433/postgres QDN_BENCH_PG_PREFIX=qdn_pgsrv_ \\
        .venv/bin/python bench/bench_pg_cpu.py [--webhooks 3000] [--warm-up 300] [--rounds 3] [--chunk 100] \\
        [--kinds token,status,callback] [--variants baseline,no_conv_trigger,...]   # --help: every variant

QDN_BENCH_PG_PREFIX (and QDN_BENCH_CACHE for the data set) keep this checkout's template from another's:
bench/bench_postgres.py drops a template whose code key differs, and the cached data set is regenerated
(new tracking codes) when the store's code changes. A template is used only if it holds the data set's
tracking codes; its copies are migrated to this code's schema.

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
import signal
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
from store.postgres.inbound import _RECORD  # noqa: E402

Call = tuple[str, str, tuple[Any, ...]]  # method, query, arguments

_PENDING_INDEXES = ("messages_claimed", "messages_due", "messages_pending", "messages_queue")


@dataclass
class Variant:
    name: str
    what: str
    sql: str = ""  # run on the fresh copy before the replay
    settings: dict[str, str] = field(default_factory=dict)  # session settings beyond the pool's
    # the webhook's recorded calls -> the calls replayed (default: as recorded)
    calls: Callable[[list[Call]], list[Call]] | None = None
    pairs: bool = False  # two webhooks' writes as one statement (_in_pairs)


def _only(predicate: Callable[[str], bool]) -> Callable[[list[Call]], list[Call]]:
    return lambda calls: [call for call in calls if predicate(call[1])]


def _is_write(query: str) -> bool:
    return query.lstrip().upper().startswith("WITH")


def _commit_only(calls: list[Call]) -> list[Call]:
    return [("fetchval", "SELECT txid_current()", ())]  # a transaction with an id: its commit, WAL flushed


def _cut(query: str, start: str, end: str) -> str:
    """`query` without the text from `start` up to (not including) `end`."""
    if start not in query or end not in query:
        return query
    return query[: query.index(start)] + query[query.index(end, query.index(start)) :]


def _record_as_needed(calls: list[Call]) -> list[Call]:
    """record_inbound's statement without the CTEs this webhook leaves idle: `sids` when no other text
    has a SID, the phone's INSERT or UPDATE (the one its version, $15, does not call for), `queued`
    with no events -- what choosing among such statements would save."""
    out = []
    for method, query, args in calls:
        if query.startswith("WITH known AS"):
            if not any(sid for sid in args[6] if sid != args[1]):
                query = _cut(query, "), sids AS (", "), phone_added AS (")
            if args[14] is None:
                query = _cut(query, "), phone_changed AS (", "), queued AS (")
                query = query.replace(" AND NOT EXISTS (SELECT FROM phone_changed)", "")
            else:
                query = _cut(query, "), phone_added AS (", "), phone_changed AS (")
                query = query.replace(" AND NOT EXISTS (SELECT FROM phone_added)", "")
            if not args[15]:  # $16..$21 then unused
                query = _cut(query, "), queued AS (", "\nSELECT (SELECT ids FROM known)")
                query = query.replace("\nSELECT (SELECT ids FROM known)", ")\nSELECT (SELECT ids FROM known)", 1)
                args = args[:15]
        out.append((method, query, args))
    return out


# Aggregates as ARRAY(SELECT ...) sub-queries: an Agg node's start-up (its transition expressions, its
# sort for an ordered aggregate) is paid at every execution, run or not (the CASE WHEN false ones too).
_ARRAYS = [
    (
        "(SELECT json_agg(doc ORDER BY id DESC) FROM jobs\n        WHERE business = $1 AND customer_phone = $3 AND "
        "status = ANY($4::text[]))",
        "ARRAY(SELECT doc FROM jobs\n        WHERE business = $1 AND customer_phone = $3 AND "
        "status = ANY($4::text[])\n        ORDER BY id DESC)",
    ),
    (
        "(SELECT json_agg(doc ORDER BY id DESC) FROM jobs\n        WHERE business = $1 AND status = ANY($4::text[]))",
        "ARRAY(SELECT doc FROM jobs\n        WHERE business = $1 AND status = ANY($4::text[]) ORDER BY id DESC)",
    ),
    (
        "(SELECT json_agg(doc ORDER BY id DESC) FROM jobs\n        WHERE business = $1 AND customer_phone = $3\n"
        '            AND (doc->>\'confirm_asked_at\') COLLATE "C" >= $11::text COLLATE "C")',
        "ARRAY(SELECT doc FROM jobs\n        WHERE business = $1 AND customer_phone = $3\n"
        '            AND (doc->>\'confirm_asked_at\') COLLATE "C" >= $11::text COLLATE "C" ORDER BY id DESC)',
    ),
    (
        "SELECT COALESCE(array_agg(id), '{}') AS ids FROM jobs WHERE business = $1 AND id = ANY($3::bigint[])",
        "SELECT ARRAY(SELECT id FROM jobs WHERE business = $1 AND id = ANY($3::bigint[])) AS ids",
    ),
    ("SELECT DISTINCT g.twilio_sid, $1 FROM given g", "SELECT g.twilio_sid, $1 FROM given g"),
]


# The write's message ids without a window function: nextval() called row by row over generate_series, in order.
_SEQS_PLAIN = [
    (
        """    SELECT seq, row_number() OVER (ORDER BY seq) AS ord FROM (
        SELECT nextval('messages_seq_seq') AS seq FROM generate_series(1, cardinality($12::text[]))
        WHERE (SELECT go FROM go)
    ) AS taken""",
        """    SELECT nextval('messages_seq_seq') AS seq, ord FROM generate_series(1, cardinality($12::text[])) AS ord
    WHERE (SELECT go FROM go)""",
    ),
]


# The phone's state written by one INSERT ... ON CONFLICT DO UPDATE guarded by the version read, not an
# INSERT and an UPDATE: a row inserted where one was read (deleted meanwhile) is a conflict too.
_PHONE_UPSERT = [
    (
        _RECORD[_RECORD.index("), phone_added AS (") : _RECORD.index("), queued AS (")],
        """), phone_written AS (
    INSERT INTO phones AS p (business, phone, state)
    SELECT $1, $13, $14 WHERE (SELECT go FROM go) AND $14::json IS NOT NULL
    ON CONFLICT (business, phone) DO UPDATE SET state = EXCLUDED.state WHERE p.xmin = $15::xid
    RETURNING p.xmax = 0 AS added
""",
    ),
    (
        "AND NOT EXISTS (SELECT FROM phone_added) AND NOT EXISTS (SELECT FROM phone_changed)",
        "AND NOT EXISTS (SELECT FROM phone_written WHERE added = ($15::xid IS NULL))",
    ),
]


def _rewritten(pairs: Sequence[tuple[str, str]]) -> Callable[[list[Call]], list[Call]]:
    def rewrite(calls: list[Call]) -> list[Call]:
        out = []
        for method, query, args in calls:
            for old, new in pairs:
                query = query.replace(old, new)
            out.append((method, query, args))
        return out

    return rewrite


def _drop(*indexes: str) -> str:
    return ";".join(f"DROP INDEX {name}" for name in indexes)


def _migration(version: str) -> str:
    found = sorted((ROOT / "store/postgres/migrations").glob(f"{version}_*.sql"))
    return found[0].read_text(encoding="utf-8") if found else ""


def _function_of(version: str) -> str:
    """The text trigger's function as migration `version` made it."""
    sql = _migration(version)
    start = sql.index("CREATE OR REPLACE FUNCTION qdn_conversation_text()")
    return sql[start : sql.index("END $$;", start) + len("END $$")]


# The conversation row changes: its last time, latest free text, latest answer or latest text said is newer.
_CHANGED = """c.last_at IS NULL OR EXCLUDED.last_at > c.last_at
        OR (EXCLUDED.last_text_at IS NOT NULL AND (c.last_text_at IS NULL OR EXCLUDED.last_text_at > c.last_text_at))
        OR (EXCLUDED.answered_at IS NOT NULL AND (c.answered_at IS NULL OR EXCLUDED.answered_at > c.answered_at))
        OR (EXCLUDED.said_at IS NOT NULL
            AND (c.said_at IS NULL OR (EXCLUDED.said_at, EXCLUDED.said_seq) > (c.said_at, c.said_seq)))"""


def _plain_waiting() -> str:
    """conversations.waiting_since a plain column kept by the text trigger (0011's) instead of GENERATED ... STORED."""
    body = _function_of("0011")
    waiting = "GREATEST(c.last_text_at, EXCLUDED.last_text_at)"
    for old, new in [
        ("said_at, said_seq)\n    VALUES", "said_at, said_seq, waiting_since)\n    VALUES"),
        ("THEN NEW.seq END)", "THEN NEW.seq END,\n        CASE WHEN free_text > COALESCE(answer, '') "
         "THEN free_text END)"),
        ("EXCLUDED.answered_at),", f"EXCLUDED.answered_at),\n        waiting_since = CASE WHEN {waiting} > "
         f"COALESCE(GREATEST(c.answered_at, EXCLUDED.answered_at), '') THEN {waiting} END,"),
    ]:  # fmt: skip
        assert body.count(old) == 1, old
        body = body.replace(old, new)
    return "ALTER TABLE conversations ALTER COLUMN waiting_since DROP EXPRESSION;\n" + body


VARIANTS = {
    v.name: v
    for v in [
        Variant("baseline", "the code's schema and statements"),
        Variant(
            "read_only",
            "the webhook's read alone (no write: later reads see the template's rows)",
            calls=_only(lambda q: not _is_write(q) and q.strip().upper() not in ("BEGIN", "COMMIT")),
        ),
        Variant("write_only", "the webhook's write alone (its data-modifying statement)", calls=_only(_is_write)),
        Variant(
            "commit_only", "an empty transaction with a txid (SELECT txid_current()) a webhook", calls=_commit_only
        ),
        Variant(
            "two_in_one",
            "two webhooks' writes in one statement (an estimate: the 2nd's phone row unwritten)",
            pairs=True,
        ),
        Variant(
            "arrays",
            "aggregates as ARRAY(SELECT ...): the read's 3 json_agg, the write's array_agg, DISTINCT (adopted)",
            calls=_rewritten(_ARRAYS),
        ),
        Variant(
            "aggregates",
            "the statements before `arrays` was adopted (json_agg, array_agg, DISTINCT)",
            calls=_rewritten([(new, old) for old, new in _ARRAYS]),
        ),
        Variant(
            "seqs_plain",
            "the write's ids by nextval() over generate_series, no row_number() window (adopted)",
            calls=_rewritten(_SEQS_PLAIN),
        ),
        Variant(
            "wal_lz4",
            "wal_compression = lz4 (the session's: full-page images compressed)",
            settings={"wal_compression": "lz4"},
        ),
        Variant(
            "custom_plans",
            "plan_cache_mode=auto (custom plans, planned per call)",
            settings={"plan_cache_mode": "auto"},
        ),
        Variant(
            "no_conv_trigger",
            "messages_conversation trigger disabled",
            "ALTER TABLE messages DISABLE TRIGGER messages_conversation",
        ),
        Variant("plain_waiting", "conversations.waiting_since a plain column kept by the trigger", _plain_waiting()),
        Variant(
            "no_conv_indexes",
            "conversations' two partial indexes dropped",
            _drop("conversations_waiting", "conversations_recent"),
        ),
        Variant(
            "no_media_trigger",
            "messages_media_due_notify trigger disabled",
            "ALTER TABLE messages DISABLE TRIGGER messages_media_due_notify",
        ),
        Variant(
            "no_notify_trigger",
            "messages_changes_notify trigger disabled (its WHEN skips it anyway)",
            "ALTER TABLE messages DISABLE TRIGGER messages_changes_notify",
        ),
        Variant(
            "no_pending_indexes", "messages' 4 partial indexes on status = 'pending' dropped", _drop(*_PENDING_INDEXES)
        ),
        Variant(
            "no_media_index",
            "messages_media_due (an expression index, a regex over doc) dropped",
            _drop("messages_media_due"),
        ),
        Variant(
            "no_job_phone_indexes",
            "messages_by_job, messages_by_phone dropped",
            _drop("messages_by_job", "messages_by_phone"),
        ),
        Variant(
            "record_as_needed",
            "the write without the CTEs this webhook leaves idle (sids, the phone's INSERT or UPDATE, events)",
            calls=_record_as_needed,
        ),
        Variant(
            "no_event_indexes",
            "events' 3 secondary indexes dropped",
            _drop("events_by_age", "events_by_id", "events_pending"),
        ),
        Variant("no_consent_index", "phones_with_consent dropped", _drop("phones_with_consent")),
        Variant(
            "conv_skip_noop",
            "the text trigger's upsert updates only when a value changes (most answers change nothing)",
            _function_of("0011").replace("ELSE c.said_seq END;", "ELSE c.said_seq END\n    WHERE " + _CHANGED + ";"),
        ),
        Variant(
            "phone_upsert",
            "the phone's INSERT and UPDATE as one INSERT ... ON CONFLICT DO UPDATE WHERE xmin = the version read",
            calls=_rewritten(_PHONE_UPSERT),
        ),
        Variant(
            "seqs_window",
            "the write's ids by row_number() over the nextval()s (before seqs_plain was adopted)",
            calls=_rewritten([(new, old) for old, new in _SEQS_PLAIN]),
        ),
        Variant(
            "previous_sql",
            "the read and the write as before issue #30's SQL changes (aggregates and seqs_window)",
            calls=_rewritten([(new, old) for old, new in [*_ARRAYS, *_SEQS_PLAIN]]),
        ),
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
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])  # on a CPU, user + system, ns


def _merge_writes(first: Call, second: Call) -> Call:
    """Two webhooks' record_inbound statements (store/postgres/inbound.py _RECORD) as one: their texts and
    events in one statement; the first's SID claimed, the second's recorded with its text (the `sids` CTE);
    only the first's phone state written (an estimate: one phone row fewer)."""
    a, b = list(first[2]), second[2]
    merged = list(a)
    merged[2] = sorted({*a[2], *b[2]})
    for i in range(3, 12):  # the messages' columns and docs
        merged[i] = [*a[i], *b[i]]
    for i in range(15, 20):  # the events
        merged[i] = [*a[i], *b[i]]
    merged[20] = [*a[20], *(ord_ + len(a[3]) for ord_ in b[20])]
    return first[0], first[1], tuple(merged)


def _in_pairs(webhooks: list[list[Call]]) -> list[list[Call]]:
    """Webhooks 2k and 2k+1 as one entry (their reads, then one write), at 2k; 2k+1 left empty."""
    out: list[list[Call]] = []
    for k in range(0, len(webhooks) - 1, 2):
        a, b = webhooks[k], webhooks[k + 1]
        writes_a = [c for c in a if c[1].startswith("WITH known AS")]
        writes_b = [c for c in b if c[1].startswith("WITH known AS")]
        if len(writes_a) != 1 or len(writes_b) != 1:
            out += [a, b]
            continue
        rest = [c for c in a + b if c not in writes_a + writes_b]
        out += [[*rest, _merge_writes(writes_a[0], writes_b[0])], []]
    return out + webhooks[len(out) :]


@dataclass
class Replay:
    """One variant's copy, connection and plan; its backend's CPU summed over the measured chunks."""

    variant: Variant
    database: str
    plan: list[list[Call]]
    conn: Any = None
    pid: int = 0
    cpu_ns: int = 0
    sent: int = 0
    errors: int = 0
    first_error: str = ""

    async def open(self) -> None:
        import asyncpg

        from store.postgres.connection import SESSION_SETTINGS, _init_connection

        settings = {**SESSION_SETTINGS, **self.variant.settings}
        self.conn = await asyncpg.connect(url_of(self.database), server_settings=settings)
        await _init_connection(self.conn)
        self.pid = await self.conn.fetchval("SELECT pg_backend_pid()")

    async def run(self, start: int, stop: int, measured: bool) -> None:
        import asyncpg

        before = backend_cpu_ns(self.pid)
        for calls in self.plan[start:stop]:
            for method, query, args in calls:
                self.sent += measured
                try:
                    await getattr(self.conn, method)(query, *args)
                except asyncpg.PostgresError as error:
                    self.errors += measured
                    self.first_error = self.first_error or f"{type(error).__name__}: {error}"
                    if self.conn.is_in_transaction():
                        await self.conn.execute("ROLLBACK")
        if measured:
            self.cpu_ns += backend_cpu_ns(self.pid) - before


def existing_template(data_set: generate.DataSet, work: Path, business: dict[str, Any]) -> str:
    """A large template already built from this data set (it holds the manifest's first open tracking code)
    by any code (each copy is migrated), else a new one. QDN_BENCH_PG_PREFIX keeps a checkout's own."""
    from tests.pg import admin_url

    names = fetch_column(admin_url(), "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY oid DESC",
                         f"{PREFIX}{data_set.name}\\_%")  # fmt: skip
    for name in names:
        if not name.endswith("_building") and fetch_column(
            url_of(name), "SELECT count(*) FROM tracking_tokens WHERE token = $1", business["open_tokens"][0]
        ) == [1]:
            return name
    return template(data_set, work)


async def migrated_copy(databases: Databases, template_name: str, variant: Variant) -> str:
    from store.postgres.connection import connect
    from store.postgres.migrate import migrate

    database = await asyncio.to_thread(databases.fresh, template_name)
    async with connect(url_of(database)) as conn:
        await migrate(conn)
        if variant.sql:
            await conn.execute(variant.sql)
    return database


async def one_round(databases: Databases, template_name: str, variants: Sequence[Variant],
                    webhooks: list[list[Call]], warm_up: int, chunk: int) -> list[Replay]:  # fmt: skip
    """Every variant on a copy of its own, all made first; then the same chunk of webhooks by each in
    turn (the order reversed every chunk), so each meets the machine's load alike."""
    replays = []
    for variant in variants:
        plan = [variant.calls(calls) if variant.calls else calls for calls in webhooks]
        replays.append(Replay(variant, await migrated_copy(databases, template_name, variant),
                              _in_pairs(plan) if variant.pairs else plan))  # fmt: skip
    try:
        for replay in replays:
            await replay.open()
        for replay in replays:
            await replay.run(0, warm_up, measured=False)
        for n, start in enumerate(range(warm_up, len(webhooks), chunk)):
            for replay in replays if n % 2 == 0 else replays[::-1]:
                await replay.run(start, start + chunk, measured=True)
    finally:
        for replay in replays:
            if replay.conn is not None:
                await replay.conn.close()
        await asyncio.to_thread(databases.drop_all)
    return replays


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
        name = await asyncio.to_thread(existing_template, data_set, work, business)
        total = args.warm_up + args.webhooks
        started = time.perf_counter()
        captured = await capture(kinds, total, name, databases, work, business)
        await asyncio.to_thread(databases.drop_all)
        print(f"template {name}; captured {total} webhooks of each kind in {time.perf_counter() - started:.0f} s; "
              f"{args.rounds} rounds; {args.webhooks} measured after {args.warm_up}, variants alternating every "
              f"{args.chunk}", flush=True)  # fmt: skip
        results: dict[tuple[str, str], list[Replay]] = {}
        for round_ in range(args.rounds):
            for kind in kinds:
                order = variants if round_ % 2 == 0 else variants[::-1]
                for done in await one_round(databases, name, order, captured[kind], args.warm_up, args.chunk):
                    results.setdefault((kind, done.variant.name), []).append(done)
                    error = f", {done.errors} errors ({done.first_error[:120]})" if done.errors else ""
                    print(f"  round {round_ + 1} {kind} {done.variant.name}: {done.cpu_ns / args.webhooks / 1000:.0f}"
                          f" µs{error}", flush=True)  # fmt: skip
        print("\n| kind | variant | PostgreSQL CPU µs a webhook (median, range) | vs baseline | statements | errors |")
        print("|---|---|---|---|---|---|")
        for kind in kinds:
            us = {v.name: [r.cpu_ns / args.webhooks / 1000 for r in results[(kind, v.name)]] for v in variants}
            base = statistics.median(us["baseline"]) if "baseline" in us else 0.0
            for variant in variants:
                values, rows = us[variant.name], results[(kind, variant.name)]
                middle = statistics.median(values)
                delta = f"{middle - base:+.0f}" if base else ""
                print(f"| {kind} | {variant.name} | {middle:.0f} ({min(values):.0f}-{max(values):.0f}) | {delta} "
                      f"| {rows[0].sent / args.webhooks:.2f} | {max(r.errors for r in rows)} |")  # fmt: skip
        print("\nvariants: " + "; ".join(f"{v.name}: {v.what}" for v in variants))
    finally:
        databases.drop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=3000, help="measured a kind, after the warm-up")
    parser.add_argument("--warm-up", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=100, help="webhooks a variant replays before the next's turn")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"of {', '.join(VARIANTS)}")  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a kill still drops the copies (the finally clauses)
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
