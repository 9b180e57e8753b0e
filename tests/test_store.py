"""The TinyDB backend on real files: layout, ids, locking, corruption, the journal, kill -9.

What every backend must do is in the contract suite (tests/store_contract/); this file
holds what only the TinyDB backend has: its files, its message ids, its lock and journal.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.errors import NotFound, StoreCorrupt, StoreLocked
from store import JobWrite, data_folder, open_deployment, open_store
from store.tinydb.store import TinyDBStore
from tests.store_contract.support import CUSTOMER, DISPATCHER, OTHER, add_job, inbound, moved, outbound, reply_to, run


def url(tmp_path: Path) -> str:
    return f"tinydb:///{tmp_path}/data/qdn.json"


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


def test_message_ids_name_their_conversation_and_never_a_phone_number(tmp_path):
    """The API says only "a string"; the TinyDB backend's ids are <job id>-<n> and p<keyed digest>-<n>.

    A phone's texts outside any job get a digest keyed with a secret kept in the
    store's metadata, so no id (they appear in logs and API answers) carries a
    phone number, and the same text has the same id after a restart.
    """

    async def write():
        store = await open_store(url(tmp_path))
        first, second = await add_job(store), await add_job(store, phone=OTHER)
        text = inbound("SMone", job_id=1001)
        relay = outbound(DISPATCHER, "Dana: STATUS")  # no job: the dispatcher's own conversation
        stored, _ = await store.record_inbound(text, outbound=[relay, reply_to(text)])
        repeat, _ = await store.record_inbound(text)
        own = await store.add_message(inbound("SMown", phone=OTHER))
        await store.update_message("1001-1", lambda m: {**m, "status": "sent", "twilio_sid": "SMabc"})
        found = await store.find_message_by_sid("SMabc")
        await store.close()
        return [first.messages[0]["id"], second.messages[0]["id"]], stored, repeat, own, found

    async def reopen(ids):
        store = await open_store(url(tmp_path))
        try:
            return [(await store.get_message(i))["id"] for i in ids], [m["id"] for m in await store.pending_messages()]
        finally:
            await store.close()

    created, stored, repeat, own, found = run(write())
    dispatcher_text = stored[1]["id"]
    assert created == ["1001-1", "1002-1"]
    assert [m["id"] for m in stored] == ["1001-2", dispatcher_text, "1001-3"]
    assert re.fullmatch(r"p[0-9a-f]{16}-1", dispatcher_text) and re.fullmatch(r"p[0-9a-f]{16}-1", own["id"])
    assert dispatcher_text != own["id"] and "7375550142" not in own["id"]
    assert [m["id"] for m in repeat] == ["1001-2"]
    assert found is not None and found["id"] == "1001-1"
    again, pending = run(reopen([dispatcher_text, own["id"]]))
    assert again == [dispatcher_text, own["id"]]  # the digest's key is kept: ids outlive restarts
    assert pending == ["1002-1", dispatcher_text]


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
        await store.update_job(1007, lambda job: JobWrite(moved(job, "arrived")))
        await store.add_message({"direction": "inbound", "kind": "text", "job_id": 1007, "phone": "+15125550006",
                                 "from": "+15125550006", "to": "+15125550123", "body": "thanks", "twilio_sid": "SMx",
                                 "status": "received"})  # fmt: skip
        await store.close()
        return others

    others = run(scenario())
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in others.items())


def test_a_message_for_a_missing_job_starts_no_job_file(tmp_path):
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
    from store.tinydb import tinydb_path

    assert tinydb_path(database_url) == Path(expected)
    assert data_folder(database_url) == Path(expected).parent  # generated secrets sit beside the store


@pytest.mark.parametrize("bad", ["sqlite:///x.db", "tinydb://host/x.json", "tinydb:///", "qdn.json"])
def test_unsupported_database_urls_are_refused(bad):
    with pytest.raises(ValueError, match="DATABASE_URL"):
        data_folder(bad)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        asyncio.run(open_store(bad))


# -- the journal: one write per webhook, durable before it is acknowledged -----------------------

KILLED_WRITER = """
import asyncio, os, signal, sys
sys.path.insert(0, {root!r})
from store import JobWrite, open_store
from tests.store_contract.support import job_record

async def main():
    store = await open_store({url!r})
    await store.create_job(lambda job_id: JobWrite(job_record(job_id, "TKILL")))
    inbound = {inbound!r}
    await store.record_inbound(inbound, outbound=[{reply!r}], phone="+15125550199",
                               change_phone=lambda state: {{**state, "opted_out": True}})
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint: only the journal has it

asyncio.run(main())
"""


def kill_after_writes(tmp_path):
    text = inbound("SMkill", job_id=1001)
    script = KILLED_WRITER.format(root=str(Path(__file__).resolve().parent.parent), url=url(tmp_path),
                                  inbound=text, reply=reply_to(text))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9 and "acknowledged" in done.stdout, done.stderr


async def reopened(tmp_path):
    store = await open_store(url(tmp_path))
    try:
        return (await store.get_job(1001), [m["body"] for m in await store.job_messages(1001)],
                await store.is_opted_out(CUSTOMER))  # fmt: skip
    finally:
        await store.close()


def test_writes_acknowledged_before_a_kill_are_there_after_it(tmp_path):
    kill_after_writes(tmp_path)
    assert not (tmp_path / "data/qdn.jobs/1001.json").exists()  # the files had not caught up yet
    job, bodies, opted_out = run(reopened(tmp_path))
    assert job["token"] == "TKILL" and bodies == ["STATUS", "Job 1001 is scheduled."] and opted_out
    # and closing brought the conversation's file up to date: it opens as a plain TinyDB database
    with TinyDB(tmp_path / "data/qdn.jobs/1001.json", access_mode="r") as db:
        assert [doc["body"] for doc in db.table("messages").all()] == bodies


def test_a_torn_last_journal_line_is_cut_off_and_kept_aside(tmp_path):
    kill_after_writes(tmp_path)
    (segment,) = (tmp_path / "data").glob("qdn.journal.0*")
    with open(segment, "ab") as journal:
        journal.write(b'{"w": [["1001", "messages", 9, {"body": "half a wri')  # a write cut by the kill
    job, bodies, _ = run(reopened(tmp_path))
    assert job["id"] == 1001 and bodies == ["STATUS", "Job 1001 is scheduled."]
    torn = segment.with_name(segment.name + ".torn")
    assert torn.read_bytes().endswith(b"half a wri")


def test_damage_with_whole_lines_after_it_stops_start_up_untouched(tmp_path):
    """Only real damage -- acknowledged lines after the bad one -- may stop start-up."""
    kill_after_writes(tmp_path)
    (segment,) = (tmp_path / "data").glob("qdn.journal.0*")
    first, rest = segment.read_bytes().split(b"\n", 1)
    assert rest.count(b"\n") == 1  # the inbound text's line follows the job's
    damaged = first.replace(b"TKILL", b"TK\x00LL", 1) + b"\n" + rest
    segment.write_bytes(damaged)
    segment.with_name("qdn.journal.000099").write_bytes(b"")  # a later segment: this one was complete once
    with pytest.raises(StoreCorrupt) as refused:
        run(open_store(url(tmp_path)))
    assert f"{segment} is damaged at byte 0" in refused.value.message
    assert segment.read_bytes() == damaged


@pytest.mark.parametrize("torn", [b'{"w": [["1001", "messa', b"\x00" * 700, b'{"w": 3}\n{"w": [["10'])
def test_a_torn_tail_in_an_earlier_segment_is_cut_off_and_the_later_segments_load(tmp_path, torn, caplog):
    """A full disk cut an append short, then a checkpoint started the next segment (issue #12)."""
    kill_after_writes(tmp_path)
    (segment,) = (tmp_path / "data").glob("qdn.journal.0*")
    first, second = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(first + torn)
    later = segment.with_name("qdn.journal.000002")
    later.write_bytes(second)  # acknowledged after the torn write, in the next segment
    with caplog.at_level("WARNING", logger="qdn.store"):
        job, bodies, opted_out = run(reopened(tmp_path))
    assert job["token"] == "TKILL" and bodies == ["STATUS", "Job 1001 is scheduled."] and opted_out
    assert segment.with_name(segment.name + ".torn").read_bytes() == torn
    assert f"cut off {len(torn)} bytes" in caplog.text


def test_a_read_waits_for_the_sync_of_what_it_shows_and_only_that(tmp_path):
    """Nothing un-synced is shown, but one conversation's write in flight does not hold up another's reads."""
    other = "+15125550142"

    async def scenario():
        store = await open_store(url(tmp_path))
        assert isinstance(store, TinyDBStore)
        gate = threading.Event()
        real_sync = store.partitions.journal.sync

        def held_sync():
            gate.wait(30)  # the disk is slow: the flush lasts until the test opens the gate
            real_sync()

        store.partitions.journal.sync = held_sync  # type: ignore[method-assign]  # a slow disk
        try:
            # Another caller has used the store, so the write's flush goes to the sync thread (a sole
            # caller's flush runs in the event loop's thread: store/tinydb/group_commit.py).
            assert await store.get_phone(other) == {}
            write = asyncio.create_task(store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True}))
            await asyncio.sleep(0)  # the write is journaled (not yet durable) and waits for the flush
            assert not write.done()
            same_phone = asyncio.create_task(store.is_opted_out(CUSTOMER))
            other_phone = asyncio.create_task(store.get_phone(other))
            done, _ = await asyncio.wait({other_phone}, timeout=10)
            assert other_phone in done, "a read of another phone waited for a flush it did not need"
            assert other_phone.result() == {}
            assert not same_phone.done(), "an un-synced opt-out was shown before it was on disk"
        finally:
            gate.set()
        assert await write == {"opted_out": True}
        assert await same_phone is True
        await store.close()

    run(scenario())


@pytest.mark.parametrize("content", [b"", b'{"businesses": ', b"[1, 2]", b'{"businesses": [1]}'])
def test_a_corrupt_business_registry_stops_start_up_and_is_left_as_it_was(tmp_path, content):
    registry = tmp_path / "data/qdn.businesses.json"
    registry.parent.mkdir()
    registry.write_bytes(content)
    with pytest.raises(StoreCorrupt) as refused:
        run(open_deployment(url(tmp_path)))
    assert str(registry) in refused.value.message
    assert registry.read_bytes() == content
    # every store it opened was closed again: the default store's lock is free
    registry.unlink()
    run(run_and_close(url(tmp_path)))
