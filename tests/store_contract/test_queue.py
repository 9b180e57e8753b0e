"""The send queue as claims with leases: what every backend must do for any number of senders.

Times are injected (`now`), so leases run out without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.jobs import iso_utc
from bot.messages import outbound_message
from store import Message, Store, backend_for, open_store

T0 = datetime.fromisoformat("2026-03-02T15:00:00.000Z")
LATER = iso_utc(T0 + timedelta(hours=1))  # every text below is due by then
LEASE = 60.0
ANNA, BEN, CARA = "+15125550101", "+15125550102", "+15125550103"


def at(seconds: float) -> str:
    return iso_utc(T0 + timedelta(seconds=seconds))


async def queue(store: Store, to: str, body: str, created: float) -> Message:
    row = outbound_message(kind="relay", to=to, body=body, sender="console", now=at(created), opted_out=False)
    return await store.add_message(row)


def sent(message: Message) -> Message:
    return {**message, "status": "sent", "send_started_at": None}


def run(database_url: str, scenario: Callable[[Store], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = await open_store(database_url)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def bodies(messages: list[Message]) -> list[str]:
    return [m["body"] for m in messages]


def test_claims_due_texts_oldest_first_one_per_phone(database_url):
    async def scenario(store: Store) -> tuple[list[Message], list[Message]]:
        await queue(store, ANNA, "anna 1", 1)
        await queue(store, BEN, "ben 1", 2)
        await queue(store, ANNA, "anna 2", 3)
        await queue(store, CARA, "cara 1", 4)
        await queue(store, CARA, "cara later", 7200)  # not due at LATER, and not Cara's turn anyway
        return await store.claim_due(at(0), 10, LEASE), await store.claim_due(LATER, 10, LEASE)

    before_any_is_due, claimed = run(database_url, scenario)
    assert before_any_is_due == []
    assert bodies(claimed) == ["anna 1", "ben 1", "cara 1"]
    assert all(m["status"] == "pending" and m["to"] and m["id"] for m in claimed)


def test_a_limit_takes_the_oldest(database_url):
    async def scenario(store: Store) -> list[Message]:
        for n, phone in enumerate((ANNA, BEN, CARA)):
            await queue(store, phone, f"text {n}", n)
        return await store.claim_due(LATER, 2, LEASE)

    assert bodies(run(database_url, scenario)) == ["text 0", "text 1"]


def test_a_phones_next_text_waits_until_its_claimed_text_is_completed_or_released(database_url):
    async def scenario(store: Store) -> list[list[str]]:
        first = await queue(store, ANNA, "first", 1)
        await queue(store, ANNA, "second", 2)
        seen = [bodies(await store.claim_due(LATER, 10, LEASE))]
        seen.append(bodies(await store.claim_due(LATER, 10, LEASE)))  # Anna's turn is taken
        await store.release(first["id"])
        seen.append(bodies(await store.claim_due(LATER, 10, LEASE)))  # released: still her oldest text
        await store.complete(first["id"], sent)
        seen.append(bodies(await store.claim_due(LATER, 10, LEASE)))
        return seen

    assert run(database_url, scenario) == [["first"], [], ["first"], ["second"]]


def test_a_text_waiting_for_a_retry_holds_back_the_phones_later_texts(database_url):
    retry_at = iso_utc(T0 + timedelta(hours=2))

    async def scenario(store: Store) -> tuple[Any, ...]:
        first = await queue(store, ANNA, "first", 1)
        await queue(store, ANNA, "second", 2)
        await store.claim_due(LATER, 10, LEASE)
        row = await store.complete(first["id"], lambda m: {**m, "next_attempt_at": retry_at, "error_code": 500})
        while_waiting = await store.claim_due(LATER, 10, LEASE)
        return row, while_waiting, await store.next_due(), await store.claim_due(retry_at, 10, LEASE)

    row, while_waiting, next_due, at_retry = run(database_url, scenario)
    assert row["status"] == "pending" and row["error_code"] == 500
    assert while_waiting == [] and next_due == retry_at
    assert bodies(at_retry) == ["first"] and at_retry[0]["next_attempt_at"] == retry_at


def test_concurrent_claimers_never_get_the_same_text(database_url):
    phones = [f"+1512555{n:04d}" for n in range(6)]

    async def scenario(store: Store) -> list[list[Message]]:
        for n in range(24):
            await queue(store, phones[n % 6], f"text {n}", n)
        claimers = [store]
        if not backend_for(database_url).one_process:  # another process's store, where there can be one
            claimers.append(await open_store(database_url))
        try:
            return await asyncio.gather(*(claimers[n % len(claimers)].claim_due(LATER, 2, LEASE) for n in range(8)))
        finally:
            for other in claimers[1:]:
                await other.close()

    claimed = [m for batch in run(database_url, scenario) for m in batch]
    assert len(claimed) == 6  # one per phone: each phone's oldest text, to one claimer
    assert sorted(m["to"] for m in claimed) == phones
    assert sorted(bodies(claimed)) == sorted(f"text {n}" for n in range(6))


def test_an_expired_lease_makes_the_text_claimable_again_with_its_send_marker(database_url):
    async def scenario(store: Store) -> list[list[Message]]:
        message = await queue(store, ANNA, "hello", 1)
        await store.claim_due(at(10), 10, LEASE)
        # The sender marks the row before its request, then dies before it learns the outcome.
        await store.update_message(message["id"], lambda m: {**m, "send_started_at": at(11)})
        return [
            await store.claim_due(at(10 + LEASE - 1), 10, LEASE),  # still held
            await store.claim_due(at(10 + LEASE), 10, LEASE),  # the lease ran out
        ]

    still_held, reclaimed = run(database_url, scenario)
    assert still_held == []
    assert bodies(reclaimed) == ["hello"]
    assert reclaimed[0]["send_started_at"] == at(11)  # so the next sender looks it up instead of re-sending


def test_next_due_names_when_a_claimed_text_is_free_again(database_url):
    async def scenario(store: Store) -> tuple[str | None, str | None]:
        empty = await store.next_due()
        await queue(store, ANNA, "hello", 1)
        await store.claim_due(at(10), 10, LEASE)
        return empty, await store.next_due()

    assert run(database_url, scenario) == (None, at(10 + LEASE))


def test_a_completed_text_is_never_claimed_again_even_after_a_restart(database_url):
    async def scenario(store: Store) -> list[Message]:
        message = await queue(store, ANNA, "hello", 1)
        await store.claim_due(LATER, 10, LEASE)
        stored = await store.complete(message["id"], sent)
        assert stored["status"] == "sent" and await store.pending_messages() == []
        far = iso_utc(T0 + timedelta(days=30))
        return await store.claim_due(far, 10, LEASE)

    assert run(database_url, scenario) == []
    assert run(database_url, lambda store: store.claim_due(iso_utc(T0 + timedelta(days=30)), 10, LEASE)) == []


def test_a_restart_resumes_the_queue_and_ends_claims_by_their_lease(database_url):
    async def before(store: Store) -> None:
        await queue(store, ANNA, "claimed when it stopped", 1)
        await queue(store, BEN, "never claimed", 2)
        await store.claim_due(at(10), 1, LEASE)

    run(database_url, before)
    after = run(database_url, lambda store: store.claim_due(at(10 + LEASE), 10, LEASE))
    assert bodies(after) == ["claimed when it stopped", "never claimed"]


def test_a_newly_queued_text_wakes_a_waiting_sender(database_url):
    async def scenario(store: Store) -> tuple[bool, bool, bool]:
        await store.wait_for_work(0)  # forget what opening the store may have signalled
        idle = await store.wait_for_work(0.01)
        waiting = asyncio.create_task(store.wait_for_work(10))
        await asyncio.sleep(0.01)
        await queue(store, ANNA, "hello", 1)
        woken = await asyncio.wait_for(waiting, 5)
        again = await store.wait_for_work(0.01)  # one wake-up per write, not a stuck signal
        return idle, woken, again

    assert run(database_url, scenario) == (False, True, False)


def test_a_phone_with_a_long_queue_and_its_text_out_keeps_no_other_phone_waiting(database_url):
    """Head-of-line: Anna's 150 texts are all due before Ben's and Cara's, and her oldest is out. A claim
    (of 2) must still find Ben's and Cara's behind them -- not give up after the first due texts it reads."""

    async def scenario(store: Store) -> tuple[list[str], list[str], str | None, list[str]]:
        for n in range(150):
            await queue(store, ANNA, f"anna {n}", n)
        await queue(store, BEN, "ben 1", 200)
        await queue(store, CARA, "cara 1", 201)
        first = bodies(await store.claim_due(at(0), 1, 2 * 3600))  # only Anna's oldest is due yet; out for 2 h
        next_due = await store.next_due()  # Ben's text, not Anna's next: hers waits for her first
        later = bodies(await store.claim_due(LATER, 2, LEASE))
        return first, later, next_due, bodies(await store.claim_due(LATER, 10, LEASE))

    first, later, next_due, then = run(database_url, scenario)
    assert first == ["anna 0"]
    assert next_due == at(200)
    assert later == ["ben 1", "cara 1"]
    assert then == []  # Anna's next waits for her first; Ben's and Cara's are out


# -- renewed claims: a claim lives as long as its sender -----------------------------------------


def test_a_renewed_claim_outlives_its_first_lease_and_runs_out_only_when_renewals_stop(database_url):
    async def scenario(store: Store) -> tuple[set[str], list[Message], str | None, list[Message]]:
        message = await queue(store, ANNA, "slow send", 1)
        await store.claim_due(at(10), 10, LEASE)
        renewed = await store.renew_claims([message["id"]], at(10 + LEASE - 5), LEASE)
        past_first_lease = await store.claim_due(at(10 + LEASE), 10, LEASE)  # its sender lives: still held
        next_due = await store.next_due()
        return renewed, past_first_lease, next_due, await store.claim_due(at(10 + 2 * LEASE - 5), 10, LEASE)

    renewed, past_first_lease, next_due, after_renewals_stop = run(database_url, scenario)
    assert renewed and past_first_lease == []
    assert next_due == at(10 + 2 * LEASE - 5)  # when the renewed lease runs out
    assert bodies(after_renewals_stop) == ["slow send"]  # its sender stopped renewing: anyone's again


def test_a_claim_past_its_lease_that_no_one_took_is_renewed_and_a_settled_text_is_not(database_url):
    async def scenario(store: Store) -> tuple[set[str], list[Message], set[str]]:
        late = await queue(store, ANNA, "outcome waits for the store", 1)
        done = await queue(store, BEN, "sent", 2)
        await store.claim_due(at(10), 10, LEASE)
        await store.complete(done["id"], sent)
        # The store was away longer than the lease; nobody claimed meanwhile: the claim is still ours.
        renewed = await store.renew_claims([late["id"], done["id"]], at(10 + LEASE + 30), LEASE)
        return renewed, await store.claim_due(at(10 + LEASE + 31), 10, LEASE), {late["id"]}

    renewed, while_renewed, expected = run(database_url, scenario)
    assert renewed == expected and while_renewed == []


def test_a_claim_taken_over_after_its_lease_is_not_renewed_nor_freed_by_the_sender_that_lost_it(database_url):
    if backend_for(database_url).one_process:
        return  # one process, one sender: no other claimer can take it over
    dead, alive = {}, {}

    async def scenario(store: Store) -> tuple[set[str], list[Message], list[Message]]:
        message = await queue(store, ANNA, "taken over", 1)
        await queue(store, ANNA, "next to anna", 2)
        other = await open_store(database_url)
        try:
            dead["claim"] = await store.claim_due(at(10), 10, LEASE)
            alive["claim"] = await other.claim_due(at(10 + LEASE + 1), 10, LEASE)  # the first sender hung
            renewed = await store.renew_claims([message["id"]], at(10 + LEASE + 2), LEASE)
            await store.release(message["id"])  # the slow sender gives up: the new holder keeps it
            await store.complete(message["id"], lambda m: {**m, "next_attempt_at": at(10 + LEASE + 3)})
            return renewed, await store.claim_due(at(10 + LEASE + 4), 10, LEASE), alive["claim"]
        finally:
            await other.close()

    renewed, meanwhile, taken = run(database_url, scenario)
    assert bodies(taken) == ["taken over"] and renewed == set()
    assert meanwhile == []  # still the other sender's: Anna's next text waits behind it, in order
