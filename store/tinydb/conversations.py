"""The inbox's conversation list on TinyDB: from the in-memory `Indexes.conversations` (no file read).

Customers' conversations only (a phone with a job here), sorted in memory: tens of thousands of
phones sort in milliseconds, and nothing of the message log is read.
"""

from __future__ import annotations

from store.roles.conversations import ConversationRow, waiting
from store.tinydb.documents import Documents


def conversations_page(core: Documents, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
    index = core.index
    rows = [
        ConversationRow(phone=phone, last_at=str(last_at), waiting_since=waiting(free_text, answered))
        for phone, (last_at, free_text, answered) in index.conversations.items()
        if index.by_phone.get(phone)
    ]
    waiting_rows = sorted((r for r in rows if r["waiting_since"]), key=lambda r: (r["waiting_since"] or "", r["phone"]))
    rest = sorted((r for r in rows if not r["waiting_since"]), key=lambda r: r["phone"])
    rest.sort(key=lambda r: r["last_at"], reverse=True)
    return (waiting_rows + rest)[offset : offset + limit], len(waiting_rows)
