"""0011_conversation_list.sql over a database that already holds jobs and texts: the inbox's list
then reads as if they had come after it -- the same customers listed, the same waiting ones, each
row's latest text that is not automatic (store/roles/conversations.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from store import open_store
from store.postgres import migrate as migrations_module
from tests.pg import fresh_database, require_postgres
from tests.store_contract.test_conversations import DANA, KIM, LEE, book, history, text
from tests.store_contract.test_throttles import at

WHOLE_LIST = 50


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    require_postgres()
    with fresh_database(request.node.originalname) as database_url:
        yield database_url


def test_the_list_of_a_database_migrated_with_texts_in_it_is_the_list_of_one_that_had_them_after(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [migration for migration in migrations_module.migrations() if migration.version < 11]

    async def scenario() -> Any:
        with monkeypatch.context() as patch:  # the release before 0011
            patch.setattr(migrations_module, "migrations", lambda: before)
            store = await open_store(url)
            try:
                await history(store)  # and a dispatcher's text: the dispatcher has no job
                await book(store, "+15125550166")  # a customer who has not texted: not listed
            finally:
                await store.close()
        store = await open_store(url)  # migrates
        try:
            rows, waiting = await store.conversations_page(offset=0, limit=WHOLE_LIST)
            return [(row["phone"], row["waiting_since"], row["said"], row["said_at"]) for row in rows], waiting
        finally:
            await store.close()

    assert asyncio.run(scenario()) == (
        [
            (DANA, at(10), "text at 10", at(10)),  # its automatic acknowledgement at 11 is not what it said
            (KIM, None, "command at 40", at(40)),
            (LEE, None, "relay at 30", at(30)),
        ],
        1,
    )


# The conversation rows recomputed from the texts alone (0010's and 0011's own backfill).
_FROM_TEXTS = """SELECT m.phone, max(m.created_at) AS last_at,
    max(m.created_at) FILTER (WHERE m.direction = 'inbound' AND qdn_message_kind(m.doc) = 'text') AS last_text_at,
    max(m.created_at) FILTER (WHERE m.direction = 'outbound' AND qdn_message_kind(m.doc) IN ('relay', 'notification'))
        AS answered_at,
    (array_agg(m.created_at ORDER BY m.created_at DESC, m.seq DESC)
        FILTER (WHERE COALESCE(qdn_message_kind(m.doc) NOT IN ('reply', 'system'), true)))[1] AS said_at,
    (array_agg(m.seq ORDER BY m.created_at DESC, m.seq DESC)
        FILTER (WHERE COALESCE(qdn_message_kind(m.doc) NOT IN ('reply', 'system'), true)))[1] AS said_seq
FROM messages m GROUP BY m.phone ORDER BY m.phone"""
_KEPT = """SELECT phone, last_at, last_text_at, answered_at, said_at, said_seq FROM conversations
WHERE last_at IS NOT NULL ORDER BY phone"""


def test_each_conversation_row_is_what_its_texts_say_whatever_their_order(url: str) -> None:
    """Texts out of time order, several at one time (an answer stored with the text it answers), every
    kind: the row the trigger keeps as each is stored (most change nothing in it, some one time only)
    is the row the texts make when counted afresh -- the list's order, waits and latest texts with it."""
    import random

    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

    rng = random.Random(30)
    kinds = [("inbound", "text"), ("inbound", "command"), ("outbound", "reply"), ("outbound", "relay"),
             ("outbound", "notification"), ("outbound", "system")]  # fmt: skip

    async def scenario() -> None:
        store = await open_store(url)
        try:
            for phone in (DANA, LEE):
                await book(store, phone)
            for n in range(120):  # mostly later and later, two at a time, now and then an older one
                direction, kind = rng.choice(kinds)
                phone = rng.choice((DANA, LEE, KIM))
                seconds = n // 2 - rng.choice((0, 0, 0, 5))
                await store.add_message(text(phone, seconds, direction=direction, kind=kind))
            for phone in (DANA, LEE, KIM):  # texts each moving one time only
                await store.add_message(text(phone, 90, direction="inbound", kind="command"))
                await store.add_message(text(phone, 85, direction="inbound", kind="text"))  # its free text
                await store.add_message(text(phone, 80, direction="outbound", kind="relay"))  # its answer
                await store.add_message(text(phone, 100, direction="outbound", kind="reply"))  # its latest
                await store.add_message(text(phone, 95, direction="inbound", kind="command"))  # what it last said
        finally:
            await store.close()

    async def rows(query: str) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(query)]
        finally:
            await conn.close()

    asyncio.run(scenario())
    kept = asyncio.run(rows(_KEPT))
    assert kept == asyncio.run(rows(_FROM_TEXTS))
    assert len(kept) == 3
