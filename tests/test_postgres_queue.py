"""The send queue on a fresh PostgreSQL database with thousands of pending texts (issue #15).

A claim's plan is generic (store/postgres/connection.py) and, on a database just filled, made
without statistics. An earlier claim (a self anti-join) went quadratic there and ran past the
statement timeout at 1,000 pending texts; this one reads only what it takes. Asserted: every
claim completes (within the store's own statement timeout) and takes the right texts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bot.messages import outbound_message
from store import open_store
from store.postgres.connection import connect
from tests.pg import fresh_database, require_postgres

CREATED = "2026-03-02T15:00:00.000Z"
NOW = "2026-03-02T16:00:00.000Z"
LEASE = 600.0
DEEP = "+19450000000"  # one phone with thousands of texts queued
PHONES, QUEUED = 3_000, 3_000  # texts to as many other phones; texts to DEEP


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    require_postgres()
    with fresh_database(request.node.originalname) as database_url:
        yield database_url


def text(to: str, n: int) -> dict[str, Any]:
    return outbound_message(kind="relay", to=to, body=f"text {n}", sender="console", now=CREATED, opted_out=False)


async def scenario(url: str) -> tuple[float, list[list[str]], str | None]:
    store = await open_store(url)
    try:
        async with connect(url) as conn:  # no ANALYZE, now or by autovacuum meanwhile: no statistics
            await conn.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")
        # DEEP's texts first (all due before the others), then one each to PHONES phones; same millisecond:
        # the order written decides.
        rows = [text(DEEP, n) for n in range(QUEUED)] + [text(f"+1946{n:07d}", n) for n in range(PHONES)]
        await store.import_rows(messages=rows)
        async with connect(url) as conn:
            reltuples = await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'messages'")
        deep_head = await store.claim_due(NOW, 1, LEASE)  # DEEP's oldest goes out; the rest must wait
        claims = [[m["to"] for m in await store.claim_due(NOW, 8, LEASE)] for _ in range(5)]
        return reltuples, [[m["to"] for m in deep_head], *claims], await store.next_due()
    finally:
        await store.close()


def test_a_fresh_database_with_thousands_pending_claims_within_the_statement_timeout(url: str) -> None:
    reltuples, claims, next_due = asyncio.run(scenario(url))
    assert reltuples <= 0  # never analyzed: the planner had no row counts
    assert claims[0] == [DEEP]
    others = [to for batch in claims[1:] for to in batch]
    assert others == [f"+1946{n:07d}" for n in range(40)]  # 5 claims of 8: other phones, oldest first, once
    assert next_due == CREATED  # the next other phone's text, due since it was written
