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
from tests.store_contract.test_conversations import DANA, KIM, LEE, book, history
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
