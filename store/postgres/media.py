"""Pictures on PostgreSQL: the `media` table, and the fetches due (migrations/0003_media.sql).

A picture is one row, keyed (business, id): a store reads and writes only its own
business's, so one business's picture is not found through another's store. Saving is
one INSERT that does nothing when the id is taken: the first picture saved stays (two
fetchers racing on an expired lease), and it is committed before save_media returns.

The fetches due are messages whose doc carries `media_due_at`, found through a partial
index on that key, read from the doc's JSON text (`messages_media_due`); a fetcher claims one with
update_message (store/postgres/queue.py), which rewrites the doc and so the index entry.
"""

from __future__ import annotations

from store.base import MediaFile, Message
from store.media import check_media, check_text, is_media_id
from store.postgres.rows import message_of
from store.postgres.scope import BusinessScope
from store.wakeups import wait

# Spelt as the index is (migrations/0003_media.sql), so the planner uses it: same expression, same collation.
# The doc's JSON text is searched, not parsed (->>): a doc with a NUL in it cannot be parsed to text.
_DUE_AT_TEXT = 'substring(doc::text FROM \'"media_due_at":"([^"]*)"\')'
_DUE_AT = f'({_DUE_AT_TEXT}) COLLATE "C"'


class MediaStore(BusinessScope):
    """Pictures and the fetches due (methods of PostgresStore)."""

    async def save_media(self, media: MediaFile) -> None:
        check_media(media)
        async with self.db.connection() as conn:
            await conn.execute(
                """INSERT INTO media (business, id, content_type, message_id, created_at, data)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business, id) DO NOTHING""",
                self.business,
                media.id,
                media.content_type,
                media.message_id,
                media.created_at,
                media.data,
            )

    async def set_media_message(self, media_id: str, message_id: str) -> None:
        check_text(media_id, "message_id", message_id)
        if not is_media_id(media_id):
            return
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE media SET message_id = $3 WHERE business = $1 AND id = $2", self.business, media_id, message_id
            )

    async def load_media(self, media_id: str) -> MediaFile | None:
        if not is_media_id(media_id):
            return None
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                "SELECT content_type, message_id, created_at, data FROM media WHERE business = $1 AND id = $2",
                self.business,
                media_id,
            )
        if row is None:
            return None
        return MediaFile(media_id, row["content_type"], bytes(row["data"]), row["message_id"], row["created_at"])

    async def due_media(self, now: str, limit: int) -> list[Message]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"""SELECT seq, doc FROM messages WHERE business = $1 AND {_DUE_AT} <= $2
                ORDER BY {_DUE_AT}, seq LIMIT $3""",  # noqa: S608  # a constant, no input
                self.business,
                now,
                max(limit, 0),
            )
        return [message_of(row) for row in rows]

    async def next_media_due(self) -> str | None:
        async with self.db.connection() as conn:
            return await conn.fetchval(
                # The index's own predicate, uncollated: spelt otherwise, the planner scans the table.
                f"SELECT min({_DUE_AT}) FROM messages WHERE business = $1 AND {_DUE_AT_TEXT} IS NOT NULL",  # noqa: S608
                self.business,
            )

    async def wait_for_media(self, timeout: float) -> bool:
        return await wait(self._media, timeout)
