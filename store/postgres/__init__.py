"""The PostgreSQL backend (`postgresql://user:password@host:port/db`, or `postgres://`): many processes and hosts.

See store/postgres/store.py for the layout and why, store/postgres/migrate.py for the
schema's versions, store/postgres/connection.py for the driver (asyncpg) and its limits.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from store import Deployment, Store, register_backend, shown_url

SCHEMES = ("postgresql", "postgres")


shown = shown_url  # the URL without its password


def check_postgres_url(database_url: str) -> None:
    """ValueError naming DATABASE_URL unless it names a server (or a socket) and a database."""
    parts = urlsplit(database_url)
    problem = None
    try:
        parts.port  # noqa: B018  # raises ValueError for a port that is no number
    except ValueError:
        problem = "its port is not a number"
    if parts.scheme not in SCHEMES:
        problem = f"its scheme is not one of {', '.join(SCHEMES)}"
    elif not parts.hostname and "host=" not in parts.query:
        problem = "it names no host"
    elif not parts.path.strip("/"):
        problem = "it names no database"
    if problem is not None:
        raise ValueError(
            f"DATABASE_URL {shown(database_url)!r} is not a PostgreSQL URL ({problem}); "
            "use postgresql://user:password@host:port/database"
        )


class PostgresBackend:
    one_process = False  # any number of web and sender processes, on any hosts

    def check_url(self, database_url: str) -> None:
        check_postgres_url(database_url)

    def data_folder(self, database_url: str) -> Path | None:
        return None  # nothing kept on this machine: generated secrets go to ./data unless DATA_DIR says

    async def open(self, database_url: str) -> Store:
        from store.postgres.connection import Database
        from store.postgres.deployment import DEFAULT_BUSINESS
        from store.postgres.migrate import migrate
        from store.postgres.outbox import housekeeping
        from store.postgres.store import PostgresStore

        database = await Database.open(database_url, migrate=migrate, housekeeping=housekeeping)
        return PostgresStore(database, DEFAULT_BUSINESS, owns_db=True)

    async def open_deployment(self, database_url: str) -> Deployment:
        from store.postgres.connection import Database
        from store.postgres.deployment import PostgresDeployment
        from store.postgres.migrate import migrate
        from store.postgres.outbox import housekeeping

        database = await Database.open(database_url, migrate=migrate, housekeeping=housekeeping)
        try:
            return await PostgresDeployment(database).open()
        except BaseException:
            await database.close()
            raise


register_backend("postgresql", PostgresBackend())
register_backend("postgres", PostgresBackend())
