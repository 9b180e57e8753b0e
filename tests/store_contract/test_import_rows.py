"""A whole store as rows: `phones` lists what lives outside jobs, `import_rows` writes rows as they are.

What `qdn store copy` (store/copy.py) relies on: rows written by `import_rows` read back
exactly as given (but the message id, which the store makes), keep their order, join the
indexes (token, SID, phone, send queue, reminders, opt-outs) and survive a restart; the
next job id is past the highest imported; nothing else happens (no event, no stamped
time); and a row that does not fit in is refused whole, writing nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from store import Store, open_deployment, open_store
from store.records import JobRecord, MessageRecord, PhoneStateRecord
from tests.store_contract.support import (
    BUSINESS,
    CUSTOMER,
    DISPATCHER,
    OTHER,
    add_job,
    assert_declared,
    inbound,
    job_record,
    moved,
    outbound,
    reply_to,
    run,
)

STRANGER = "+15125550111"
T1, T2, T3 = "2024-11-27T18:32:40.123Z", "2024-11-27T18:40:00.000Z", "2024-11-28T09:00:00.000Z"
LATER = "2031-01-01T00:00:00.000Z"


def imported_rows() -> dict[str, Any]:
    """Rows as another store holds them: two jobs (ids 1005 and 1010), their texts, a stranger's, phones."""
    booked = job_record(1005, "TOK-A", now=T1)
    reminded = {**job_record(1010, "TOK-B", phone=OTHER, now=T1), "scheduled_for": "2030-06-15",
                "reminder_due_at": "2030-06-14T22:00:00.000Z", "reminder_for": None}  # fmt: skip
    arrived = moved(booked, "en_route", now=T2, by=DISPATCHER, eta_minutes=20)
    question = {**inbound("SM" + "1" * 32, job_id=1005, body="how long?", now=T2), "kind": "text"}
    sent = {**outbound(CUSTOMER, "On our way", job_id=1005, kind="notification", now=T2, status="delivered"),
            "twilio_sid": "SM" + "2" * 32, "attempts": 1, "send_started_at": None, "updated_at": T3}  # fmt: skip
    relay = outbound(DISPATCHER, "Dana: how long?", job_id=1005, now=T2)  # same created_at: the order given
    started = {**outbound(OTHER, "Booked", job_id=1010, kind="notification", now=T1),
               "send_started_at": T2, "attempts": 1, "next_attempt_at": T3}  # fmt: skip
    stranger = inbound("SM" + "3" * 32, phone=STRANGER, body="who is this?", now=T3)
    return {
        "jobs": [arrived, reminded],
        "messages": [question, sent, relay, started, stranger, reply_to(stranger, "Text HELP for help.")],
        "phones": {CUSTOMER: {"opted_out": True, "opt_source": "STOP", "opted_out_at": T3}, STRANGER: {}},
    }


def without_id(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in message.items() if key != "id"} for message in messages]


async def read_back(store: Store) -> dict[str, Any]:
    return {
        "jobs": await store.list_jobs(),
        "1005": without_id(await store.job_messages(1005)),
        "1010": without_id(await store.job_messages(1010)),
        "stranger": without_id(await store.phone_messages(STRANGER)),
        "customer": without_id(await store.phone_messages(CUSTOMER)),
        "states": {phone: await store.get_phone(phone) for phone in (CUSTOMER, STRANGER, OTHER)},
        "opted out": [await store.is_opted_out(phone) for phone in (CUSTOMER, STRANGER, OTHER)],
        "pending": without_id(await store.pending_messages()),
        "phones": await store.phones(),
        "by token": await store.find_job_by_token("TOK-B"),
        "by sid": without_id([await store.find_message_by_sid("SM" + "2" * 32) or {}]),
        "reminders": [job["id"] for job in await store.due_reminders(LATER, 10)],
    }


async def snapshot(store: Store) -> dict[str, Any]:
    """Everything a store holds that these tests write, read without knowing which jobs exist."""
    jobs = await store.list_jobs()
    phones = (CUSTOMER, STRANGER, OTHER, BUSINESS, DISPATCHER)
    return {
        "jobs": jobs,
        "conversations": [await store.job_messages(job["id"]) for job in jobs],
        "logs": [await store.phone_messages(phone) for phone in phones],
        "states": [await store.get_phone(phone) for phone in phones],
        "pending": await store.pending_messages(),
        "phones": await store.phones(),
    }


def test_phones_lists_phones_with_state_or_texts_outside_jobs_and_no_other(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            empty = await store.phones()
            await add_job(store, phone=CUSTOMER)  # a customer with a job only: not listed
            await store.add_message(inbound("SM" + "9" * 32, phone=STRANGER))
            await store.update_phone(OTHER, lambda state: {**state, "last_ack_at": T1})
            return empty, await store.phones()
        finally:
            await store.close()

    assert run(scenario()) == ([], sorted([OTHER, STRANGER]))


def test_imported_rows_read_back_as_given_in_order_and_after_a_restart(database_url: str) -> None:
    rows = imported_rows()

    async def scenario():
        store = await open_store(database_url)
        store.enable_events()
        await store.import_rows(jobs=rows["jobs"], messages=rows["messages"][:4])
        await store.import_rows(messages=rows["messages"][4:], phones=rows["phones"])
        first = await read_back(store)
        events = await store.next_event_due()
        await store.close()
        store = await open_store(database_url)
        try:
            again = await read_back(store)
            claimed = await store.claim_due(LATER, 10, 60.0)
            next_id = (await add_job(store, token="TOK-NEW")).job["id"]
            return first, again, events, claimed, next_id
        finally:
            await store.close()

    first, again, events, claimed, next_id = run(scenario())
    question, sent, relay, started, stranger, answer = rows["messages"]
    assert first == again
    assert first["jobs"] == [rows["jobs"][1], rows["jobs"][0]]  # whole, newest (highest id) first
    assert first["1005"] == [question, sent, relay]  # every key as given, updated_at included; ties as given
    assert first["1010"] == [started]
    assert first["stranger"] == [stranger, answer]
    assert first["customer"] == [question, sent]
    assert first["states"] == {**rows["phones"], OTHER: {}}
    assert first["opted out"] == [True, False, False]
    assert first["pending"] == [started, relay]  # by time: 1010's booking text was queued first
    assert first["phones"] == [STRANGER, CUSTOMER]
    assert first["by token"] == rows["jobs"][1]
    assert first["by sid"] == [sent]
    assert first["reminders"] == [1010]
    assert events is None, "importing queues no dashboard event"
    assert {message["body"] for message in claimed} == {"Booked", "Dana: how long?"}  # the queue took them up
    assert next_id == 1011
    for job in first["jobs"]:
        assert_declared(job, JobRecord, "job")
    for message in first["1005"] + first["stranger"]:
        assert_declared(message, MessageRecord, "message")
    for state in first["states"].values():
        assert_declared(state, PhoneStateRecord, "phone state")


@pytest.mark.parametrize(
    "clash",
    ["a job id taken", "a token taken", "a token given twice", "a job unknown", "a SID taken", "a SID given twice"],
)
def test_rows_that_do_not_fit_in_are_refused_whole(database_url: str, clash: str) -> None:
    rows = imported_rows()
    jobs, messages, phones = rows["jobs"], rows["messages"], rows["phones"]
    if clash == "a job id taken":
        jobs = [*jobs, job_record(1001, "TOK-C")]
    elif clash == "a token taken":
        jobs = [*jobs, job_record(1020, "TOK-OLD")]
    elif clash == "a token given twice":
        jobs = [*jobs, job_record(1020, "TOK-A")]
    elif clash == "a job unknown":
        messages = [*messages, outbound(CUSTOMER, "lost", job_id=1404)]
    elif clash == "a SID taken":
        messages = [*messages, inbound("SM" + "0" * 32, phone=STRANGER)]
    else:
        messages = [*messages, inbound("SM" + "3" * 32, phone=OTHER)]

    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store, token="TOK-OLD")  # job 1001
            await store.add_message(inbound("SM" + "0" * 32, phone=BUSINESS))
            before = await snapshot(store)
            with pytest.raises(ValueError):
                await store.import_rows(jobs=jobs, messages=messages, phones=phones)
            after = await snapshot(store)
        finally:
            await store.close()
        store = await open_store(database_url)  # nor is any of it found after a restart
        try:
            return before, after, await snapshot(store)
        finally:
            await store.close()

    before, after, restarted = run(scenario())
    assert after == before
    assert restarted == before


def test_a_token_another_business_holds_is_refused(database_url: str) -> None:
    async def scenario():
        deployment = await open_deployment(database_url)
        try:
            await deployment.add_business({"slug": "acme", "name": "Acme", "numbers": ["+13125550100"],
                                           "messaging_service_sid": None, "tokens": []})  # fmt: skip
            await add_job(deployment.store("acme"), token="TOK-A")
            with pytest.raises(ValueError):
                await deployment.default.import_rows(jobs=[job_record(1005, "TOK-A")])
            return await deployment.default.list_jobs()
        finally:
            await deployment.close()

    assert run(scenario()) == []
