"""A real PostgreSQL for tests: the server on 127.0.0.1:5432 and a fresh database per test.

    require_postgres()                      # skips with its reason (a failure under CI=true)
    with fresh_database("copy") as url:     # postgresql://.../qdn_test_copy_5f0c9a21, dropped afterwards
        ...
    with private_cluster() as (url, stop, start):   # a server of the test's own, to stop and start (Cluster)
        ...

QDN_TEST_POSTGRES_URL is an admin URL: a role that may create databases, and a database to
connect to while doing so (.ci/run sets it and makes sure the server runs). Without it no
PostgreSQL is touched: the tests that need one skip, saying so. Admin statements go through
asyncpg, the backend's own driver, each in a short-lived event loop of its own.

A test's database is dropped on a thread of its own once the test is done: PostgreSQL 15 ends
every DROP DATABASE with a checkpoint (~0.3 s), which the next test need not wait for. Drops
still pending when the tests end are waited for at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

URL_VARIABLE = "QDN_TEST_POSTGRES_URL"
NOT_SET = f"set {URL_VARIABLE} to run the PostgreSQL tests"
CONNECT_TIMEOUT = 2.0
PREFIX = "qdn_test_"


def admin_url() -> str:
    """The URL tests create and drop their databases through: QDN_TEST_POSTGRES_URL, never a guess
    (a server that merely happens to listen on this machine is not the tests' to fill)."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        raise LookupError(NOT_SET)
    return url


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
    if not os.environ.get(URL_VARIABLE):
        return NOT_SET  # before any import or connection: nothing is tried
    try:
        _asyncpg()
    except ImportError:
        return "asyncpg is not installed: `make test` installs it"
    try:
        execute(admin_url(), "SELECT 1")
    except Exception as error:  # any failure to connect is the same answer: not reachable
        return (
            f"PostgreSQL not reachable at {_shown(admin_url())} ({type(error).__name__}: {error}): "
            f"start it (.ci/run installs and starts one), or point {URL_VARIABLE} at one that runs"
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
        _drop_later(name)


_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdn-test-drop")
_drops: list[tuple[str, Future[None]]] = []


def _drop_later(name: str) -> None:
    """DROP DATABASE on the dropper thread (see the module's notes); the test goes on meanwhile."""
    statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _drops.append((name, _dropper.submit(execute, admin_url(), statement)))


def wait_for_drops() -> list[str]:
    """Wait until every database handed to the dropper is gone; those that could not be dropped, and why."""
    failed = []
    while _drops:
        name, drop = _drops.pop(0)
        if (error := drop.exception()) is not None:  # (waits for the drop)
            failed.append(f"{name}: {type(error).__name__}: {error}")
    return failed


@atexit.register
def report_failed_drops() -> None:
    """Wait for the drops still pending; name on stderr any database left behind."""
    for failure in wait_for_drops():
        print(f"tests/pg.py: could not drop test database {failure}", file=sys.stderr)


@dataclass
class Cluster:
    """A private PostgreSQL server: its URL, and the ways a test takes it away and brings it back.

    Unpacks as `url, stop, start`. `stop` is a crash (pg_ctl stop -m immediate: connections are
    refused); `freeze` is a server that hangs (SIGSTOP to it and every backend: connections are
    neither refused nor answered, as behind a network partition); `thaw` undoes it.
    """

    url: str
    stop: Callable[[], None]
    start: Callable[[], None]
    data: Path
    _frozen: list[int] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.url, self.stop, self.start))

    def freeze(self) -> None:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)  # first: it forks no new backend from here on
        self._frozen = [postmaster, *_children(postmaster)]
        for pid in self._frozen[1:]:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        frozen, self._frozen = self._frozen, []
        for pid in frozen:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()  # after "pid (comm)": state, ppid, ...
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found


@dataclass
class _Tools:
    """PostgreSQL's server programs, and how to run them (as `postgres` when the tests run as root)."""

    bin_dir: Path
    as_user: list[str]

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin_dir / program), *args], check=True, capture_output=True, timeout=60)

    def folder(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="qdn-pg-"))
        if self.as_user:
            shutil.chown(folder, "postgres")
        return folder


def _tools() -> _Tools:
    """The server programs, or the test skipped with the reason."""
    initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
    if initdb is None:
        pytest.skip("initdb not found: install PostgreSQL's server package (.ci/run does)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start a private PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
    return _Tools(Path(initdb).resolve().parent, as_user)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cluster(tools: _Tools, folder: Path, data: Path) -> Cluster:
    """A Cluster (not started) for the data folder `data`, on a port of its own, its socket and log in `folder`."""
    port = _free_port()

    def start() -> None:
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        tools.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")

    def stop() -> None:
        tools.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")

    return Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop, start, data)


def _remove(tools: _Tools, cluster: Cluster) -> None:
    cluster.thaw()
    subprocess.run([*tools.as_user, str(tools.bin_dir / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "stop"],
                   capture_output=True, timeout=60)  # fmt: skip


@contextmanager
def private_cluster(*settings: str) -> Iterator[Cluster]:
    """A PostgreSQL of this test's own, in a temporary folder, removed afterwards (see Cluster).

    `settings` are lines added to its postgresql.conf (`"synchronous_standby_names = 'standby'"`)."""
    tools = _tools()
    folder = tools.folder()
    cluster = _cluster(tools, folder, folder / "data")
    try:
        tools.run("initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        if settings:
            with open(cluster.data / "postgresql.conf", "a") as conf:
                conf.write("".join(f"{line}\n" for line in settings))
        cluster.start()
        try:
            yield cluster
        finally:
            _remove(tools, cluster)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


STANDBY_NAME = "qdn_standby"


@dataclass
class Pair:
    """A primary and its synchronous streaming standby (tests/pg.py `standby_pair`).

    `url` names both, libpq's way, so a client finds whichever is the primary; `promote()`
    makes the standby the primary (after `primary.stop()`, as a failover does)."""

    primary: Cluster
    standby: Cluster
    promote: Callable[[], None]

    @property
    def url(self) -> str:
        hosts = ",".join(urlsplit(cluster.url).netloc.rpartition("@")[2] for cluster in (self.primary, self.standby))
        return f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"


def _wait_until_synchronous(url: str) -> None:
    async def synchronous() -> bool:
        connection = await _asyncpg().connect(url, timeout=CONNECT_TIMEOUT)
        try:
            state = await connection.fetchval("SELECT sync_state FROM pg_stat_replication")
        finally:
            await connection.close()
        return bool(state == "sync")

    for _ in range(600):
        if asyncio.run(synchronous()):
            return
        time.sleep(0.05)
    raise RuntimeError("the standby never became synchronous")


@contextmanager
def standby_pair() -> Iterator[Pair]:
    """A primary with a synchronous streaming standby (pg_basebackup -R), each a private cluster.

    Every commit on the primary waits until the standby has it on disk (`synchronous_standby_names`,
    `synchronous_commit = on`): what a client was told is committed survives losing the primary.
    The setting is the primary's alone (ALTER SYSTEM after the base backup): a promoted standby
    with it would wait, every commit, for a standby of its own that does not exist yet."""
    tools = _tools()
    with private_cluster() as primary:
        folder = tools.folder()
        standby = _cluster(tools, folder, folder / "data")
        port = urlsplit(primary.url).port
        try:
            tools.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                      "-D", str(standby.data), "-R", "-X", "stream")  # fmt: skip
            with open(standby.data / "postgresql.auto.conf", "a") as conf:  # named, so the primary waits for it
                conf.write(
                    f"primary_conninfo = 'host=127.0.0.1 port={port} user=postgres application_name={STANDBY_NAME}'\n"
                )
            standby.start()
            execute(
                primary.url, f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'", "SELECT pg_reload_conf()"
            )
            _wait_until_synchronous(primary.url)
            yield Pair(primary, standby, lambda: tools.run("pg_ctl", "-D", str(standby.data), "-w", "promote"))
        finally:
            _remove(tools, standby)
            shutil.rmtree(folder, ignore_errors=True)
