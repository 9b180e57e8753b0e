"""A phone's state: opt-outs and the conversation's loop guards."""

from __future__ import annotations

from store import open_store
from store.records import PhoneStateRecord
from tests.store_contract.support import CUSTOMER, OTHER, assert_declared, run

EVERY_KEY = {
    "opted_out": True,
    "opted_out_at": "2024-11-27T18:00:00.000Z",
    "opted_in_at": "2024-11-26T18:00:00.000Z",
    "opt_source": "STOP",
    "last_ack_at": "2024-11-27T17:00:00.000Z",
    "token_misses": {"since": "2024-11-27T18:00:00.000Z", "count": 3},
    "auto_replies": {"since": "2024-11-27T17:30:00.000Z", "count": 12},
    "recent_answers": {"3f9c0a1d2b7e4c55": "2024-11-27T17:59:00.000Z"},
}


def test_a_phone_never_written_has_no_state_and_is_not_opted_out(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            return await store.get_phone(CUSTOMER), await store.is_opted_out(CUSTOMER)
        finally:
            await store.close()

    assert run(scenario()) == ({}, False)


def test_opting_out_and_back_in_is_kept_per_phone_across_a_restart(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        seen = []
        await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True, "opt_source": "STOP"})
        seen.append((await store.is_opted_out(CUSTOMER), await store.is_opted_out(OTHER)))
        await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": False, "opt_source": "START"})
        seen.append((await store.is_opted_out(CUSTOMER), await store.is_opted_out(OTHER)))
        await store.update_phone(OTHER, lambda state: {**state, "opted_out": True})
        await store.close()
        store = await open_store(database_url)
        try:
            seen.append((await store.is_opted_out(CUSTOMER), await store.is_opted_out(OTHER)))
            return seen, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    seen, state = run(scenario())
    assert seen == [(True, False), (False, False), (False, True)]
    assert state == {"opted_out": False, "opt_source": "START"}


def test_update_phone_replaces_the_state_and_returns_it(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            seen_by_change = []

            def drop_ack(state):
                seen_by_change.append(dict(state))
                return {k: v for k, v in state.items() if k != "last_ack_at"}

            first = await store.update_phone(CUSTOMER, lambda state: {**state, **EVERY_KEY})
            second = await store.update_phone(CUSTOMER, drop_ack)
            unchanged = await store.update_phone(CUSTOMER, lambda state: state)
            return first, seen_by_change, second, unchanged, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    first, seen_by_change, second, unchanged, state = run(scenario())
    assert first == seen_by_change[0] == EVERY_KEY
    expected = {k: v for k, v in EVERY_KEY.items() if k != "last_ack_at"}
    assert second == unchanged == state == expected  # replaced, not merged: the dropped key is gone
    assert_declared(first, PhoneStateRecord)


def test_a_returned_state_is_a_copy(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            state = await store.update_phone(CUSTOMER, lambda state: {**state, "last_ack_at": "x"})
            state["opted_out"] = True
            read = await store.get_phone(CUSTOMER)
            read["opted_out"] = True
            return await store.get_phone(CUSTOMER), await store.is_opted_out(CUSTOMER)
        finally:
            await store.close()

    assert run(scenario()) == ({"last_ack_at": "x"}, False)
