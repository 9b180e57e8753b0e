"""The PostgreSQL deployment: the business registry in a table, and a Store per business over one pool.

Every business's rows live in the same tables, keyed by its slug (store/postgres/store.py),
so adding a business is one row in `businesses` -- no file, no schema. Registry writes take
a transaction-level advisory lock (REGISTRY_LOCK), so two processes adding businesses at
once cannot both claim one number; the lookups that span businesses are one query each on
the global tables (`tracking_tokens`, `twilio_sids`).

Another process may add a business: `refresh()` opens a store for every business registered
since (the web layer calls it now and then; a lookup that names an unknown business calls it too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bot.errors import NotFound
from store.base import Job, MessageRead, Store
from store.deployment import DEFAULT_BUSINESS, BusinessRecord, Conflict, Deployment, check_unclaimed
from store.postgres import login_codes, throttles
from store.postgres.connection import Connection, Database
from store.postgres.rows import message_of, searchable
from store.postgres.store import PostgresStore

log = logging.getLogger("qdn.store")

_BUSINESS_OF_SID = """SELECT t.business, m.seq, m.doc, m.xmin FROM twilio_sids t
LEFT JOIN LATERAL (
    SELECT seq, doc, xmin FROM messages WHERE business = t.business AND twilio_sid = t.sid ORDER BY seq LIMIT 1
) m ON true
WHERE t.sid = $1 ORDER BY t.position LIMIT 1"""

# pg_advisory_xact_lock's 64-bit key for registry writes: b"QDN_BIZS" read as a big-endian integer.
REGISTRY_LOCK = int.from_bytes(b"QDN_BIZS", "big")


class PostgresDeployment(Deployment):
    def __init__(self, db: Database) -> None:
        self.db = db
        self._stores: dict[str, PostgresStore] = {DEFAULT_BUSINESS: PostgresStore(db, DEFAULT_BUSINESS)}

    @property
    def description(self) -> str:
        return "postgresql"

    async def open(self) -> PostgresDeployment:
        await self.refresh()
        return self

    async def refresh(self) -> None:
        """Open a store for each business registered since (by this process or another)."""
        async with self.db.connection() as conn:
            rows = await conn.fetch("SELECT slug FROM businesses ORDER BY position")
        for row in rows:
            if row["slug"] not in self._stores:
                self._stores[row["slug"]] = PostgresStore(self.db, row["slug"])

    async def close(self) -> None:
        stores, self._stores = list(self._stores.values()), {}
        try:
            for store in stores:
                await store.close()
        finally:
            await self.db.close()

    def stores(self) -> dict[str, Store]:
        return dict(self._stores)

    async def ping(self) -> None:
        """One question to the server: every business's store uses the same pool."""
        await self._stores[DEFAULT_BUSINESS].ping()

    # -- the registry ---------------------------------------------------------

    async def businesses(self) -> list[BusinessRecord]:
        async with self.db.connection() as conn:
            rows = await conn.fetch("SELECT record FROM businesses ORDER BY position")
        return [row["record"] for row in rows]

    @staticmethod
    async def _others(conn: Connection, slug: str) -> list[BusinessRecord]:
        """Every other business's record, once the registry is locked for this transaction."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", REGISTRY_LOCK)
        rows = await conn.fetch("SELECT record FROM businesses WHERE slug <> $1 ORDER BY position", slug)
        return [row["record"] for row in rows]

    async def add_business(self, record: BusinessRecord, *, reserved: Iterable[str] = ()) -> BusinessRecord:
        slug = record["slug"]
        if slug == DEFAULT_BUSINESS:
            raise Conflict("slug", f"The slug {DEFAULT_BUSINESS!r} is the settings' business.")
        async with self.db.transaction() as conn:
            others = await self._others(conn, "")
            check_unclaimed(record, others, reserved)
            await conn.execute("INSERT INTO businesses (slug, record) VALUES ($1, $2)", slug, record)
        self._stores.setdefault(slug, PostgresStore(self.db, slug))
        log.info("business %r added", slug)
        return record

    async def update_business(
        self, slug: str, change: Callable[[BusinessRecord], BusinessRecord], *, reserved: Iterable[str] = ()
    ) -> BusinessRecord:
        async with self.db.transaction() as conn:
            others = await self._others(conn, slug)
            current = await conn.fetchval("SELECT record FROM businesses WHERE slug = $1 FOR UPDATE", slug)
            if current is None:
                raise NotFound(f"No business {slug!r}.")
            record = change(current)
            check_unclaimed(record, others, reserved)
            await conn.execute("UPDATE businesses SET record = $2 WHERE slug = $1", slug, record)
        return record

    # -- throttles that span businesses: one statement each (store/postgres/throttles.py) --

    async def count_miss(self, key: str, now: str, window_seconds: float, limit: int) -> float:
        return await throttles.count_miss(self.db, key, now, window_seconds, limit)

    async def miss_retry_after(self, key: str, now: str) -> float:
        return await throttles.miss_retry_after(self.db, key, now)

    async def put_login_code(self, phone: str, code_hash: str, now: str, expires_at: str) -> None:
        await login_codes.put_login_code(self.db, phone, code_hash, expires_at)

    async def use_login_code(self, phone: str, code_hash: str, now: str, tries: int) -> bool:
        return await login_codes.use_login_code(self.db, phone, code_hash, now, tries)

    # -- lookups across businesses: one query each on the global tables ----------

    async def _known(self, slug: str | None) -> str | None:
        """`slug` once this process has its store (another process may have just added it)."""
        if slug is not None and slug not in self._stores:
            await self.refresh()
        return slug if slug in self._stores else None

    async def find_job_by_token(self, token: str) -> tuple[str, Job] | None:
        if not searchable(token):
            return None
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                """SELECT t.business, j.doc FROM tracking_tokens t
                JOIN jobs j ON j.business = t.business AND j.id = t.job_id WHERE t.token = $1""",
                token,
            )
        if row is None or await self._known(row["business"]) is None:
            return None
        return row["business"], row["doc"]

    async def lookup_sid(self, twilio_sid: str) -> tuple[str, MessageRead | None] | None:
        if not searchable(twilio_sid):
            return None
        async with self.db.connection() as conn:
            # The first business that logged it: a later one cannot take over its callbacks. Its message
            # comes along, for the status callback's update_message_by_sid(read=...): one round trip, not two.
            row = await conn.fetchrow(_BUSINESS_OF_SID, twilio_sid)
        slug = None if row is None else await self._known(row["business"])
        if slug is None or row is None:
            return None
        read = None if row["seq"] is None else MessageRead(slug, twilio_sid, message_of(row), row["xmin"])
        return slug, read

    async def business_of_sid(self, twilio_sid: str) -> str | None:
        found = await self.lookup_sid(twilio_sid)
        return None if found is None else found[0]
