"""Watching a business's jobs and texts change (store/roles/changes.py): the inbox's live updates.

A write of a job or message wakes every waiter at once; reads wake nobody; where several
processes share the store (PostgreSQL), a write through one wakes the waiters of another.
"""

from __future__ import annotations

import asyncio

from bot.jobs import new_job, utc_now
from bot.tokens import new_token
from store import JobWrite, Store
from tests.store_contract.test_throttles import stores

FIELDS = {"customer_name": "Dana", "customer_phone": "+15125550199", "service_type": "junk removal"}
LONG = 10.0  # only turns a hang into a failure: every wait below ends at a change


async def _book(store: Store) -> int:
    now = utc_now()
    written = await store.create_job(lambda job_id: JobWrite(new_job(job_id, new_token(), FIELDS, now), []))
    return int(written.job["id"])


def test_a_write_wakes_every_waiter_and_a_read_wakes_none(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> tuple[list[bool], bool, bool]:
        (store,) = instances
        seen = await store.wait_for_change(-1, 0)
        waiters = [asyncio.create_task(store.wait_for_change(seen, LONG)) for _ in range(3)]
        await asyncio.sleep(0.05)
        await store.list_jobs()  # a read: nobody wakes
        await asyncio.sleep(0.05)
        read_woke = any(waiter.done() for waiter in waiters)
        await _book(store)
        counts = await asyncio.gather(*waiters)
        quiet = await store.wait_for_change(counts[0], 0.05) == counts[0]  # nothing since: the timeout ends it
        return [count != seen for count in counts], read_woke, quiet

    assert stores(database_url, scenario) == ([True, True, True], False, True)


def test_a_change_missed_while_busy_is_seen_at_once(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> bool:
        (store,) = instances
        seen = await store.wait_for_change(-1, 0)
        await _book(store)
        await asyncio.sleep(0.3)  # the notification arrives while nobody waits (PostgreSQL)
        return await store.wait_for_change(seen, LONG) != seen

    assert stores(database_url, scenario) is True


def test_a_text_stored_through_another_process_wakes_this_ones_waiters(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> bool:
        here, there = instances[0], instances[-1]
        seen = await here.wait_for_change(-1, 0)
        waiter = asyncio.create_task(here.wait_for_change(seen, LONG))
        await asyncio.sleep(0.05)
        job_id = await _book(there)
        await waiter
        seen = waiter.result()
        waiter = asyncio.create_task(here.wait_for_change(seen, LONG))
        await asyncio.sleep(0.05)
        from bot.messages import outbound_message

        row = outbound_message(
            kind="relay", to=FIELDS["customer_phone"], body="On our way", sender="console", now=utc_now(),
            opted_out=False, job_id=job_id,
        )  # fmt: skip
        await there.add_message(row)
        return await waiter != seen

    assert stores(database_url, scenario, count=2) is True


def test_a_webhooks_text_and_its_status_callback_through_another_process_wake_this_ones_waiters(
    database_url: str,
) -> None:
    """The webhooks' one-statement writes (PostgreSQL: notified after their commit, not in it) wake the
    inboxes, the senders (a text to send) and the event deliverers of every process."""
    from store.base import FactsWanted
    from tests.store_contract.support import CUSTOMER, add_job, inbound, outbound

    async def scenario(instances: list[Store]) -> list[bool]:
        here, there = instances[0], instances[-1]
        there.enable_events()
        job = (await add_job(there)).job
        facts = await there.conversation_facts(CUSTOMER, FactsWanted(sid="SMwake", sender_open_jobs=True))
        await asyncio.sleep(0.3)  # the booking's wake-ups have come: clear them
        await here.wait_for_work(0)
        await here.wait_for_events(0)
        seen = await here.wait_for_change(-1, 0)
        changed = asyncio.create_task(here.wait_for_change(seen, LONG))
        work, events = asyncio.create_task(here.wait_for_work(LONG)), asyncio.create_task(here.wait_for_events(LONG))
        await asyncio.sleep(0.05)
        text = inbound("SMwake", job_id=int(job["id"]))
        await there.record_inbound(text, outbound=[outbound(CUSTOMER, "On our way", job_id=int(job["id"]))],
                                   phone=CUSTOMER, change_phone=lambda state: {**state, "seen": True},
                                   read=facts.read)  # fmt: skip
        woke = [await changed != seen, await work, await events]
        seen = await here.wait_for_change(-1, 0)
        changed = asyncio.create_task(here.wait_for_change(seen, LONG))
        await asyncio.sleep(0.05)
        await there.update_message_by_sid("SMwake", lambda message: {**message, "status": "delivered"})
        return [*woke, await changed != seen]

    assert stores(database_url, scenario, count=2) == [True, True, True, True]
