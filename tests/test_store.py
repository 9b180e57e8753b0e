"""The TinyDB store on real files: layout, locking, corruption, restarts."""

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

from bot import jobs
from bot.errors import NotFound, StoreCorrupt, StoreLocked
from bot.messages import outbound_message
from store import JobWrite, data_folder, open_store
from store.tinydb.store import TinyDBStore

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
    assert inbound["body"] == "hello?" and inbound["id"].startswith("p") and "7375550142" not in inbound["id"]
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
    from store.tinydb import tinydb_path

    assert tinydb_path(database_url) == Path(expected)
    assert data_folder(database_url) == Path(expected).parent  # generated secrets sit beside the store


@pytest.mark.parametrize("bad", ["sqlite:///x.db", "tinydb://host/x.json", "tinydb:///", "qdn.json"])
def test_unsupported_database_urls_are_refused(bad):
    with pytest.raises(ValueError, match="DATABASE_URL"):
        data_folder(bad)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        asyncio.run(open_store(bad))


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


# -- the journal: one write per webhook, durable before it is acknowledged -----------------------

DISPATCHER = "+15125550100"


def inbound_status(sid, job_id=1001, phone=CUSTOMER):
    return {"direction": "inbound", "kind": "command", "job_id": job_id, "phone": phone, "from": phone,
            "to": "+15125550123", "body": "STATUS", "twilio_sid": sid, "status": "received",
            "reply_body": "Job 1001 is scheduled."}  # fmt: skip


def reply_to(inbound, body="Job 1001 is scheduled."):
    return {**inbound, "direction": "outbound", "kind": "reply", "from": inbound["to"], "to": inbound["from"],
            "body": body, "twilio_sid": None, "status": "sent"}  # fmt: skip


def test_an_inbound_text_its_answers_and_the_senders_state_land_in_one_write(tmp_path):
    relay = {"direction": "outbound", "kind": "relay", "job_id": None, "phone": DISPATCHER, "from": "+15125550123",
             "to": DISPATCHER, "body": "Dana: STATUS", "twilio_sid": None, "status": "pending"}  # fmt: skip
    calls = []

    def count(state):
        calls.append(state)
        return {**state, "auto_replies": {"since": "2026-11-27T18:00:00.000Z", "count": 1}}

    async def scenario():
        store = await open_store(url(tmp_path))
        await add_job(store)
        inbound = inbound_status("SMone")
        first = await store.record_inbound(inbound, outbound=[relay, reply_to(inbound)], phone=CUSTOMER,
                                           change_phone=count)  # fmt: skip
        again = await store.record_inbound(inbound, outbound=[reply_to(inbound, "twice")], phone=CUSTOMER,
                                           change_phone=count)  # fmt: skip
        await store.close()
        store = await open_store(url(tmp_path))
        try:
            return first, again, await store.job_messages(1001), await store.phone_messages(DISPATCHER), \
                await store.get_phone(CUSTOMER), await store.pending_messages()  # fmt: skip
        finally:
            await store.close()

    (stored, created), (repeat, created_again), conversation, dispatcher_log, state, pending = run(scenario())
    dispatcher_text = stored[1]["id"]
    assert created and [m["id"] for m in stored] == ["1001-2", dispatcher_text, "1001-3"]
    assert re.fullmatch(r"p[0-9a-f]{16}-1", dispatcher_text)  # no phone number in an id
    assert created_again is False and [m["id"] for m in repeat] == ["1001-2"]
    assert len(calls) == 1  # the repeat changed nothing, not even the sender's state
    assert [m["body"] for m in conversation] == ["hi", "STATUS", "Job 1001 is scheduled."]
    assert [m["body"] for m in dispatcher_log] == ["Dana: STATUS"]
    assert state["auto_replies"]["count"] == 1
    assert [m["id"] for m in pending] == ["1001-1", dispatcher_text]  # the same id after a restart


def test_messages_for_a_missing_job_leave_the_whole_write_out(tmp_path):
    async def scenario():
        store = await open_store(url(tmp_path))
        try:
            inbound = inbound_status("SMlost", job_id=None)
            with pytest.raises(NotFound):
                await store.record_inbound(inbound, outbound=[{**reply_to(inbound), "job_id": 4040}],
                                           phone=CUSTOMER, change_phone=lambda s: {**s, "opted_out": True})  # fmt: skip
            return await store.find_message_by_sid("SMlost"), await store.is_opted_out(CUSTOMER)
        finally:
            await store.close()

    assert run(scenario()) == (None, False)


KILLED_WRITER = """
import asyncio, os, signal, sys
sys.path.insert(0, {root!r})
from store import JobWrite, data_folder, open_store
from bot import jobs

async def main():
    store = await open_store({url!r})
    now = jobs.utc_now()
    fields = {{"customer_name": "Dana Whitfield", "customer_phone": "+15125550199", "service_type": "junk removal"}}
    await store.create_job(lambda job_id: JobWrite(jobs.new_job(job_id, "TKILL", fields, now)))
    inbound = {inbound!r}
    await store.record_inbound(inbound, outbound=[{reply!r}], phone="+15125550199",
                               change_phone=lambda state: {{**state, "opted_out": True}})
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint: only the journal has it

asyncio.run(main())
"""


def kill_after_writes(tmp_path):
    inbound = inbound_status("SMkill")
    script = KILLED_WRITER.format(root=str(Path(__file__).resolve().parent.parent), url=url(tmp_path),
                                  inbound=inbound, reply=reply_to(inbound))  # fmt: skip
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


def test_queue_and_phone_log_order_compares_doc_ids_as_numbers(tmp_path):
    """Same-millisecond texts keep the order written, even past the 9th ("1001-10" after "1001-9")."""
    now = jobs.utc_now()

    async def scenario():
        store = await open_store(url(tmp_path))
        await add_job(store, with_text=False)
        for n in range(12):
            await store.add_message(
                outbound_message(
                    kind="relay", to=CUSTOMER, body=f"text {n}", sender="console", now=now, opted_out=False, job_id=1001
                )
            )
        try:
            return await store.pending_messages(), await store.phone_messages(CUSTOMER)
        finally:
            await store.close()

    pending, log = run(scenario())
    assert [m["body"] for m in pending] == [f"text {n}" for n in range(12)]
    assert [m["body"] for m in log] == [f"text {n}" for n in range(12)]


@pytest.mark.parametrize("forged", ["p15125550199-1", "p0000000000000000-1", "pXYZ-1"])
def test_phone_message_ids_cannot_be_guessed_from_the_number(tmp_path, forged):
    async def scenario():
        store = await open_store(url(tmp_path))
        try:
            await store.add_message({"direction": "inbound", "kind": "text", "job_id": None, "phone": CUSTOMER,
                                     "from": CUSTOMER, "to": "+15125550123", "body": "hi", "twilio_sid": "SMp",
                                     "status": "received"})  # fmt: skip
            with pytest.raises(NotFound):
                await store.get_message(forged)
        finally:
            await store.close()

    run(scenario())


def test_a_read_waits_for_the_sync_of_what_it_shows_and_only_that(tmp_path):
    """Nothing un-synced is shown, but one conversation's write in flight does not hold up another's reads."""
    other = "+15125550142"

    async def scenario():
        store = await open_store(url(tmp_path))
        assert isinstance(store, TinyDBStore)
        gate = threading.Event()
        real_sync = store.core.journal.sync

        def held_sync():
            gate.wait(30)  # the disk is slow: the flush lasts until the test opens the gate
            real_sync()

        store.core.journal.sync = held_sync  # type: ignore[method-assign]  # a slow disk
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
