"""Store.cancel_pending: a text is cancelled or sent, never both (handlers/send_later.py's DELETE).

Times are injected (`now`): claims and leases as in test_queue.py.
"""

from __future__ import annotations

import pytest

from bot.errors import NotFound
from bot.send_later import CANCELLED_REASON, cancelled, held_until
from store import Store
from tests.store_contract.test_queue import ANNA, BEN, LATER, LEASE, at, queue, run, sent


def test_a_pending_text_no_sender_holds_is_cancelled_and_leaves_the_queue(database_url):
    async def scenario(store: Store) -> None:
        text = await queue(store, ANNA, "anna later", 1)
        done = await store.cancel_pending(text["id"], cancelled)
        assert done is not None and (done["status"], done["error_message"]) == ("skipped", CANCELLED_REASON)
        assert (await store.get_message(text["id"]))["status"] == "skipped"
        assert await store.claim_due(LATER, 10, LEASE) == []  # nothing left to send
        assert await store.next_due() is None

    run(database_url, scenario)


def test_a_claimed_text_is_not_cancelled_and_stays_the_senders(database_url):
    async def scenario(store: Store) -> None:
        text = await queue(store, ANNA, "anna", 1)
        (claimed,) = await store.claim_due(LATER, 10, LEASE)
        assert await store.cancel_pending(text["id"], cancelled) is None
        assert (await store.get_message(text["id"]))["status"] == "pending"
        await store.complete(claimed["id"], sent)
        assert await store.cancel_pending(text["id"], cancelled) is None  # sent: too late
        assert (await store.get_message(text["id"]))["status"] == "sent"

    run(database_url, scenario)


def test_a_text_whose_attempt_may_have_reached_twilio_is_not_cancelled(database_url):
    async def scenario(store: Store) -> None:
        text = await queue(store, ANNA, "anna", 1)
        (claimed,) = await store.claim_due(LATER, 10, LEASE)
        await store.update_message(claimed["id"], lambda m: {**m, "send_started_at": LATER})
        await store.release(claimed["id"])  # its sender died; the text waits to be looked up at Twilio
        assert await store.cancel_pending(text["id"], cancelled) is None

    run(database_url, scenario)


def test_a_text_held_for_later_keeps_its_place_and_is_cancelled_before_it_is_due(database_url):
    async def scenario(store: Store) -> None:
        row = await queue(store, BEN, "placeholder", 1)  # to learn the row's shape; sent at once
        later = held_until({k: v for k, v in row.items() if k != "id"} | {"body": "ben later"}, at(7200))
        held = await store.add_message(later)
        assert held["created_at"] == held["send_at"] == at(7200)
        await queue(store, BEN, "ben now", 2)
        claimed = await store.claim_due(at(10), 10, LEASE)
        assert [m["body"] for m in claimed] == ["placeholder"]  # his texts due now go first ...
        await store.complete(claimed[0]["id"], sent)
        assert [m["body"] for m in await store.claim_due(at(10), 10, LEASE)] == ["ben now"]  # ... not behind it
        assert await store.cancel_pending(held["id"], cancelled) is not None
        assert await store.next_due() is not None  # only "ben now"'s lease is left

    run(database_url, scenario)


def test_an_unknown_message_is_not_found(database_url):
    async def scenario(store: Store) -> None:
        with pytest.raises(NotFound):
            await store.cancel_pending("999999", cancelled)

    run(database_url, scenario)
