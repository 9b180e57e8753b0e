"""The TinyDB store on real files: layout, locking, corruption, restarts."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import jobs
from bot.errors import NotFound, StoreCorrupt, StoreLocked
from bot.outbound import outbound_message
from store import JobWrite, open_store
from store.tinydb_store import TinyDBStore

CUSTOMER = "+15125550199"


def run(coro):
    return asyncio.run(coro)


def url(tmp_path: Path) -> str:
    return f"tinydb:///{tmp_path}/data/qdn.json"


async def add_job(store, phone=CUSTOMER, token=None, with_text=True):
    now = jobs.utc_now()
    fields = {"customer_name": "Dana Whitfield", "customer_phone": phone, "service_type": "junk removal"}

    def build(job_id):
        job = jobs.new_job(job_id, token or f"T{job_id}", fields, now)
        texts = [
            outbound_message(
                kind="notification", to=phone, body="hi", sender="console", now=now, opted_out=False, job_id=job_id
            )
        ]
        return JobWrite(job, texts if with_text else [])

    return await store.create_job(build)


def test_job_and_its_texts_are_written_together_in_one_partition(tmp_path):
    async def scenario():
        store = await open_store(url(tmp_path))
        created = await add_job(store)
        await store.close()
        return created

    created = run(scenario())
    files = sorted(p.relative_to(tmp_path / "data").as_posix() for p in (tmp_path / "data").rglob("*.json"))
    assert files == ["qdn.jobs/1001.json", "qdn.json"]
    data = json.loads((tmp_path / "data/qdn.jobs/1001.json").read_text())
    assert data["job"]["1"]["id"] == 1001
    assert data["messages"]["1"]["status"] == "pending"
    assert created.messages[0]["id"] == "1001-1"


def test_everything_survives_a_restart(tmp_path):
    async def first():
        store = await open_store(url(tmp_path))
        await add_job(store, token="AAAA")
        moved = await store.update_job(
            1001, lambda job: JobWrite(jobs.move(job, "en_route", by="api", now=jobs.utc_now(), eta_minutes=9).job)
        )
        await store.add_message({"direction": "inbound", "kind": "text", "job_id": None, "phone": "+17375550142",
                                 "from": "+17375550142", "to": "+15125550123", "body": "hello?", "twilio_sid": "SM1",
                                 "status": "received"})  # fmt: skip
        await store.update_phone("+17375550142", lambda state: {**state, "opted_out": True})
        await store.close()
        return moved.job

    async def second():
        store = await open_store(url(tmp_path))
        try:
            return (
                await store.get_job(1001),
                await store.find_job_by_token("AAAA"),
                await store.find_message_by_sid("SM1"),
                await store.is_opted_out("+17375550142"),
                [m["id"] for m in await store.pending_messages()],
                (await add_job(store)).job["id"],
            )
        finally:
            await store.close()

    moved = run(first())
    job, by_token, inbound, opted_out, pending, next_id = run(second())
    assert job == moved == by_token
    assert job["status"] == "en_route"
    assert inbound["body"] == "hello?" and inbound["id"].startswith("p17375550142-")
    assert opted_out is True
    assert pending == ["1001-1"]
    assert next_id == 1002


def test_a_second_process_on_the_same_data_is_refused_at_once(tmp_path):
    async def hold_and_probe():
        store = await open_store(url(tmp_path))
        try:
            probe = subprocess.run(
                [sys.executable, "-c", f"import asyncio, store; asyncio.run(store.open_store({url(tmp_path)!r}))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            await store.close()
        return probe

    probe = run(hold_and_probe())
    assert probe.returncode != 0
    assert "StoreLocked" in probe.stderr and "in use by process" in probe.stderr


def test_the_lock_is_refused_in_process_too_and_released_on_close(tmp_path):
    async def scenario():
        first = await open_store(url(tmp_path))
        with pytest.raises(StoreLocked):
            await TinyDBStore(tmp_path / "data/qdn.json").open()
        await first.close()
        again = await open_store(url(tmp_path))
        await again.close()

    run(scenario())


@pytest.mark.parametrize("content", [b"", b"   \n", b'{"meta": {"1": ', b"\x00\x00\x00", b"[1, 2, 3]"])
def test_a_corrupt_main_file_stops_start_up_and_is_left_as_it_was(tmp_path, content):
    path = tmp_path / "data/qdn.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(StoreCorrupt) as refused:
        run(open_store(url(tmp_path)))
    assert str(path) in refused.value.message
    assert path.read_bytes() == content
    # and the lock was let go, so a fixed file can be opened without a restart
    path.unlink()
    run(run_and_close(url(tmp_path)))


async def run_and_close(database_url):
    store = await open_store(database_url)
    await store.close()


def test_a_corrupt_job_file_stops_start_up_naming_it(tmp_path):
    run(run_and_close(url(tmp_path)))

    async def make():
        store = await open_store(url(tmp_path))
        await add_job(store)
        await store.close()

    run(make())
    job_file = tmp_path / "data/qdn.jobs/1001.json"
    torn = job_file.read_bytes()[:40]
    job_file.write_bytes(torn)
    with pytest.raises(StoreCorrupt) as refused:
        run(open_store(url(tmp_path)))
    assert "1001.json" in refused.value.message
    assert job_file.read_bytes() == torn


def test_leftover_temp_files_from_a_crash_are_ignored(tmp_path):
    async def make():
        store = await open_store(url(tmp_path))
        await add_job(store)
        await store.close()

    run(make())
    leftover = tmp_path / "data/qdn.jobs/.1002.json.abc.tmp"
    leftover.write_text('{"job": {"1": {"id": 1002')
    run(run_and_close(url(tmp_path)))
    assert not leftover.exists()


def test_writes_touch_only_one_conversation(tmp_path):
    """Per-request cost stays flat: answering for one job rewrites only its file."""

    async def scenario():
        store = await open_store(url(tmp_path))
        for n in range(30):
            await add_job(store, phone=f"+1512555{n:04d}")
        others = {p: p.stat().st_mtime_ns for p in (tmp_path / "data/qdn.jobs").glob("*.json") if p.stem != "1007"}
        await store.update_job(1007, lambda job: JobWrite(jobs.move(job, "arrived", by="api", now=jobs.utc_now()).job))
        await store.add_message({"direction": "inbound", "kind": "text", "job_id": 1007, "phone": "+15125550006",
                                 "from": "+15125550006", "to": "+15125550123", "body": "thanks", "twilio_sid": "SMx",
                                 "status": "received"})  # fmt: skip
        await store.close()
        return others

    others = run(scenario())
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in others.items())


def test_inbound_is_stored_once_per_twilio_sid_even_concurrently(tmp_path):
    async def scenario():
        store = await open_store(url(tmp_path))
        inbound = {"direction": "inbound", "kind": "text", "job_id": None, "phone": CUSTOMER, "from": CUSTOMER,
                   "to": "+15125550123", "body": "STATUS", "twilio_sid": "SMdup", "status": "received"}  # fmt: skip
        results = await asyncio.gather(*(store.add_inbound_once(dict(inbound)) for _ in range(10)))
        stored = await store.phone_messages(CUSTOMER)
        await store.close()
        return results, stored

    results, stored = run(scenario())
    assert sum(created for _, created in results) == 1
    assert len({message["id"] for message, _ in results}) == 1
    assert len(stored) == 1


def test_update_message_and_the_pending_queue(tmp_path):
    async def scenario():
        store = await open_store(url(tmp_path))
        await add_job(store)
        await add_job(store, phone="+17375550142")
        first = [m["id"] for m in await store.pending_messages()]
        await store.update_message("1001-1", lambda m: {**m, "status": "sent", "twilio_sid": "SMabc"})
        after = [m["id"] for m in await store.pending_messages()]
        by_sid = await store.find_message_by_sid("SMabc")
        unchanged = await store.update_message("1002-1", lambda m: None)
        await store.close()
        return first, after, by_sid, unchanged

    first, after, by_sid, unchanged = run(scenario())
    assert first == ["1001-1", "1002-1"]
    assert after == ["1002-1"]
    assert by_sid["id"] == "1001-1" and by_sid["status"] == "sent"
    assert unchanged["status"] == "pending"


@pytest.mark.parametrize("message_id", ["", "x", "1001", "1001-", "-1", "abc-1", "1001-1; rm", "9999-1", "p-1"])
def test_unknown_message_ids_are_not_found(tmp_path, message_id):
    async def scenario():
        store = await open_store(url(tmp_path))
        try:
            with pytest.raises(NotFound):
                await store.get_message(message_id)
        finally:
            await store.close()

    run(scenario())


def test_messages_for_a_missing_job_are_refused(tmp_path):
    async def scenario():
        store = await open_store(url(tmp_path))
        try:
            with pytest.raises(NotFound):
                await store.add_message({"direction": "outbound", "kind": "relay", "job_id": 4040, "phone": CUSTOMER,
                                         "body": "x", "status": "pending"})  # fmt: skip
        finally:
            await store.close()
        assert not (tmp_path / "data/qdn.jobs/4040.json").exists()

    run(scenario())


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [("tinydb:///data/qdn.json", "data/qdn.json"), ("tinydb:////srv/qdn/qdn.json", "/srv/qdn/qdn.json")],
)
def test_database_url_slash_convention(database_url, expected):
    from store import tinydb_path

    assert tinydb_path(database_url) == Path(expected)


@pytest.mark.parametrize("bad", ["sqlite:///x.db", "tinydb://host/x.json", "tinydb:///", "qdn.json"])
def test_unsupported_database_urls_are_refused(bad):
    from store import tinydb_path

    with pytest.raises(ValueError, match="DATABASE_URL"):
        tinydb_path(bad)


def test_a_dispatchers_texts_in_a_customers_job_are_found_by_the_dispatchers_phone(tmp_path):
    dispatcher = "+15125550100"
    relay = {"direction": "outbound", "kind": "relay", "job_id": 1001, "phone": dispatcher, "from": "+15125550123",
             "to": dispatcher, "body": "Dana (1001): late? Reply: R 1001 <text>", "status": "pending"}  # fmt: skip

    async def write():
        store = await open_store(url(tmp_path))
        await add_job(store)
        await store.add_message(relay)
        found = await store.phone_messages(dispatcher)
        await store.close()
        return found

    async def reopen():
        store = await open_store(url(tmp_path))
        found = await store.phone_messages(dispatcher)
        customer = await store.phone_messages(CUSTOMER)
        await store.close()
        return found, customer

    before = run(write())
    after, customer = run(reopen())
    assert [m["body"] for m in before] == [relay["body"]]
    assert after == before
    assert all(m["phone"] == CUSTOMER for m in customer)
