"""conversation_facts: everything an inbound text's decision reads, in one call -- and the write that follows it.

The facts are what the separate lookups (find_message_by_sid, get_phone, list_jobs, get_job,
find_job_by_token, is_opted_out) find, on every backend. A record_inbound after them (the
webhook's order) still writes all or nothing, once per SID, and loses no concurrent change
to the sender's state: PostgreSQL writes it in one statement guarded by the state it read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.errors import NotFound
from bot.jobs import OPEN_STATUSES
from store import Job, JobWrite, Store, open_store
from store.base import ConversationFacts, FactsWanted
from tests.store_contract.conftest import URL_MAKERS
from tests.store_contract.support import (
    CUSTOMER,
    DISPATCHER,
    OTHER,
    add_job,
    inbound,
    moved,
    outbound,
    reply_to,
    run,
)

STRANGER = "+15125550111"
ASKED_AT = "2024-11-27T18:00:00.000Z"
EVERYTHING = FactsWanted(sender_open_jobs=True, open_jobs=True, token="T1002", target_opt_out=True)


async def _scenery(store: Store) -> None:
    """Jobs 1001-1004 (1003 done; 1004 another customer's), OTHER opted out, a stored text SMseen;
    CUSTOMER asked to confirm 1001 at ASKED_AT and 1003 a day before."""
    await add_job(store)  # 1001, CUSTOMER's, scheduled
    await add_job(store)  # 1002
    done = (await add_job(store)).job  # 1003
    await store.update_job(done["id"], lambda job: JobWrite(moved(moved(job, "en_route"), "done"), []))
    await store.update_job(1001, _asked_to_confirm(ASKED_AT))  # the reminders sent
    await store.update_job(done["id"], _asked_to_confirm("2024-11-26T18:00:00.000Z"))
    await add_job(store, phone=OTHER)  # 1004
    await store.update_phone(CUSTOMER, lambda state: {**state, "last_ack_at": "2024-11-27T18:00:00.000Z"})
    await store.update_phone(OTHER, lambda state: {**state, "opted_out": True, "opt_source": "STOP"})
    await store.record_inbound(inbound("SMseen"), outbound=[reply_to(inbound("SMseen"))])


def _asked_to_confirm(at: str) -> Callable[[Job], JobWrite]:
    return lambda job: JobWrite({**job, "confirm_asked_at": at}, [])


async def _one_by_one(store: Store, sender: str, wanted: FactsWanted) -> ConversationFacts:
    """What the separate lookups find (the handler's reads before conversation_facts)."""
    already = await store.find_message_by_sid(wanted.sid) if wanted.sid else None
    if already is not None:
        return ConversationFacts(already=already)
    job = None
    if wanted.job_id is not None:
        try:
            job = await store.get_job(wanted.job_id)
        except NotFound:
            job = None
    target = job["customer_phone"] if job else wanted.target_phone
    since = wanted.asked_since
    mine = await store.list_jobs(phone=sender) if since is not None else []
    return ConversationFacts(
        phone_state=await store.get_phone(sender),
        sender_open_jobs=await store.list_jobs(statuses=OPEN_STATUSES, phone=sender) if wanted.sender_open_jobs else [],
        open_jobs=await store.list_jobs(statuses=OPEN_STATUSES) if wanted.open_jobs else [],
        job=job,
        token_job=await store.find_job_by_token(wanted.token) if wanted.token else None,
        target_opted_out=bool(wanted.target_opt_out and target and await store.is_opted_out(target)),
        asked_jobs=[job for job in mine if since is not None and (job.get("confirm_asked_at") or "") >= since],
    )


ASKED = [
    (CUSTOMER, FactsWanted()),
    (CUSTOMER, FactsWanted(sid="SMnew", sender_open_jobs=True)),
    (CUSTOMER, FactsWanted(sid="SMseen", sender_open_jobs=True, token="T1001")),  # a repeat: only the message
    (CUSTOMER, FactsWanted(sender_open_jobs=True, token="T1002")),
    (STRANGER, FactsWanted(sender_open_jobs=True, token="NOSUCH")),
    (DISPATCHER, FactsWanted(open_jobs=True)),
    (DISPATCHER, FactsWanted(job_id=1004, target_opt_out=True)),  # R 1004: OTHER's job, opted out
    (DISPATCHER, FactsWanted(job_id=1001, target_opt_out=True, target_phone=OTHER)),  # the job's phone wins
    (DISPATCHER, FactsWanted(job_id=4040, target_opt_out=True, target_phone=OTHER)),  # no job: the phone given
    (DISPATCHER, FactsWanted(target_opt_out=True, target_phone=CUSTOMER)),
    (DISPATCHER, FactsWanted(job_id=1003)),
    (DISPATCHER, FactsWanted(job_id=1004)),  # a job alone: its phone's opt-out is not asked for
    (OTHER, EVERYTHING),
    # A customer's answer to a reminder: the sender's jobs asked about since then, of any status, newest first.
    (CUSTOMER, FactsWanted(sid="SMyes", sender_open_jobs=True, asked_since="2024-11-26T00:00:00.000Z")),
    (CUSTOMER, FactsWanted(asked_since=ASKED_AT)),  # asked at that very moment: counts
    (CUSTOMER, FactsWanted(asked_since="2024-11-28T00:00:00.000Z")),  # none asked since
    (OTHER, FactsWanted(asked_since="2024-11-26T00:00:00.000Z")),  # CUSTOMER's reminders are not OTHER's
    (CUSTOMER, FactsWanted(sid="SMseen", asked_since="2024-11-26T00:00:00.000Z")),  # a repeat: nothing looked up
]


def test_the_facts_are_what_the_separate_lookups_find(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await _scenery(store)
            return [(await store.conversation_facts(s, w), await _one_by_one(store, s, w)) for s, w in ASKED]
        finally:
            await store.close()

    found = run(scenario())
    for (sender, wanted), (facts, expected) in zip(ASKED, found, strict=True):
        assert facts == expected, (sender, wanted)
    by_case = dict(zip(range(len(ASKED)), (facts for facts, _ in found), strict=True))
    assert by_case[2].already is not None and by_case[2].already["twilio_sid"] == "SMseen"
    assert by_case[2].phone_state == {} and by_case[2].sender_open_jobs == []  # a repeat: nothing else looked up
    assert [job["id"] for job in by_case[1].sender_open_jobs] == [1002, 1001]  # open ones, newest first
    assert by_case[1].phone_state == {"last_ack_at": "2024-11-27T18:00:00.000Z"}
    assert by_case[3].token_job is not None and by_case[3].token_job["id"] == 1002
    assert [job["id"] for job in by_case[5].open_jobs] == [1004, 1002, 1001]
    assert by_case[6].job is not None and by_case[6].target_opted_out
    assert by_case[7].target_opted_out is False and by_case[8].target_opted_out is True
    assert by_case[10].job is not None and by_case[10].job["status"] == "done"
    assert by_case[11].target_opted_out is False and by_case[12].phone_state["opted_out"] is True
    assert [job["id"] for job in by_case[13].asked_jobs] == [1003, 1001]
    assert [job["id"] for job in by_case[13].sender_open_jobs] == [1002, 1001]
    assert [job["id"] for job in by_case[14].asked_jobs] == [1001]
    assert by_case[15].asked_jobs == [] and by_case[16].asked_jobs == []
    assert by_case[17].already is not None and by_case[17].asked_jobs == []


def test_lookups_no_store_could_answer_find_nothing_and_raise_nothing(database_url: str) -> None:
    odd = FactsWanted(sid="SM\x00", sender_open_jobs=True, open_jobs=True, job_id=2**70, token="T\x00",
                      target_opt_out=True, target_phone="+1\x00")  # fmt: skip

    async def scenario():
        store = await open_store(database_url)
        try:
            await _scenery(store)
            return await store.conversation_facts(STRANGER, odd)
        finally:
            await store.close()

    nobody = run(scenario())
    assert nobody == ConversationFacts(open_jobs=nobody.open_jobs)
    assert [job["id"] for job in nobody.open_jobs] == [1004, 1002, 1001]


def test_both_backends_give_the_same_facts(tmp_path: Any) -> None:
    async def facts_of(url: str) -> list[ConversationFacts]:
        store = await open_store(url)
        try:
            await _scenery(store)
            return [await store.conversation_facts(sender, wanted) for sender, wanted in ASKED]
        finally:
            await store.close()

    found = {}
    for backend, make_url in URL_MAKERS.items():
        with make_url("both_backends_give_the_same_facts", tmp_path / backend) as url:
            found[backend] = run(facts_of(url))
    for facts in found.values():  # message ids are each backend's own; the rest is the same
        for each in facts:
            if each.already is not None:
                assert each.already.pop("id") and each.already.pop("updated_at")  # stamped when written
    assert found["tinydb"] == found["postgresql"]


def _count(state: dict[str, Any]) -> dict[str, Any]:
    seen = state.get("auto_replies") or {"since": "2024-11-27T18:00:00.000Z", "count": 0}
    return {**state, "auto_replies": {**seen, "count": seen["count"] + 1}}


async def _webhook(store: Store, sid: str, change: Any = _count) -> tuple[list[dict[str, Any]], bool]:
    """What handlers/twilio/receive.py does with the store: the facts, then one write on the state they held."""
    facts = await store.conversation_facts(CUSTOMER, FactsWanted(sid=sid, sender_open_jobs=True))
    if facts.already is not None:
        return [facts.already], False
    text = inbound(sid, job_id=1001)
    return await store.record_inbound(text, outbound=[reply_to(text)], phone=CUSTOMER, change_phone=change,
                                      read=facts.read)  # fmt: skip


def test_texts_racing_from_one_phone_each_change_its_state_none_lost(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            results = await asyncio.gather(*(_webhook(store, f"SMrace{n}") for n in range(8)))
            return results, await store.get_phone(CUSTOMER), await store.job_messages(1001)
        finally:
            await store.close()

    results, state, conversation = run(scenario())
    assert all(created for _, created in results)
    assert state["auto_replies"]["count"] == 8  # each write on the state as it was, none over another's
    assert len(conversation) == 1 + 8 * 2


def test_one_sid_racing_after_its_facts_is_stored_and_counted_once(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            results = await asyncio.gather(*(_webhook(store, "SMtwin") for _ in range(8)))
            return results, await store.get_phone(CUSTOMER), await store.job_messages(1001)
        finally:
            await store.close()

    results, state, conversation = run(scenario())
    assert sum(created for _, created in results) == 1
    assert len({messages[0]["id"] for messages, _ in results}) == 1
    assert state["auto_replies"]["count"] == 1  # applied once, whichever twin computed it
    assert [m["body"] for m in conversation] == ["hi", "STATUS", "Job 1001 is scheduled."]


@pytest.mark.parametrize("before", [{}, {"last_ack_at": "2024-11-27T17:00:00.000Z"}], ids=["no state", "a state"])
def test_a_state_changed_between_the_facts_and_the_write_is_kept(database_url: str, before: dict[str, Any]) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            if before:
                await store.update_phone(CUSTOMER, lambda state: {**state, **before})
            facts = await store.conversation_facts(CUSTOMER, FactsWanted(sid="SMlate", sender_open_jobs=True))
            # Another write meanwhile (the opt-out of a status callback, say): PostgreSQL's state read is stale now.
            await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True, "opt_source": "STOP"})
            text = inbound("SMlate", job_id=1001)
            written = await store.record_inbound(text, phone=CUSTOMER, change_phone=_count, read=facts.read)
            return facts, written, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    facts, (_, created), state = run(scenario())
    assert facts.phone_state == before and created
    assert state == {**before, "opted_out": True, "opt_source": "STOP",
                     "auto_replies": {"since": "2024-11-27T18:00:00.000Z", "count": 1}}  # fmt: skip


def test_a_write_after_the_facts_naming_a_missing_job_leaves_everything_out(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            facts = await store.conversation_facts(CUSTOMER, FactsWanted(sid="SMlost", sender_open_jobs=True))
            text = inbound("SMlost")
            with pytest.raises(NotFound):
                await store.record_inbound(text, outbound=[{**reply_to(text), "job_id": 4040}], phone=CUSTOMER,
                                           change_phone=lambda s: {**s, "opted_out": True},
                                           read=facts.read)  # fmt: skip
            lost = (await store.find_message_by_sid("SMlost"), await store.get_phone(CUSTOMER))
            facts = await store.conversation_facts(CUSTOMER, FactsWanted(sid="SMlost"))
            again = await store.record_inbound(text, outbound=[reply_to(text)], phone=CUSTOMER, change_phone=_count,
                                               read=facts.read)  # fmt: skip
            return lost, again
        finally:
            await store.close()

    lost, (stored, created) = run(scenario())
    assert lost == (None, {})
    assert created and [m["body"] for m in stored] == ["STATUS", "Job 1001 is scheduled."]  # the SID was not taken


def test_the_events_of_a_write_after_the_facts_name_the_messages_stored(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        store.enable_events()
        try:
            await add_job(store)
            texts = [inbound(f"SMev{n}", job_id=1001) for n in range(2)]
            stored = []
            for text in texts:
                await store.conversation_facts(CUSTOMER, FactsWanted(sid=text["twilio_sid"]))
                relay = outbound(DISPATCHER, "Dana: STATUS", job_id=1001)
                written, _ = await store.record_inbound(text, outbound=[relay], phone=CUSTOMER, change_phone=_count)
                stored += written
            events = []
            while (event := await store.claim_event("2030-01-01T00:00:00.000Z", 60)) is not None:
                events.append(event)
                await store.complete_event(event["id"], lambda row: {**row, "status": "delivered"})
            return stored, events
        finally:
            await store.close()

    stored, events = run(scenario())
    received = [event for event in events if event["type"] == "message.received"]
    inbound_ids = [m["id"] for m in stored if m["direction"] == "inbound"]
    assert [event["data"]["message"]["id"] for event in received] == inbound_ids
    assert [event["data"]["message"]["twilio_sid"] for event in received] == ["SMev0", "SMev1"]
    assert received[0]["data"]["message"]["body"] == "STATUS"


def test_reports_racing_on_one_text_each_change_it_none_lost(database_url: str) -> None:
    def one_more(message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "lookups": (message.get("lookups") or 0) + 1}

    async def scenario():
        store = await open_store(database_url)
        try:
            await store.add_message({**outbound(CUSTOMER, "on our way"), "twilio_sid": "SMsent", "status": "sent"})
            await asyncio.gather(*(store.update_message_by_sid("SMsent", one_more) for _ in range(8)))
            return await store.find_message_by_sid("SMsent")
        finally:
            await store.close()

    assert run(scenario())["lookups"] == 8
