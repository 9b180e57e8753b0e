"""record_move: a text that moves a job, the move, the texts it causes and the answer in one write."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import StoreError
from store import Job, JobWrite, Message, open_store
from store.base import JobMove, Turn
from tests.store_contract.support import CUSTOMER, DISPATCHER, add_job, inbound, moved, outbound, reply_to, run


def arrived(sid: str, *, calls: list[Job | None] | None = None) -> JobMove:
    """A dispatcher's ARRIVED 1001 as the handler builds it: the answer says how the move went."""

    def turn(job: Job | None) -> Turn:
        if calls is not None:
            calls.append(job)
        text = inbound(sid, phone=DISPATCHER, body="ARRIVED 1001", job_id=1001 if job else None)
        if job is None:
            return Turn(text, None, [reply_to(text, "No job 1001.")])
        if job["status"] == "arrived":
            return Turn(text, JobWrite(job, [], changed=False), [reply_to(text, "1001 is already arrived.")])
        status_text = outbound(CUSTOMER, "We're here.", job_id=1001, kind="notification")
        return Turn(
            text, JobWrite(moved(job, "arrived", by=DISPATCHER), [status_text]), [reply_to(text, "1001 -> arrived.")]
        )

    return JobMove(1001, turn)


def test_a_move_its_status_text_the_text_and_the_answer_land_together(database_url: str) -> None:
    async def scenario() -> tuple[tuple[list[Message], bool], Job, list[Message]]:
        store = await open_store(database_url)
        try:
            await add_job(store)
            result = await store.record_move("SMmove", arrived("SMmove"))
            return result, await store.get_job(1001), await store.job_messages(1001)
        finally:
            await store.close()

    (stored, first), job, log = run(scenario())
    assert first
    assert [(m["kind"], m["body"]) for m in stored] == [
        ("command", "ARRIVED 1001"),
        ("notification", "We're here."),
        ("reply", "1001 -> arrived."),
    ]
    assert job["status"] == "arrived" and job["history"][-1]["by"] == DISPATCHER
    assert [m["body"] for m in log] == ["hi", "ARRIVED 1001", "We're here.", "1001 -> arrived."]
    assert len({m["id"] for m in stored}) == 3


def test_a_move_is_made_once_per_twilio_sid_even_concurrently(database_url: str) -> None:
    async def scenario() -> tuple[list[tuple[list[Message], bool]], list[Message]]:
        store = await open_store(database_url)
        try:
            await add_job(store)
            results = await asyncio.gather(*(store.record_move("SMtwin", arrived("SMtwin")) for _ in range(5)))
            return list(results), await store.job_messages(1001)
        finally:
            await store.close()

    results, log = run(scenario())
    assert sum(first for _, first in results) == 1
    assert all(messages[0]["body"] == "ARRIVED 1001" for messages, _ in results)
    assert [m["body"] for m in log].count("We're here.") == 1


def test_a_move_on_no_job_stores_the_text_and_its_answer_only(database_url: str) -> None:
    calls: list[Job | None] = []

    async def scenario() -> tuple[list[Message], list[Message]]:
        store = await open_store(database_url)
        try:
            stored, _ = await store.record_move("SMnone", arrived("SMnone", calls=calls))
            return stored, await store.phone_messages(DISPATCHER)
        finally:
            await store.close()

    stored, log = run(scenario())
    assert calls == [None]
    assert [m["body"] for m in stored] == ["ARRIVED 1001", "No job 1001."]
    assert [m["job_id"] for m in log] == [None, None]


def test_a_move_that_changes_nothing_writes_no_job_but_the_text_and_answer(database_url: str) -> None:
    async def scenario() -> tuple[Job, Job, list[Message]]:
        store = await open_store(database_url)
        try:
            await add_job(store)
            await store.record_move("SMfirst", arrived("SMfirst"))
            before = await store.get_job(1001)
            await store.record_move("SMagain", arrived("SMagain"))
            return before, await store.get_job(1001), await store.job_messages(1001)
        finally:
            await store.close()

    before, after, log = run(scenario())
    assert after == before
    assert [m["body"] for m in log][-2:] == ["ARRIVED 1001", "1001 is already arrived."]


def test_a_move_whose_turn_fails_writes_nothing(database_url: str) -> None:
    def broken(job: Job | None) -> Turn:
        raise StoreError("the turn could not be made")

    async def scenario() -> tuple[Job, list[Message], Message | None]:
        store = await open_store(database_url)
        try:
            await add_job(store)
            with pytest.raises(StoreError):
                await store.record_move("SMbroken", JobMove(1001, broken))
            return (
                await store.get_job(1001),
                await store.job_messages(1001),
                await store.find_message_by_sid("SMbroken"),
            )
        finally:
            await store.close()

    job, log, found = run(scenario())
    assert job["status"] == "scheduled" and [m["body"] for m in log] == ["hi"] and found is None


def test_a_move_sets_the_senders_state_in_the_same_write(database_url: str) -> None:
    async def scenario() -> dict:
        store = await open_store(database_url)
        try:
            await add_job(store)
            await store.record_move(
                "SMstate", arrived("SMstate"), phone=DISPATCHER, change_phone=lambda s: {**s, "opted_out": False}
            )
            return await store.get_phone(DISPATCHER)
        finally:
            await store.close()

    assert run(scenario()) == {"opted_out": False}
