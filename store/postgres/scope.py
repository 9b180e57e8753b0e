"""What every part of a PostgresStore shares: its Database, its business, its writes and its wake-ups.

PostgresStore (store/postgres/store.py) is assembled from parts, one concern a module --
the send queue and reminders (queue.py), events and idempotency keys (outbox.py), pages
(paging.py), whole-store rows (imports.py), pictures (media.py) -- each a subclass of `BusinessScope`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import NotFound, StoreError
from store.postgres.connection import CHANGES_CHANNEL, EVENTS_CHANNEL, MEDIA_CHANNEL, WORK_CHANNEL, Database
from store.postgres.rows import is_bigint
from store.postgres.writes import Write
from store.wakeups import Changes

log = logging.getLogger("qdn.store")


class BusinessScope:
    """One business's view of a shared Database: every statement names `business`."""

    def __init__(self, db: Database, business: str, *, owns_db: bool = False) -> None:
        self.db = db
        self.business = business
        self._owns_db = owns_db  # opened alone (open_store): closing the store closes the pool
        self._events_enabled = False  # Store.enable_events: writes queue their dashboard events
        self._work = asyncio.Event()  # set by the listener: a text was queued (Store.wait_for_work)
        self._events = asyncio.Event()  # ... an event was queued (Store.wait_for_events)
        self._media = asyncio.Event()  # ... a text with pictures to fetch was stored (Store.wait_for_media)
        # Claims this store holds (message seq -> its lease's end, event ids): closing it releases
        # them, as stopping a TinyDB store ends its leases -- what a crash leaves runs out with its
        # lease instead. A text's lease end is also the claim's mark: only a claimer that wrote
        # that very `claimed_until` renews or drops it (store/postgres/queue.py).
        self._held_texts: dict[int, str] = {}
        self._renewing: dict[int, str] = {}  # seq -> the end a renewal in flight is writing
        self._held_events: dict[str, str] = {}  # event id -> its lease's end
        db.subscribe(WORK_CHANNEL, business, self._work.set)
        db.subscribe(EVENTS_CHANNEL, business, self._events.set)
        db.subscribe(MEDIA_CHANNEL, business, self._media.set)
        self._changes = Changes()  # ... a job or message was written (Store.wait_for_change)
        db.subscribe(CHANGES_CHANNEL, business, self._changes.changed)

    async def close(self) -> None:
        self.db.unsubscribe(WORK_CHANNEL, self.business, self._work.set)
        self.db.unsubscribe(EVENTS_CHANNEL, self.business, self._events.set)
        self.db.unsubscribe(MEDIA_CHANNEL, self.business, self._media.set)
        self.db.unsubscribe(CHANGES_CHANNEL, self.business, self._changes.changed)
        try:
            await self._release_held()
        finally:
            if self._owns_db:
                await self.db.close()

    async def wait_for_change(self, seen: int, timeout: float) -> int:
        return await self._changes.wait(seen, timeout)

    async def _release_held(self) -> None:
        texts, events = dict(self._held_texts), list(self._held_events)
        self._held_texts.clear()
        self._held_events.clear()
        if not texts and not events:
            return
        try:
            async with self.db.connection() as conn:
                await conn.execute(  # each only while it is still ours (store/postgres/queue.py)
                    "UPDATE messages m SET claimed_until = NULL"
                    " FROM unnest($2::bigint[], $3::text[]) AS held(seq, until)"
                    " WHERE m.business = $1 AND m.seq = held.seq AND m.claimed_until = held.until",
                    self.business,
                    list(texts),
                    list(texts.values()),
                )
                await conn.execute(
                    "UPDATE events SET claimed_until = NULL WHERE business = $1 AND event_id = ANY($2::text[])",
                    self.business,
                    events,
                )
        except StoreError as error:  # the leases run out by themselves
            log.warning("claims not released at close (%s); their leases run out", error)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Write]:
        """One atomic write (store/postgres/writes.py): committed, with its notifications, at the end of the block."""
        async with self.db.transaction() as conn:
            write = Write(conn, self.business, events_enabled=self._events_enabled)
            yield write
            await write.finish()

    async def _job_doc(self, job_id: Any) -> dict[str, Any]:
        """The job, or NotFound (for any id, of any type, that names no job of this business)."""
        if is_bigint(job_id):
            async with self.db.connection() as conn:
                job = await conn.fetchval("SELECT doc FROM jobs WHERE business = $1 AND id = $2", self.business, job_id)
            if job is not None:
                return dict(job)
        raise NotFound(f"No job {job_id}.")
