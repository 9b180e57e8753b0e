"""The inbox's conversation list on PostgreSQL: the `conversations` table triggers keep (0010, 0011).

Customers' conversations only (`has_job`, kept by a trigger on jobs). The waiting count reads the
`conversations_waiting` index alone; a page reads the waiting ones by that index and the rest by
`conversations_recent` (backwards), each part an index-only scan skipping to its share of the
offset and stopping at its share of the limit, so it costs the index entries it passes, never the
history. Each row's latest text
(`said_seq`) is one primary-key read of `messages`.
"""

from __future__ import annotations

from store.postgres.scope import BusinessScope
from store.roles.conversations import ConversationRow

_WAITING = "SELECT count(*) FROM conversations WHERE business = $1 AND has_job AND waiting_since IS NOT NULL"
# $2/$3: offset and limit among the waiting ones; $4/$5: among the rest.
_PAGE = """SELECT p.phone, p.last_at, p.waiting_since, p.said_at, m.doc AS said FROM (
    (SELECT phone, last_at, waiting_since, said_at, said_seq, 0 AS part FROM conversations
        WHERE business = $1 AND has_job AND waiting_since IS NOT NULL
        ORDER BY waiting_since, phone OFFSET $2 LIMIT $3)
    UNION ALL
    (SELECT phone, last_at, NULL AS waiting_since, said_at, said_seq, 1 AS part FROM conversations
        WHERE business = $1 AND has_job AND waiting_since IS NULL AND last_at IS NOT NULL
        ORDER BY last_at DESC, phone DESC OFFSET $4 LIMIT $5)
) p LEFT JOIN messages m ON m.business = $1 AND m.seq = p.said_seq
ORDER BY p.part, p.waiting_since, CASE WHEN p.part = 0 THEN p.phone END, p.last_at DESC, p.phone DESC"""


class ConversationStore(BusinessScope):
    async def conversations_page(self, *, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
        async with self.db.connection() as conn:
            count: int = await conn.fetchval(_WAITING, self.business)
            if limit <= 0:
                return [], count
            # Split the page between the two parts by the count just read: a row that starts or stops
            # waiting in between can show twice or not at all on this one page, as between two pages.
            waiting = max(0, min(limit, count - offset))
            rows = await conn.fetch(_PAGE, self.business, offset, waiting, max(0, offset - count), limit - waiting)
        page = [
            ConversationRow(
                phone=row["phone"],
                last_at=row["last_at"],
                waiting_since=row["waiting_since"],
                said=row["said"]["body"] if row["said"] is not None else None,
                said_at=row["said_at"],
            )
            for row in rows
        ]
        return page, count
