"""The message log: appending, updating, finding by id and SID, unknown ids, per-phone views."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import NotFound
from store import open_store
from store.records import MessageRecord
from tests.store_contract.support import (
    BUSINESS,
    CUSTOMER,
    DISPATCHER,
    NOW,
    OTHER,
    add_job,
    assert_declared,
    inbound,
    outbound,
    run,
)

EARLIER = "2024-11-27T18:00:00.000Z"
LATER = "2024-11-27T18:40:00.000Z"


def test_add_message_gives_an_id_and_keeps_the_time_it_was_stamped_with(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            stamped = await store.add_message(inbound("SMa", now=NOW))
            unstamped = await store.add_message({k: v for k, v in inbound("SMb").items() if k != "created_at"})
            return stamped, unstamped, await store.get_message(stamped["id"]), await store.phone_messages(CUSTOMER)
        finally:
            await store.close()

    stamped, unstamped, found, log = run(scenario())
    assert isinstance(stamped["id"], str) and stamped["id"] and stamped["id"] != unstamped["id"]
    assert stamped["created_at"] == NOW and isinstance(stamped["updated_at"], str)
    assert isinstance(unstamped["created_at"], str) and unstamped["created_at"] > NOW  # the store stamped it now
    assert found == stamped
    assert log == [stamped, unstamped]
    assert "5125550199" not in stamped["id"]  # a phone's own texts: still no number in the id
    for message in log:
        assert_declared(message, MessageRecord)


def test_messages_for_a_missing_job_are_refused(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            with pytest.raises(NotFound):
                await store.add_message({"direction": "outbound", "kind": "relay", "job_id": 4040, "phone": CUSTOMER,
                                         "body": "x", "status": "pending"})  # fmt: skip
            with pytest.raises(NotFound):
                await store.job_messages(4040)
            return await store.phone_messages(CUSTOMER), await store.pending_messages()
        finally:
            await store.close()

    assert run(scenario()) == ([], [])


def test_update_message_and_the_pending_queue(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        first_job = await add_job(store)
        second_job = await add_job(store, phone=OTHER)
        ids = [first_job.messages[0]["id"], second_job.messages[0]["id"]]
        first = [m["id"] for m in await store.pending_messages()]
        await store.update_message(ids[0], lambda m: {**m, "status": "sent", "twilio_sid": "SMabc"})
        after = [m["id"] for m in await store.pending_messages()]
        by_sid = await store.find_message_by_sid("SMabc")
        unchanged = await store.update_message(ids[1], lambda m: None)
        await store.close()
        return ids, first, after, by_sid, unchanged

    ids, first, after, by_sid, unchanged = run(scenario())
    assert first == ids
    assert after == ids[1:]
    assert by_sid is not None and by_sid["id"] == ids[0] and by_sid["status"] == "sent"
    assert unchanged["status"] == "pending" and unchanged["id"] == ids[1]


def test_an_updated_message_keeps_its_id_and_gets_a_new_updated_at(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            created = await store.add_message(outbound(CUSTOMER, "hi", now=NOW))
            same = await store.update_message(created["id"], lambda m: dict(m))
            none = await store.update_message(created["id"], lambda m: None)
            await asyncio.sleep(0.002)  # `updated_at` has milliseconds
            changed = await store.update_message(created["id"], lambda m: {**m, "status": "queued", "id": "ignored"})
            return created, same, none, changed, await store.get_message(created["id"])
        finally:
            await store.close()

    created, same, none, changed, found = run(scenario())
    assert same == none == created  # no change: nothing written, not even `updated_at`
    assert changed["id"] == created["id"] and changed["status"] == "queued"
    assert changed["updated_at"] > created["updated_at"] and changed["created_at"] == NOW
    assert found == changed


def test_update_message_replaces_the_message_so_a_dropped_key_is_gone(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            created = await store.add_message({**outbound(CUSTOMER, "hi"), "attempts": 1, "lookups": 2})
            await store.update_message(created["id"], lambda m: {k: v for k, v in m.items() if k != "lookups"})
            return await store.get_message(created["id"])
        finally:
            await store.close()

    found = run(scenario())
    assert found["attempts"] == 1 and "lookups" not in found


@pytest.mark.parametrize("message_id", ["", "x", "1001", "1001-", "-1", "abc-1", "1001-1; rm", "9999-1", "p-1"])
def test_unknown_message_ids_are_not_found(database_url: str, message_id: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            made = {m["id"] for m in (await add_job(store, texts=0)).messages}
            made.add((await store.add_message(inbound("SMp")))["id"])
            assert message_id not in made, "ids are opaque, but never one of these strings"
            with pytest.raises(NotFound):
                await store.get_message(message_id)
            with pytest.raises(NotFound):
                await store.update_message(message_id, lambda m: {**m, "status": "sent"})
        finally:
            await store.close()

    run(scenario())


@pytest.mark.parametrize("forged", ["p15125550199-1", "p0000000000000000-1", "pXYZ-1"])
def test_message_ids_cannot_be_guessed_from_the_number(database_url: str, forged: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await store.add_message({"direction": "inbound", "kind": "text", "job_id": None, "phone": CUSTOMER,
                                     "from": CUSTOMER, "to": BUSINESS, "body": "hi", "twilio_sid": "SMp",
                                     "status": "received"})  # fmt: skip
            with pytest.raises(NotFound):
                await store.get_message(forged)
        finally:
            await store.close()

    run(scenario())


def test_find_message_by_sid(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            text = await store.add_message(inbound("SMjob", job_id=1001))
            own = await store.add_message(inbound("SMown", phone=OTHER))
            return (text, own, await store.find_message_by_sid("SMjob"), await store.find_message_by_sid("SMown"),
                    await store.find_message_by_sid("SMnone"))  # fmt: skip
        finally:
            await store.close()

    text, own, by_job_sid, by_own_sid, unknown = run(scenario())
    assert by_job_sid == text and by_own_sid == own and unknown is None


def test_update_message_by_sid_gives_the_message_before_and_after(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            sent = await store.add_message({**outbound(CUSTOMER, "on our way", job_id=1001), "twilio_sid": "SMout"})
            loose = await store.add_message({**outbound(OTHER, "hello"), "twilio_sid": "SMloose"})
            delivered = await store.update_message_by_sid("SMout", lambda m: {**m, "status": "delivered"})
            untouched = await store.update_message_by_sid("SMloose", lambda m: None)
            unknown = await store.update_message_by_sid("SMnone", lambda m: {**m, "status": "failed"})
            return sent, loose, delivered, untouched, unknown, await store.find_message_by_sid("SMout")
        finally:
            await store.close()

    sent, loose, delivered, untouched, unknown, stored = run(scenario())
    assert delivered is not None and untouched is not None
    before, after = delivered
    assert before == sent and after["id"] == sent["id"] and after["status"] == "delivered"
    assert stored == after
    assert untouched == (loose, loose)  # no change: nothing written
    assert unknown is None


def test_a_dispatchers_texts_in_a_customers_job_are_found_by_the_dispatchers_phone(database_url: str) -> None:
    relay = {"direction": "outbound", "kind": "relay", "job_id": 1001, "phone": DISPATCHER, "from": BUSINESS,
             "to": DISPATCHER, "body": "Dana (1001): late? Reply: R 1001 <text>", "status": "pending"}  # fmt: skip

    async def write():
        store = await open_store(database_url)
        await add_job(store)
        await store.add_message(relay)
        found = await store.phone_messages(DISPATCHER)
        await store.close()
        return found

    async def reopen():
        store = await open_store(database_url)
        found = await store.phone_messages(DISPATCHER)
        customer = await store.phone_messages(CUSTOMER)
        conversation = await store.job_messages(1001)
        await store.close()
        return found, customer, conversation

    before = run(write())
    after, customer, conversation = run(reopen())
    assert [m["body"] for m in before] == [relay["body"]]
    assert after == before
    assert customer and all(m["phone"] == CUSTOMER for m in customer)
    assert [m["phone"] for m in conversation] == [CUSTOMER, DISPATCHER]  # the relay is the job's too


def test_phone_messages_span_the_phones_jobs_and_its_texts_outside_them(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store, now=EARLIER)  # 1001, with its confirmation text
            await add_job(store, phone=OTHER)  # 1002: someone else's
            await add_job(store)  # 1003
            await store.add_message(inbound("SMown", body="who is this?", now=LATER))
            await store.add_message(outbound(OTHER, "not yours", job_id=1002, now=LATER))
            return await store.phone_messages(CUSTOMER), await store.phone_messages(OTHER)
        finally:
            await store.close()

    customer, other = run(scenario())
    assert [(m["job_id"], m["body"]) for m in customer] == [(1001, "hi"), (1003, "hi"), (None, "who is this?")]
    assert [(m["job_id"], m["body"]) for m in other] == [(1002, "hi"), (1002, "not yours")]


def test_messages_with_a_status_are_every_conversations_oldest_first(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            job = (await add_job(store, texts=0)).job
            first = await store.add_message(outbound(CUSTOMER, "in the job", job_id=job["id"], now=EARLIER))
            second = await store.add_message(outbound(DISPATCHER, "a phone's own", now=NOW))
            await store.add_message(outbound(OTHER, "still pending", now=LATER))
            for message in (first, second):
                await store.update_message(message["id"], lambda m: {**m, "status": "unknown"})
            return [first["id"], second["id"]], await store.messages_with_status("unknown")
        finally:
            await store.close()

    ids, found = run(scenario())
    assert [m["id"] for m in found] == ids
    assert {m["status"] for m in found} == {"unknown"}
