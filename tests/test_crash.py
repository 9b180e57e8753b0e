"""kill -9 during a stream of concurrent creations loses nothing acknowledged."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.support import LiveServer, base_environ, job_body

pytestmark = pytest.mark.e2e

ROUNDS = 5
WRITERS = 4


def create_until_killed(server: LiveServer, acknowledged: list, stop: threading.Event, writer: int) -> None:
    with server.client() as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = client.post("/jobs", json=job_body(customer_name=f"Writer{writer} Job{n}"))
            except httpx.TransportError:
                return  # the server died mid-request: not acknowledged, may or may not exist
            if response.status_code == 201:
                acknowledged.append(response.json())


def test_sigkill_during_concurrent_creations_loses_no_acknowledged_job(tmp_path):
    env = base_environ(tmp_path)
    acknowledged: list[dict] = []
    for round_no in range(ROUNDS):
        server = LiveServer(env, tmp_path).start()
        with server.client() as client:
            # Every job acknowledged before any earlier kill is still here, whole.
            for job in acknowledged:
                stored = client.get(f"/jobs/{job['id']}")
                assert stored.status_code == 200, f"round {round_no}: job {job['id']} lost"
                assert stored.json()["token"] == job["token"]
                assert stored.json()["customer_name"] == job["customer_name"]
        before = len(acknowledged)
        stop = threading.Event()
        writers = [
            threading.Thread(target=create_until_killed, args=(server, acknowledged, stop, w)) for w in range(WRITERS)
        ]
        for thread in writers:
            thread.start()
        while len(acknowledged) < before + 20:  # kill mid-stream, well after writes began
            time.sleep(0.01)
        server.kill()
        stop.set()
        for thread in writers:
            thread.join(10)
        assert server.process is not None and server.process.returncode == -9

    server = LiveServer(env, tmp_path).start()
    try:
        with server.client() as client:
            listed = {job["id"]: job for job in client.get("/jobs", params={"limit": 1000}).json()["jobs"]}
        for job in acknowledged:
            assert listed[job["id"]]["token"] == job["token"]
        ids = sorted(listed)
        assert len(ids) == len(set(ids))
        assert len(acknowledged) >= ROUNDS * 20
    finally:
        server.stop()


def test_a_second_server_on_the_same_data_exits_at_once_with_a_message(tmp_path):
    env = base_environ(tmp_path)
    first = LiveServer(env, tmp_path).start()
    try:
        second = LiveServer(env, tmp_path)
        with pytest.raises(RuntimeError, match="in use by process"):
            second.start()
        assert second.process is not None and second.process.returncode == 2
    finally:
        first.stop()


def test_a_corrupt_store_stops_the_server_and_is_left_untouched(tmp_path):
    env = base_environ(tmp_path)
    store_file = tmp_path / "data/qdn.json"
    store_file.parent.mkdir()
    store_file.write_text('{"meta": {"1": {"sch')
    server = LiveServer(env, tmp_path)
    with pytest.raises(RuntimeError, match="does not parse"):
        server.start()
    assert server.process is not None and server.process.returncode == 2
    assert store_file.read_text() == '{"meta": {"1": {"sch'
