"""The inbox's conversation list on TinyDB: a slice of the order kept in memory (store/tinydb/inbox_order.py).

Customers' conversations only (a phone with a job here); nothing of the message log is read.
"""

from __future__ import annotations

from store.roles.conversations import ConversationRow
from store.tinydb.documents import Documents


def conversations_page(core: Documents, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
    return core.index.conversations.page(offset, limit)
