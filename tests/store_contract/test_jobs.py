"""Jobs: ids, tokens, lists, atomic updates with their texts, restarts."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from bot.errors import NotFound
from store import JobWrite, open_store
from store.records import JobRecord, MessageRecord
from tests.store_contract.support import (
    CUSTOMER,
    OTHER,
    add_job,
    assert_declared,
    job_record,
    moved,
    new_job,
    outbound,
    run,
)

LATER = "2024-11-27T18:40:00.000Z"


def test_a_job_and_its_texts_are_stored_in_one_write(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            created = await add_job(store, token="AAAA", texts=2)
            return created, await store.get_job(created.job["id"]), await store.job_messages(created.job["id"])
        finally:
            await store.close()

    created, job, conversation = run(scenario())
    assert job == created.job == job_record(1001, "AAAA")
    assert_declared(job, JobRecord)
    assert len(created.messages) == 2 and all(isinstance(m["id"], str) and m["id"] for m in created.messages)
    assert len({m["id"] for m in created.messages}) == 2
    assert conversation == created.messages
    for message in conversation:
        assert_declared(message, MessageRecord)
        assert message["job_id"] == 1001 and message["status"] == "pending"


def test_job_ids_count_up_from_1001_and_everything_survives_a_restart(database_url: str) -> None:
    text = {"direction": "inbound", "kind": "text", "job_id": None, "phone": OTHER, "from": OTHER,
            "to": "+15125550123", "body": "hello?", "twilio_sid": "SM1", "status": "received"}  # fmt: skip

    async def first():
        store = await open_store(database_url)
        created = await add_job(store, token="AAAA")
        after = await store.update_job(1001, lambda job: JobWrite(moved(job, "en_route", eta_minutes=9)))
        stored = await store.add_message(text)
        await store.update_phone(OTHER, lambda state: {**state, "opted_out": True})
        await store.close()
        return created.messages[0]["id"], after.job, stored

    async def second():
        store = await open_store(database_url)
        try:
            return (
                await store.get_job(1001),
                await store.find_job_by_token("AAAA"),
                await store.find_message_by_sid("SM1"),
                await store.is_opted_out(OTHER),
                [m["id"] for m in await store.pending_messages()],
                (await add_job(store)).job["id"],
            )
        finally:
            await store.close()

    first_text, moved_job, stored = run(first())
    job, by_token, found, opted_out, pending, next_id = run(second())
    assert job == moved_job == by_token
    assert job["status"] == "en_route" and job["eta_minutes"] == 9
    assert found == stored and found["body"] == "hello?"
    assert "7375550142" not in found["id"]  # ids appear in logs and answers: never a phone number
    assert opted_out is True
    assert pending == [first_text]
    assert next_id == 1002


def test_create_job_builds_again_when_the_token_is_taken(database_url: str) -> None:
    tokens = iter(["AAAA", "BBBB"])
    calls: list[int] = []

    def build(job_id: int) -> JobWrite:
        calls.append(job_id)
        return JobWrite(job_record(job_id, next(tokens)))

    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store, token="AAAA")
            created = await store.create_job(build)
            return created, await store.find_job_by_token("AAAA"), await store.find_job_by_token("BBBB")
        finally:
            await store.close()

    created, first, second = run(scenario())
    assert calls == [1002, 1002]  # the same id, a new token
    assert first is not None and first["id"] == 1001
    assert second == created.job and created.job["token"] == "BBBB"


def test_unknown_jobs_are_not_found(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            for unknown in (4040, 0, -1):
                with pytest.raises(NotFound):
                    await store.get_job(unknown)
                with pytest.raises(NotFound):
                    await store.update_job(unknown, lambda job: JobWrite(job))
                with pytest.raises(NotFound):
                    await store.job_messages(unknown)
            assert await store.find_job_by_token("NOPE") is None
            assert await store.find_job_by_token("") is None
            assert [job["id"] for job in await store.list_jobs()] == [1001]
        finally:
            await store.close()

    run(scenario())


def test_list_jobs_newest_first_by_status_and_customer_phone(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            for customer in (CUSTOMER, OTHER, CUSTOMER, OTHER):
                await add_job(store, phone=customer)
            await store.update_job(1002, lambda job: JobWrite(moved(job, "en_route")))
            await store.update_job(1003, lambda job: JobWrite(moved(job, "cancelled")))
            ids = {}
            queries: list[tuple[str, Iterable[str] | None, str | None]] = [
                ("all", None, None),
                ("open", ("scheduled", "en_route", "arrived"), None),
                ("en route", ["en_route"], None),
                ("customer", None, CUSTOMER),
                ("customer open", {"scheduled", "en_route"}, CUSTOMER),
                ("nobody", None, "+15125550000"),
                ("no such status", ["complete"], None),
            ]
            for label, statuses, phone in queries:
                ids[label] = [job["id"] for job in await store.list_jobs(statuses=statuses, phone=phone)]
            # The customer's phone changes (PATCH): the job moves to the new phone's list.
            await store.update_job(1003, lambda job: JobWrite({**job, "customer_phone": OTHER}))
            ids["customer after"] = [job["id"] for job in await store.list_jobs(phone=CUSTOMER)]
            ids["other after"] = [job["id"] for job in await store.list_jobs(phone=OTHER)]
            return ids
        finally:
            await store.close()

    ids = run(scenario())
    assert ids == {
        "all": [1004, 1003, 1002, 1001],
        "open": [1004, 1002, 1001],
        "en route": [1002],
        "customer": [1003, 1001],
        "customer open": [1001],
        "nobody": [],
        "no such status": [],
        "customer after": [1001],
        "other after": [1004, 1003, 1002],
    }


def test_update_job_stores_the_job_and_its_texts_together(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)

            def change(job):
                after = moved(job, "en_route", now=LATER, eta_minutes=20)
                return JobWrite(after, [outbound(CUSTOMER, "on the way", job_id=1001, kind="notification", now=LATER)])

            result = await store.update_job(1001, change)
            return result, await store.get_job(1001), await store.job_messages(1001)
        finally:
            await store.close()

    result, job, conversation = run(scenario())
    assert result.changed and job == result.job and job["status"] == "en_route" and job["updated_at"] == LATER
    assert [m["body"] for m in conversation] == ["hi", "on the way"]
    assert conversation[-1] == result.messages[0] and conversation[-1]["created_at"] == LATER


def test_an_update_that_changes_nothing_writes_nothing(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            created = await add_job(store)
            result = await store.update_job(1001, lambda job: JobWrite({**job, "notes": "not kept"}, changed=False))
            return created.job, result, await store.get_job(1001), await store.job_messages(1001)
        finally:
            await store.close()

    before, result, job, conversation = run(scenario())
    assert result.changed is False and result.messages == []
    assert job == before and job["notes"] is None
    assert len(conversation) == 1


def test_texts_written_with_an_unchanged_job_are_still_stored(database_url: str) -> None:
    """`changed=False` skips the job, not the texts: a write that adds messages stores them."""

    async def scenario():
        store = await open_store(database_url)
        try:
            await store.create_job(new_job(texts=0))
            result = await store.update_job(
                1001, lambda job: JobWrite(job, [outbound(CUSTOMER, "again", job_id=1001)], changed=False)
            )
            return result, await store.job_messages(1001)
        finally:
            await store.close()

    result, conversation = run(scenario())
    assert [m["body"] for m in conversation] == ["again"]
    assert conversation == result.messages
