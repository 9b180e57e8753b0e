"""`qdn migrate`: the PostgreSQL schema brought up to date by the real command line (SPEC "Running on PostgreSQL").

Against a fresh database on the real server (skipped with the reason where none runs, a
failure under CI=true): the first run says each migration it applied and the version, a
second run that it is up to date, and a database a newer qdn migrated stops it with one
line, exit 2, changing nothing. With TinyDB it says there is nothing to migrate.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg import execute, fresh_database, require_postgres
from tests.support import ROOT, base_environ, free_port


def qdn_migrate(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """`qdn migrate` with DATABASE_URL, in a folder with no .env."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DATA_DIR")}
    env.update(base_environ(tmp_path, DATABASE_URL=database_url), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "web", "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def database() -> Iterator[str]:
    require_postgres()
    with fresh_database("migrate") as url:
        yield url


def known_migrations() -> list[str]:
    from store.postgres.migrate import migrations

    return [migration.name for migration in migrations()]


def applied_versions(url: str) -> list[tuple[int, str]]:
    async def read() -> list[tuple[int, str]]:
        from store.postgres.connection import connect

        async with connect(url) as conn:
            rows: list[Any] = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
            return [(row["version"], row["name"]) for row in rows]

    return asyncio.run(read())


def test_a_new_database_gets_every_migration_and_a_second_run_finds_it_up_to_date(
    database: str, tmp_path: Path
) -> None:
    names = known_migrations()
    assert names, "the code ships at least the initial schema"
    version = int(names[-1][:4])

    first = qdn_migrate(tmp_path, database)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "".join(f"applied {name}\n" for name in names) + f"up to date (version {version})\n"
    assert applied_versions(database) == [(int(name[:4]), name) for name in names]

    again = qdn_migrate(tmp_path, database)
    assert (again.returncode, again.stdout, again.stderr) == (0, f"up to date (version {version})\n", "")


def test_a_database_migrated_by_a_newer_qdn_is_one_line_and_exit_2(database: str, tmp_path: Path) -> None:
    assert qdn_migrate(tmp_path, database).returncode == 0
    execute(database, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_from_the_future')")
    before = applied_versions(database)

    refused = qdn_migrate(tmp_path, database)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.startswith("qdn: the database schema is version 9999, newer than this code")
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert applied_versions(database) == before


def test_an_unreachable_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://qdn:secret-password@127.0.0.1:{free_port()}/qdn"  # nothing listens there
    refused = qdn_migrate(tmp_path, url)
    assert refused.returncode == 2
    assert refused.stderr.startswith("qdn: PostgreSQL is unavailable")
    assert refused.stderr.count("\n") == 1 and "secret-password" not in refused.stderr


def test_tinydb_needs_no_migrations(tmp_path: Path) -> None:
    done = qdn_migrate(tmp_path, f"tinydb:///{tmp_path}/data/qdn.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "TinyDB needs no migrations: its files carry their own format, read at every start.\n"
    assert not (tmp_path / "data" / "qdn.json").exists()  # nothing opened, nothing made
