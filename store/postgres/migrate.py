"""The PostgreSQL schema's migrations: numbered SQL files, applied in order, once, by whichever process comes first.

    store/postgres/migrations/0001_initial.sql     version 1
    store/postgres/migrations/0002_....sql          version 2 ...

`migrate(conn)` runs at every open (Database.open, given it by store/postgres/__init__.py) and from `qdn migrate`.
Several processes may start at once, so it holds a session advisory lock (MIGRATION_LOCK)
while it reads `schema_migrations` and applies what is missing, each file in a transaction
with its row in that table: the others wait, then find nothing left to do. A database whose
newest version this code does not know (a newer release migrated it) stops start-up with
a message, rather than running old code over a schema it does not understand.

Why a small ordered-SQL runner and not alembic: there are no ORM models here to diff or
autogenerate from -- the store is plain SQL -- and all a migration needs is a file of SQL,
a version table and an advisory lock, which fit in this page, with no other dependency.
A migration is never edited once released; a change is a new file.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StoreError
from store.postgres.connection import Connection, connect

FOLDER = Path(__file__).with_name("migrations")
_NAME = re.compile(r"(?P<version>[0-9]{4})_[a-z0-9_]+")

# pg_advisory_lock's 64-bit key for migrations: b"QDN_MIGR" read as a big-endian integer.
MIGRATION_LOCK = int.from_bytes(b"QDN_MIGR", "big")
# A migration on a large table, or waiting for another process's, may take longer than a request.
MIGRATION_TIMEOUT = 600.0

_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file's name without ".sql": "0001_initial"
    sql: str


@dataclass(frozen=True)
class MigrationState:
    """One version as `qdn migrate` shows it: known to this code and/or applied to the database."""

    version: int
    name: str
    applied_at: str | None  # ISO 8601, None while pending
    known: bool  # False: applied by a newer release of qdn


def migrations() -> list[Migration]:
    """Every migration this code ships, in version order."""
    found = []
    for path in sorted(FOLDER.glob("*.sql")):
        match = _NAME.fullmatch(path.stem)
        if match is None:
            raise StoreError(f"{path.name}: a migration is named NNNN_words.sql")
        found.append(Migration(int(match["version"]), path.stem, path.read_text(encoding="utf-8")))
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a version in {FOLDER}")
    return found


def newest_version() -> int:
    return max((migration.version for migration in migrations()), default=0)


async def _applied(conn: Connection) -> dict[int, tuple[str, str]]:
    rows = await conn.fetch("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    return {row["version"]: (row["name"], row["applied_at"].isoformat()) for row in rows}


def _check_not_newer(applied: dict[int, tuple[str, str]], known: list[Migration]) -> None:
    newest_applied = max(applied, default=0)
    newest_known = max((migration.version for migration in known), default=0)
    if newest_applied and newest_applied not in {migration.version for migration in known}:
        raise StoreError(
            f"the database schema is version {newest_applied}, newer than this code ({newest_known}); upgrade qdn"
        )


async def migrate(conn: Connection) -> list[str]:
    """Apply every migration the database lacks, in order; the names applied (none: it was up to date).

    StoreError, changing nothing, if the database was migrated by a newer qdn.
    """
    known = migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK, timeout=MIGRATION_TIMEOUT)
    try:
        await conn.execute(_TABLE)
        applied = await _applied(conn)
        _check_not_newer(applied, known)
        done = []
        for migration in known:
            if migration.version in applied:
                continue
            await conn.execute("BEGIN")
            try:
                await conn.execute(migration.sql, timeout=MIGRATION_TIMEOUT)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
                )
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            done.append(migration.name)
        return done
    finally:
        with suppress(Exception):  # a lost connection has released the lock with its session
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def migration_status(conn: Connection) -> list[MigrationState]:
    """Every version, known or applied, in order: what `qdn migrate` can print before or after migrating."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = await _applied(conn) if exists else {}
    known = {migration.version: migration.name for migration in migrations()}
    states = []
    for version in sorted(known.keys() | applied.keys()):
        name, applied_at = applied.get(version, (known.get(version, ""), None))
        states.append(MigrationState(version, known.get(version) or name, applied_at, version in known))
    return states


async def migrate_database(database_url: str) -> tuple[list[str], int]:
    """`qdn migrate`: apply what is pending; (the names applied, the schema version now)."""
    async with connect(database_url) as conn:
        applied = await migrate(conn)
        version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    return applied, int(version or 0)
