"""A real PostgreSQL for tests: the server on 127.0.0.1:5432 and a fresh database per test.

    require_postgres()                      # skips with its reason (a failure under CI=true)
    with fresh_database("copy") as url:     # postgresql://.../qdn_test_copy_5f0c9a21, dropped afterwards
        ...

QDN_TEST_POSTGRES_URL is an admin URL: a role that may create databases, and a database to
connect to while doing so (.ci/run sets it and makes sure the server runs). Admin statements
go through asyncpg, the backend's own driver, each in a short-lived event loop of its own.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT = 2.0
PREFIX = "qdn_test_"


def admin_url() -> str:
    """The URL tests create and drop their databases through."""
    return os.environ.get("QDN_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _asyncpg() -> Any:
    # Imported by name: the tests run (and skip with a reason) where the driver is missing.
    return importlib.import_module("asyncpg")


async def _execute(url: str, *statements: str) -> None:
    connection = await _asyncpg().connect(url, timeout=CONNECT_TIMEOUT)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def execute(url: str, *statements: str) -> None:
    """Run SQL statements on the database `url` names, in a connection of their own."""
    asyncio.run(_execute(url, *statements))


@functools.cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None if it can (asked once per session)."""
    try:
        _asyncpg()
    except ImportError:
        return "asyncpg is not installed: `make test` installs it"
    try:
        execute(admin_url(), "SELECT 1")
    except Exception as error:  # any failure to connect is the same answer: not reachable
        return (
            f"PostgreSQL not reachable at {_shown(admin_url())} ({type(error).__name__}: {error}): "
            "install and start it (.ci/run does), or set QDN_TEST_POSTGRES_URL"
        )
    return None


def postgres_available() -> bool:
    return postgres_problem() is None


def require_postgres() -> None:
    """Skip the test with the reason PostgreSQL cannot be used; under CI=true the skip fails it
    (tests/conftest.py), since .ci/run installs and starts the server."""
    problem = postgres_problem()
    if problem is not None:
        pytest.skip(problem)


def database_url(name: str) -> str:
    """The admin URL with its database replaced by `name`."""
    return urlunsplit(urlsplit(admin_url())._replace(path=f"/{name}"))


@contextmanager
def fresh_database(name_hint: str = "") -> Iterator[str]:
    """A new, empty database's URL (qdn_test_<hint>_<random>), dropped afterwards, connections and all."""
    hint = re.sub(r"[^a-z0-9]+", "_", name_hint.lower()).strip("_")[:30]
    name = f"{PREFIX}{hint + '_' if hint else ''}{secrets.token_hex(4)}"
    execute(admin_url(), f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        execute(admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
