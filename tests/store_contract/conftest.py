"""The store's contract suite: every backend runs the same tests (DESIGN, "A backend seam").

A test takes `database_url` and opens the store itself (some reopen it, or
open a second one to check what another process would see). Each backend
is one parameter here; a backend that needs a server (PostgreSQL) gets a
fresh, empty database per test, dropped afterwards (tests/pg.py). Without
a reachable server its tests skip with the reason -- and fail under CI=true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.pg import fresh_database, require_postgres

BACKENDS = ["tinydb", "postgresql"]


@contextmanager
def tinydb_url(test_name: str, tmp_path: Path) -> Iterator[str]:
    yield f"tinydb:///{tmp_path}/data/qdn.json"


@contextmanager
def postgresql_url(test_name: str, tmp_path: Path) -> Iterator[str]:
    require_postgres()
    with fresh_database(test_name) as url:
        yield url


# backend -> a new, empty store's URL for one test (the test's name, its tmp_path), cleaned up after it
URL_MAKERS: dict[str, Callable[[str, Path], AbstractContextManager[str]]] = {
    "tinydb": tinydb_url,
    "postgresql": postgresql_url,
}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty store's DATABASE_URL, once per backend."""
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        yield url


# An async scenario runner, so each test reads as one coroutine.
Scenario = Callable[[], Awaitable[object]]
