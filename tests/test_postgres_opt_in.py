"""The tests touch a PostgreSQL only when QDN_TEST_POSTGRES_URL names one (tests/pg.py).

A developer's machine may run a PostgreSQL of its own on 127.0.0.1:5432: without the variable the
suite must leave it alone -- no connection, no qdn_test_* database -- and its PostgreSQL tests skip
saying how to run them. Under CI=true that skip is a failure (tests/conftest.py), as every skip is.

Each case runs pytest in a subprocess on a real PostgreSQL test (test_postgres_queue.py) with the
variable unset, and a plugin that notes every connection asyncpg is asked for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.pg import NOT_SET, URL_VARIABLE
from tests.support import ROOT

POSTGRES_TEST = "tests/test_postgres_queue.py"

# Loaded into the subprocess with -p: every connection asked of asyncpg, direct or pooled, is noted.
SPY = """
import os
import asyncpg

def noted(real):
    def call(*args, **kwargs):
        with open(os.environ["QDN_CONNECTIONS_LOG"], "a") as log:
            log.write(f"{real.__name__} {args} {kwargs}\\n")
        return real(*args, **kwargs)
    return call

asyncpg.connect = noted(asyncpg.connect)
asyncpg.create_pool = noted(asyncpg.create_pool)
"""


def run_without_the_variable(tmp_path: Path, **extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """pytest on POSTGRES_TEST without QDN_TEST_POSTGRES_URL (nor CI, unless given): its run and the connections."""
    (tmp_path / "connection_spy.py").write_text(SPY)
    log = tmp_path / "connections.log"
    env = {key: value for key, value in os.environ.items() if key not in (URL_VARIABLE, "CI", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), QDN_CONNECTIONS_LOG=str(log), **extra)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the run needs none of the installed plugins (it starts faster)
    command = [sys.executable, "-m", "pytest", POSTGRES_TEST, "-p", "connection_spy", "-p", "no:cacheprovider", "-rs"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return run, log.read_text() if log.exists() else ""


def test_without_the_variable_postgresql_tests_skip_saying_how_to_run_them_and_connect_nowhere(tmp_path: Path):
    run, connections = run_without_the_variable(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(rf"^SKIPPED \[1\] {re.escape(POSTGRES_TEST)}:\d+: {re.escape(NOT_SET)}$", run.stdout, re.M), (
        run.stdout
    )
    assert "1 skipped" in run.stdout and "passed" not in run.stdout
    assert connections == ""  # not even a try: no database made, no server asked


def test_under_ci_the_same_skip_fails_the_run(tmp_path: Path):
    run, connections = run_without_the_variable(tmp_path, CI="true")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "skipped under CI=true, which must install every component: " in run.stdout
    assert NOT_SET in run.stdout
    assert connections == ""
