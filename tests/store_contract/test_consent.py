"""Consent records: the phones with a consent history, a page at a time, and many phones' states at once."""

from __future__ import annotations

import json

import pytest

from bot import consent, undeliverable
from bot.errors import ValidationError
from bot.messages import opted_in, opted_out
from store import open_store
from store.records import PhoneStateRecord
from store.roles.consent import consent_order
from tests.store_contract.support import CUSTOMER, OTHER, assert_declared, run

NOW = "2026-12-07T15:00:00.000Z"
PHONES = [f"+1512555{n:04d}" for n in range(100, 107)]


def test_a_phones_consent_history_is_kept_in_its_state_with_every_opt_out_and_opt_in(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await store.update_phone(
                CUSTOMER, lambda s: consent.consent_given(s, NOW, "verbal", by="token:api", job_id=1001)
            )
            await store.update_phone(CUSTOMER, lambda s: opted_out(s, "2026-12-07T16:00:00.000Z", "STOP"))
            await store.update_phone(CUSTOMER, lambda s: opted_in(s, "2026-12-07T17:00:00.000Z", "START"))
        finally:
            await store.close()
        reopened = await open_store(database_url)  # a restart, or another process
        try:
            return await reopened.get_phone(CUSTOMER)
        finally:
            await reopened.close()

    state = run(scenario())
    assert_declared(state, PhoneStateRecord, "phone state")
    assert [(e["type"], e["source"]) for e in state["consent"]] == [
        ("consent", "verbal"), ("opt_out", "STOP"), ("opt_in", "START")
    ]  # fmt: skip
    assert state["consent"][0] == {"at": NOW, "type": "consent", "source": "verbal", "by": "token:api", "job_id": 1001}
    assert consent.summary(CUSTOMER, state)["state"] == "opted_in"
    assert consent.summary(CUSTOMER, state)["since"] == "2026-12-07T17:00:00.000Z"


def test_consent_pages_list_each_phone_with_a_history_once_and_no_phone_in_a_position(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            for phone in PHONES:
                await store.update_phone(phone, lambda s: consent.consent_given(s, NOW, "booking"))
            await store.update_phone(OTHER, lambda s: {**s, "last_ack_at": NOW})  # a state, but no history
            pages, after = [], None
            while True:
                page = await store.consent_page(after=after, limit=3)
                pages.append(page)
                if page.after is None:
                    return pages
                after = page.after
        finally:
            await store.close()

    pages = run(scenario())
    assert [len(page.rows) for page in pages] == [3, 3, 1]
    listed = [row["phone"] for page in pages for row in page.rows]
    assert listed == sorted(PHONES, key=consent_order)  # the same order on every backend
    assert all(row["state"]["consent"][0]["source"] == "booking" for page in pages for row in page.rows)
    for page in pages:
        assert not any(phone[1:] in json.dumps(page.after) for phone in PHONES)


def test_a_consent_page_refuses_a_position_it_did_not_give(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            with pytest.raises(ValidationError) as refused:
                await store.consent_page(after=[17], limit=3)
            return refused.value.field
        finally:
            await store.close()

    assert run(scenario()) == "cursor"


def test_phone_states_reads_many_phones_at_once_leaving_out_those_with_none(database_url: str) -> None:
    marked = {
        "reason": "landline",
        "code": 30006,
        "since": NOW,
        "message_id": "m1",
        "body": "Hi",
        "notified_jobs": [1001],
    }

    async def scenario():
        store = await open_store(database_url)
        try:
            await store.update_phone(CUSTOMER, lambda s: {**s, undeliverable.MARK: marked})
            return await store.phone_states([CUSTOMER, OTHER, CUSTOMER]), await store.phone_states([])
        finally:
            await store.close()

    found, none = run(scenario())
    assert found == {CUSTOMER: {"undeliverable": marked}} and none == {}
    assert_declared(found[CUSTOMER], PhoneStateRecord, "phone state")
    assert undeliverable.phone_status(found[CUSTOMER]) == {"can_text": False, "reason": "landline", "since": NOW}
