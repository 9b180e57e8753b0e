"""The inbox's conversation list on PostgreSQL: the `conversations` table a trigger keeps (0010_conversations.sql).

Customers' conversations only (a phone with a job here). Waiting ones by `conversations_waiting`,
the rest by `conversations_recent`: each part an index scan in its order.
"""

from __future__ import annotations

from store.postgres.scope import BusinessScope
from store.roles.conversations import ConversationRow

_HAS_JOB = "EXISTS (SELECT 1 FROM jobs j WHERE j.business = c.business AND j.customer_phone = c.phone)"
_PAGE = f"""(SELECT phone, last_at, waiting_since, 0 AS part FROM conversations c
    WHERE business = $1 AND waiting_since IS NOT NULL AND {_HAS_JOB}
    ORDER BY waiting_since, phone LIMIT $2::int + $3::int)
UNION ALL
(SELECT phone, last_at, waiting_since, 1 AS part FROM conversations c
    WHERE business = $1 AND waiting_since IS NULL AND {_HAS_JOB}
    ORDER BY last_at DESC, phone LIMIT $2::int + $3::int)
ORDER BY part, waiting_since, last_at DESC, phone OFFSET $2::int LIMIT $3::int"""  # noqa: S608 -- constants only
_WAITING = f"SELECT count(*) FROM conversations c WHERE business = $1 AND waiting_since IS NOT NULL AND {_HAS_JOB}"  # noqa: S608


class ConversationStore(BusinessScope):
    async def conversations_page(self, *, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(_PAGE, self.business, offset, limit)
            count: int = await conn.fetchval(_WAITING, self.business)
        page = [ConversationRow(phone=r["phone"], last_at=r["last_at"], waiting_since=r["waiting_since"]) for r in rows]
        return page, count
