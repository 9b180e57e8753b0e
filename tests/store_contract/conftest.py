"""The store's contract suite: every backend runs the same tests (DESIGN, "A backend seam").

A test takes `database_url` and opens the store itself (some reopen it, or
open a second one to check what another process would see). Each backend
is one parameter here; a backend that needs a server (PostgreSQL) adds
itself with a fresh, empty database per test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

BACKENDS = ["tinydb"]


def tinydb_url(tmp_path: Path) -> str:
    return f"tinydb:///{tmp_path}/data/qdn.json"


URL_MAKERS: dict[str, Callable[[Path], str]] = {"tinydb": tinydb_url}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store's DATABASE_URL, once per backend."""
    return URL_MAKERS[request.param](tmp_path)


# An async scenario runner, so each test reads as one coroutine.
Scenario = Callable[[], Awaitable[object]]
