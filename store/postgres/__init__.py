"""The PostgreSQL backend (`postgresql://user:password@host:port/db`, or `postgres://`): many processes and hosts.

See store/postgres/store.py for the layout and why, store/postgres/migrate.py for the
schema's versions, store/postgres/connection.py for the driver (asyncpg) and its limits.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from store import Deployment, Store, register_backend, shown_url

SCHEMES = ("postgresql", "postgres")


shown = shown_url  # the URL without its password


# One `host[:port]` of libpq's host list (`db1:5432,db2`): a name or address, or an IPv6 one in brackets.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.%]+\]|[^\[\]:,/@]*)(?::([^,]*))?")


def hosts_of(database_url: str) -> list[tuple[str, str | None]]:
    """(host, port) of each server DATABASE_URL names, in libpq's order (several for a primary and its standbys)."""
    listed = urlsplit(database_url).netloc.rpartition("@")[2]
    found = []
    for entry in listed.split(","):
        match = _HOST.fullmatch(entry)
        if match is None:
            raise ValueError(f"{entry!r} is not host[:port]")
        found.append((match.group(1), match.group(2)))
    return found


def check_postgres_url(database_url: str) -> None:
    """ValueError naming DATABASE_URL unless it names a server (or a socket, or several servers:
    libpq's `postgresql://db1:5432,db2:5432/qdn?target_session_attrs=read-write`) and a database."""
    parts = urlsplit(database_url)
    problem = None
    try:
        hosts = hosts_of(database_url)
    except ValueError:
        hosts, problem = [], "its host list is not host:port,host:port"
    if any(port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536) for _, port in hosts):
        problem = "its port is not a number"
    if parts.scheme not in SCHEMES:
        problem = f"its scheme is not one of {', '.join(SCHEMES)}"
    elif problem is None and not any(host for host, _ in hosts) and "host=" not in parts.query:
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
