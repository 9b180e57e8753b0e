"""Pages, idempotency keys and dashboard events: what every backend must do (SPEC "For dashboards")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.errors import ValidationError
from store import JobWrite, KeyUsed, Once, Store, open_store
from store.records import EventRecord, IdempotencyRecord
from tests.store_contract.support import (
    CUSTOMER,
    DISPATCHER,
    OTHER,
    add_job,
    assert_declared,
    inbound,
    moved,
    outbound,
)

NOW = "2026-03-02T15:00:00.000Z"


def run(database_url: str, scenario: Callable[[Store], Awaitable[Any]], *, events: bool = False) -> Any:
    async def main() -> Any:
        store = await open_store(database_url)
        if events:
            store.enable_events()
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def stamped(seconds: int) -> str:
    return f"2026-03-02T15:{seconds // 60:02d}:{seconds % 60:02d}.000Z"


async def every_page(fetch: Callable[[list[Any] | None], Awaitable[Any]]) -> list[dict[str, Any]]:
    rows, after = [], None
    while True:
        page = await fetch(after)
        rows += page.rows
        if page.after is None:
            return rows
        after = page.after


# -- pages ------------------------------------------------------------------------------------------


def test_job_pages_are_newest_first_and_stay_right_while_jobs_are_added(database_url):
    async def scenario(store: Store) -> None:
        first = [(await add_job(store, token=f"T{n}")).job["id"] for n in range(5)]
        page = await store.jobs_page(limit=2)
        assert [job["id"] for job in page.rows] == first[::-1][:2]
        await add_job(store, token="LATE")  # newer than the first page: not in this pass
        rest = await every_page(lambda after: store.jobs_page(after=after or page.after, limit=2))
        assert [job["id"] for job in page.rows + rest] == first[::-1]
        # A position past every job (a forged cursor) starts at the newest, at once.
        assert [job["id"] for job in (await store.jobs_page(after=[10**15], limit=1)).rows] == [first[-1] + 1]

    run(database_url, scenario)


def test_job_pages_filter_by_status_and_phone(database_url):
    async def scenario(store: Store) -> None:
        ids = [(await add_job(store, token=f"T{n}", phone=CUSTOMER if n % 2 else OTHER)).job["id"] for n in range(6)]
        await store.update_job(ids[1], lambda job: JobWrite(moved(job, "en_route"), []))
        assert [j["id"] for j in await every_page(lambda a: store.jobs_page(phone=CUSTOMER, after=a, limit=1))] == [
            ids[5],
            ids[3],
            ids[1],
        ]
        on_way = await every_page(lambda a: store.jobs_page(statuses=["en_route"], after=a, limit=1))
        assert [j["id"] for j in on_way] == [ids[1]]

    run(database_url, scenario)


def test_changed_jobs_come_oldest_change_first_and_a_job_changed_meanwhile_comes_again(database_url):
    async def scenario(store: Store) -> None:
        ids = [(await add_job(store, token=f"T{n}", now=stamped(n))).job["id"] for n in range(4)]
        page = await store.jobs_changed_page(stamped(1), limit=2)
        assert [job["id"] for job in page.rows] == ids[1:3]
        # The first job (before `since`) and one already seen change now: both come at the end.
        for job_id in (ids[0], ids[1]):
            await store.update_job(job_id, lambda job: JobWrite(moved(job, "en_route", now=stamped(30)), []))
        rest = await every_page(lambda a: store.jobs_changed_page(stamped(1), after=a or page.after, limit=2))
        assert [job["id"] for job in rest] == [ids[3], ids[0], ids[1]]
        assert rest[-1]["status"] == "en_route"

    run(database_url, scenario)


def test_message_pages_keep_the_conversation_order_while_texts_are_added(database_url):
    async def scenario(store: Store) -> None:
        job_id = (await add_job(store, texts=3)).job["id"]
        page = await store.job_messages_page(job_id, limit=2)
        await store.add_message(outbound(CUSTOMER, "later", job_id=job_id, now=stamped(90)))
        rest = await every_page(lambda a: store.job_messages_page(job_id, after=a or page.after, limit=2))
        everything = await store.job_messages(job_id)
        assert [m["id"] for m in page.rows + rest] == [m["id"] for m in everything]
        assert everything[-1]["body"] == "later"

    run(database_url, scenario)


def test_a_phones_pages_cross_its_jobs_and_its_own_texts_in_order(database_url):
    async def scenario(store: Store) -> None:
        first = (await add_job(store, token="A")).job["id"]
        second = (await add_job(store, token="B", phone=OTHER)).job["id"]
        for n in range(4):  # a dispatcher's texts, in two customers' conversations and its own
            job_id = (first, second, None, first)[n]
            await store.add_message(outbound(DISPATCHER, f"relay {n}", job_id=job_id, now=stamped(10 + n)))
        pages = await every_page(lambda a: store.phone_messages_page(DISPATCHER, after=a, limit=1))
        assert [m["body"] for m in pages] == ["relay 0", "relay 1", "relay 2", "relay 3"]
        assert [m["id"] for m in pages] == [m["id"] for m in await store.phone_messages(DISPATCHER)]

    run(database_url, scenario)


@pytest.mark.parametrize("after", [["x"], [1, 2], "1001", [True], [None, None], ["2026-01-01", "nope-1"]])
def test_a_position_no_page_gave_is_refused_naming_the_cursor(database_url, after):
    async def scenario(store: Store) -> None:
        job_id = (await add_job(store)).job["id"]
        for fetch in (
            lambda: store.jobs_page(after=after, limit=5),
            lambda: store.jobs_changed_page(NOW, after=after, limit=5),
            lambda: store.job_messages_page(job_id, after=after, limit=5),
            lambda: store.phone_messages_page(CUSTOMER, after=after, limit=5),
        ):
            with pytest.raises(ValidationError) as refused:
                await fetch()
            assert refused.value.field == "cursor"

    run(database_url, scenario)


# -- idempotency keys ----------------------------------------------------------------------------------


def once(key: str, fingerprint: str = "f1", now: str = NOW) -> Once:
    return Once(key, fingerprint, now, lambda written: (201, {"id": written.job["id"]}))


def test_a_key_is_kept_with_its_write_and_a_second_write_with_it_does_nothing(database_url):
    async def scenario(store: Store) -> None:
        written = await add_job_once(store, once("k1"))
        with pytest.raises(KeyUsed) as used:
            await add_job_once(store, once("k1", fingerprint="other"))
        assert used.value.record["body"] == {"id": written.job["id"]}
        assert used.value.record["fingerprint"] == "f1"  # the first request's: the caller compares
        assert len((await store.jobs_page(limit=10)).rows) == 1
        record = await store.find_once("k1", NOW)
        assert record is not None and record["status"] == 201
        assert_declared(record, IdempotencyRecord)
        assert await store.find_once("k1", "2026-03-03T15:00:00.001Z") is None  # 24 h later: forgotten

    run(database_url, scenario)


async def add_job_once(store: Store, key: Once) -> JobWrite:
    from tests.store_contract.support import new_job

    return await store.create_job(new_job(token=f"T{key.fingerprint}"), once=key)


def test_keys_outlive_a_restart(database_url):
    run(database_url, lambda store: add_job_once(store, once("k2")))
    record = run(database_url, lambda store: store.find_once("k2", NOW))
    assert record is not None and record["body"]["id"] == 1001


def test_a_key_used_again_after_it_was_forgotten_answers_with_its_latest_use_after_a_restart(database_url):
    later = "2026-03-04T15:00:00.000Z"
    run(database_url, lambda store: add_job_once(store, once("k4", fingerprint="first")))
    run(database_url, lambda store: add_job_once(store, once("k4", fingerprint="second", now=later)))
    record = run(database_url, lambda store: store.find_once("k4", later))
    assert record is not None and record["fingerprint"] == "second"


def test_a_move_that_changes_nothing_keeps_its_key_too(database_url):
    async def scenario(store: Store) -> None:
        job_id = (await add_job(store)).job["id"]
        same = Once("k3", "f", NOW, lambda written: (200, {"status": written.job["status"]}))
        await store.update_job(job_id, lambda job: JobWrite(job, [], changed=False), once=same)
        with pytest.raises(KeyUsed):
            await store.update_job(job_id, lambda job: JobWrite(moved(job, "arrived"), []), once=same)
        assert (await store.get_job(job_id))["status"] == "scheduled"

    run(database_url, scenario)


def test_ten_racing_writes_with_one_key_make_one_job(database_url):
    async def scenario(store: Store) -> None:
        results = await asyncio.gather(*(add_job_once(store, once("race")) for _ in range(10)), return_exceptions=True)
        assert sum(isinstance(result, JobWrite) for result in results) == 1
        assert sum(isinstance(result, KeyUsed) for result in results) == 9
        assert len((await store.jobs_page(limit=20)).rows) == 1

    run(database_url, scenario)


# -- events -----------------------------------------------------------------------------------------------


async def drain(store: Store, now: str = "2030-01-01T00:00:00.000Z") -> list[dict[str, Any]]:
    """Claim and deliver every due event, oldest first."""
    delivered = []
    while (event := await store.claim_event(now, 60)) is not None:
        delivered.append(await store.complete_event(event["id"], lambda row: {**row, "status": "delivered"}))
    return delivered


def test_writes_queue_their_events_in_the_same_write(database_url):
    async def scenario(store: Store) -> list[dict[str, Any]]:
        job = (await add_job(store)).job
        await store.update_job(job["id"], lambda current: JobWrite(moved(current, "en_route", eta_minutes=20), []))
        await store.update_job(job["id"], lambda current: JobWrite({**current, "notes": "gate"}, []))  # no event
        await store.record_inbound(inbound("SM1", job_id=job["id"]))
        text = await store.add_message(outbound(CUSTOMER, "hi", job_id=job["id"]))
        await store.update_message(text["id"], lambda m: {**m, "status": "sent"})
        await store.update_message(text["id"], lambda m: {**m, "status": "undelivered", "error_code": 30003})
        await store.update_message(text["id"], lambda m: {**m, "status": "failed"})  # already final: no second
        return await drain(store)

    events = run(database_url, scenario, events=True)
    assert [e["type"] for e in events] == ["job.status_changed", "message.received", "message.delivery_failed"]
    moved_event, received, failed = events
    assert moved_event["data"]["previous_status"] == "scheduled" and moved_event["data"]["job"]["status"] == "en_route"
    assert received["data"]["message"]["twilio_sid"] == "SM1"
    assert failed["data"]["message"]["error_code"] == 30003
    for event in events:
        assert_declared(event, EventRecord)
    assert len({e["id"] for e in events}) == 3


def test_without_enable_events_nothing_is_queued(database_url):
    async def scenario(store: Store) -> Any:
        await store.record_inbound(inbound("SM9"))
        return await store.claim_event("2030-01-01T00:00:00.000Z", 60)

    assert run(database_url, scenario) is None


def test_events_go_one_at_a_time_in_order_and_wait_out_their_backoff(database_url):
    later, retry_at = "2030-01-01T00:00:00.000Z", "2030-01-01T00:05:00.000Z"  # events are stamped with the present

    async def scenario(store: Store) -> None:
        for n in range(3):
            await store.record_inbound(inbound(f"SM{n}"))
        first = await store.claim_event(later, 60)
        assert first is not None and first["data"]["message"]["twilio_sid"] == "SM0"
        assert await store.claim_event(later, 60) is None  # the next waits while the first is out
        await store.complete_event(first["id"], lambda row: {**row, "attempts": 1, "next_attempt_at": retry_at})
        assert await store.claim_event(later, 60) is None  # nothing overtakes a failed event
        assert await store.next_event_due() == retry_at
        again = await store.claim_event(retry_at, 60)
        assert again is not None and again["id"] == first["id"]  # the same id on every attempt
        await store.release_event(again["id"])
        assert [e["data"]["message"]["twilio_sid"] for e in await drain(store, retry_at)] == ["SM0", "SM1", "SM2"]

    run(database_url, scenario, events=True)


def test_undelivered_events_outlive_a_restart_and_a_lost_claim(database_url):
    async def queue(store: Store) -> str:
        await store.record_inbound(inbound("SM1"))
        claimed = await store.claim_event("2030-01-01T00:00:00.000Z", 60)
        assert claimed is not None
        return claimed["id"]

    claimed = run(database_url, queue, events=True)
    delivered = run(database_url, drain)  # a restart ends the claim; the event is still there
    assert [e["id"] for e in delivered] == [claimed]
    assert run(database_url, drain) == []


def test_a_renewed_event_claim_holds_past_its_first_lease_until_renewals_stop(database_url):
    start, lease = "2030-01-01T00:00:00.000Z", 20.0

    async def scenario(store: Store) -> list[Any]:
        await store.record_inbound(inbound("SM1"))
        claimed = await store.claim_event(start, lease)
        assert claimed is not None
        return [
            await store.renew_event(claimed["id"], "2030-01-01T00:00:15.000Z", lease),
            await store.claim_event("2030-01-01T00:00:25.000Z", lease),  # its deliverer lives: still out
            await store.next_event_due(),
            (await store.claim_event("2030-01-01T00:00:35.000Z", lease) or {}).get("id") == claimed["id"],
        ]

    assert run(database_url, scenario, events=True) == [True, None, "2030-01-01T00:00:35.000Z", True]
