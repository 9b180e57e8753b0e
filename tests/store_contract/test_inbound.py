"""record_inbound: a webhook's text, its answers and its sender's state in one write, once per MessageSid."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import NotFound
from store import open_store
from tests.store_contract.support import CUSTOMER, DISPATCHER, add_job, inbound, reply_to, run


def test_inbound_is_stored_once_per_twilio_sid_even_concurrently(database_url: str) -> None:
    calls = []

    def count(state):
        calls.append(state)
        return {**state, "last_ack_at": "2024-11-27T18:00:00.000Z"}

    async def scenario():
        store = await open_store(database_url)
        try:
            text = {**inbound("SMdup"), "kind": "text"}
            results = await asyncio.gather(
                *(
                    store.record_inbound(dict(text), outbound=[reply_to(text)], phone=CUSTOMER, change_phone=count)
                    for _ in range(10)
                )
            )
            return results, await store.phone_messages(CUSTOMER)
        finally:
            await store.close()

    results, stored = run(scenario())
    assert sum(created for _, created in results) == 1
    assert len({messages[0]["id"] for messages, _ in results}) == 1
    assert all(len(messages) == 1 for messages, created in results if not created)  # the first one's text only
    assert len(stored) == 2  # the text and its one answer
    assert len(calls) == 1


def test_an_inbound_text_its_answers_and_the_senders_state_land_in_one_write(database_url: str) -> None:
    relay = {"direction": "outbound", "kind": "relay", "job_id": None, "phone": DISPATCHER, "from": "+15125550123",
             "to": DISPATCHER, "body": "Dana: STATUS", "twilio_sid": None, "status": "pending"}  # fmt: skip
    calls = []

    def count(state):
        calls.append(state)
        return {**state, "auto_replies": {"since": "2026-11-27T18:00:00.000Z", "count": 1}}

    async def scenario():
        store = await open_store(database_url)
        created = await add_job(store)
        text = inbound("SMone", job_id=1001)
        first = await store.record_inbound(text, outbound=[relay, reply_to(text)], phone=CUSTOMER, change_phone=count)
        again = await store.record_inbound(text, outbound=[reply_to(text, "twice")], phone=CUSTOMER,
                                           change_phone=count)  # fmt: skip
        await store.close()
        store = await open_store(database_url)
        try:
            return created.messages[0]["id"], first, again, await store.job_messages(1001), \
                await store.phone_messages(DISPATCHER), await store.get_phone(CUSTOMER), \
                await store.pending_messages()  # fmt: skip
        finally:
            await store.close()

    job_text, (stored, created), (repeat, created_again), conversation, dispatcher_log, state, pending = run(scenario())
    dispatcher_text = stored[1]["id"]
    assert created and [m["body"] for m in stored] == ["STATUS", "Dana: STATUS", "Job 1001 is scheduled."]
    assert len({m["id"] for m in stored} | {job_text}) == 4
    assert "5125550100" not in dispatcher_text  # no phone number in an id
    assert stored[0]["reply_body"] == "Job 1001 is scheduled." and stored[0]["num_media"] == "0"  # internal keys kept
    assert created_again is False and [m["id"] for m in repeat] == [stored[0]["id"]]
    assert repeat[0] == stored[0]  # the first delivery's row, reply_body and all: a repeat is answered alike
    assert len(calls) == 1  # the repeat changed nothing, not even the sender's state
    assert [m["body"] for m in conversation] == ["hi", "STATUS", "Job 1001 is scheduled."]
    assert [m["body"] for m in dispatcher_log] == ["Dana: STATUS"]
    assert state["auto_replies"]["count"] == 1
    assert [m["id"] for m in pending] == [job_text, dispatcher_text]  # the same ids after a restart


def test_messages_for_a_missing_job_leave_the_whole_write_out(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            text = inbound("SMlost")
            with pytest.raises(NotFound):
                await store.record_inbound(text, outbound=[{**reply_to(text), "job_id": 4040}],
                                           phone=CUSTOMER, change_phone=lambda s: {**s, "opted_out": True})  # fmt: skip
            return (await store.find_message_by_sid("SMlost"), await store.is_opted_out(CUSTOMER),
                    await store.get_phone(CUSTOMER), await store.phone_messages(CUSTOMER))  # fmt: skip
        finally:
            await store.close()

    assert run(scenario()) == (None, False, {}, [])


def test_a_sender_state_change_that_changes_nothing_is_fine(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            stored, created = await store.record_inbound(inbound("SMsame"), phone=CUSTOMER, change_phone=lambda s: s)
            plain, plain_created = await store.record_inbound(inbound("SMplain"))
            return stored, created, plain, plain_created, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    stored, created, plain, plain_created, state = run(scenario())
    assert created and plain_created and len(stored) == len(plain) == 1
    assert state == {}
