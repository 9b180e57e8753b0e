"""A full disk never bricks the store: writes fail (503) while it is full, and work again once space is back.

Issue #12 item 1: on a real, small tmpfs, a running service recovers by itself
when space comes back, and a service stopped while the disk was full (SIGTERM
or kill -9) starts again with every acknowledged job. And a failed fdatasync
(which no tmpfs produces, so it is injected) makes the store reload itself
from disk instead of refusing writes until a restart.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.errors import StoreError
from store import open_store
from store.tinydb import partitions as core_module
from tests.support import LiveServer, base_environ, job_body
from tests.test_store import add_job, url

FREE_BYTES = 48 * 1024  # what the filler leaves: room for a few dozen jobs' journal lines


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: a disk that really fills up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); run as root to test a full disk")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill `disk` to the last byte, then give back `leave` bytes."""
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def create_until_refused(client: httpx.Client, acknowledged: list[dict]) -> None:
    """Create jobs until the full disk refuses three in a row; every answer is a 201 or a 503."""
    refused = 0
    for n in range(2000):
        response = client.post("/jobs", json=job_body(customer_name=f"Disk Filler {len(acknowledged)} {n}"))
        assert response.status_code in (201, 503), response.text
        if response.status_code == 201:
            acknowledged.append(response.json())
            refused = 0
        else:
            assert response.json()["error"]["code"] == "unavailable"
            refused += 1
            if refused == 3:
                return
    raise AssertionError("the disk never filled up")


def eventually_created(client: httpx.Client, within: float = 15) -> dict:
    deadline = time.monotonic() + within
    while True:
        response = client.post("/jobs", json=job_body(customer_name="After The Disk Cleared"))
        if response.status_code == 201:
            return response.json()
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, f"still refused {within} s after space came back: {response.text}"
        time.sleep(0.2)


def assert_all_there(client: httpx.Client, acknowledged: list[dict]) -> None:
    listed = {job["id"]: job for job in client.get("/jobs").json()["jobs"]}
    for job in acknowledged:
        assert job["id"] in listed, f"acknowledged job {job['id']} lost"
        assert listed[job["id"]]["token"] == job["token"]
        assert listed[job["id"]]["customer_name"] == job["customer_name"]


@pytest.mark.e2e
@pytest.mark.parametrize("stop", ["terminate", "kill -9"])
def test_a_full_disk_refuses_writes_then_recovers_running_and_after_a_restart(tmp_path, small_disk, stop):
    env = base_environ(tmp_path, DATABASE_URL=f"tinydb:///{small_disk}/data/qdn.json")
    acknowledged: list[dict] = []
    server = LiveServer(env, tmp_path).start()
    try:
        with server.client() as client:
            # Full while jobs are being created: 503s, and what was acknowledged stays readable.
            filler = fill(small_disk, leave=FREE_BYTES)
            create_until_refused(client, acknowledged)
            assert acknowledged, "some jobs fit before the disk filled"
            assert client.get(f"/jobs/{acknowledged[0]['id']}").status_code == 200
            # Space back: the running service takes writes again by itself.
            filler.unlink()
            acknowledged.append(eventually_created(client))
            assert httpx.get(f"{server.url}/healthz").status_code == 200
            # Full again, and long enough for a checkpoint to try (and fail) to start a new segment.
            filler = fill(small_disk, leave=FREE_BYTES)
            create_until_refused(client, acknowledged)
            time.sleep(core_module.IDLE_SECONDS * 1.5)
        if stop == "terminate":
            server.stop()
        else:
            server.kill()
    finally:
        server.kill()
    filler.unlink()

    restarted = LiveServer(env, tmp_path).start()  # a torn tail is cut off, never "restore from a backup"
    try:
        with restarted.client() as client:
            assert_all_there(client, acknowledged)
            eventually_created(client, within=0)
    finally:
        restarted.stop()
    assert "restore the data folder" not in (tmp_path / f"server-{restarted.port}.log").read_text()


def test_a_failed_fdatasync_reloads_the_store_instead_of_refusing_until_a_restart(tmp_path, monkeypatch):
    """The kernel may drop pages whose writeback failed: the store reads itself anew, then takes writes."""
    monkeypatch.setattr(core_module, "IDLE_SECONDS", 0.05)  # the checkpoint thread retries this often
    real_fdatasync = os.fdatasync
    failures = [OSError(errno.EIO, "Input/output error")]

    def fdatasync(fd: int) -> None:
        if failures:
            raise failures.pop()
        real_fdatasync(fd)

    async def scenario() -> None:
        store = await open_store(url(tmp_path))
        try:
            before = await add_job(store)
            monkeypatch.setattr(os, "fdatasync", fdatasync)
            with pytest.raises(StoreError):
                await add_job(store)
            deadline = time.monotonic() + 10
            while True:  # unusable (healthz 503) until the reload has rewritten everything as files
                try:
                    await store.ping()
                    break
                except StoreError:
                    assert time.monotonic() < deadline, "the store never recovered"
                    await asyncio.sleep(0.05)
            assert (await store.get_job(before.job["id"]))["token"] == before.job["token"]
            after = await add_job(store)
            assert after.job["id"] > before.job["id"]
        finally:
            await store.close()
        reopened = await open_store(url(tmp_path))
        try:
            for job in (before.job, after.job):
                assert (await reopened.get_job(job["id"]))["token"] == job["token"]
        finally:
            await reopened.close()

    asyncio.run(scenario())
    assert not failures
