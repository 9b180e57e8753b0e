"""Shared fixtures: real TinyDB files under tmp_path, real apps, real servers."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from config.settings import Settings, load_settings
from tests import pg
from tests.support import API_TOKEN, base_environ
from web.app import create_app

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """Under CI=true a skipped test fails: CI must never pass by skipping."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must install every component: {report.longrepr}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The tests' PostgreSQL databases are dropped in the background (tests/pg.py): wait for the
    last of them here, where every process of the run (each xdist worker too) still runs Python."""
    pg.report_failed_drops()


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """Settings for one test: a fresh data folder, no Twilio (console mode), and a fast rate cap
    (at the 1-a-second default, a test's second text to one phone would wait a second for nothing;
    the cap itself is tested at rates of its own: test_sender.py, test_postgres_throttles.py)."""
    return base_environ(tmp_path, SEND_RATE_PER_SECOND="1000")


@pytest.fixture
def settings(environ: dict[str, str]) -> Settings:
    return load_settings(environ, env_file=None)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as test_client:
        yield test_client


@pytest.fixture
def anon(settings: Settings) -> Iterator[TestClient]:
    """A client with no credentials."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client
