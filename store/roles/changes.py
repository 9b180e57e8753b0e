"""Watching a business's jobs and texts change (store_contract/test_changes.py): the office inbox's live updates.

Every open inbox waits here; any write of a job or message of the business -- a text in or out,
its delivery status, a status move -- wakes them all. In this process's memory for TinyDB (one
process writes); by LISTEN/NOTIFY for PostgreSQL, so a text stored by another web process wakes
the inboxes open on this one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class ConversationChanges(ABC):
    @abstractmethod
    async def wait_for_change(self, seen: int, timeout: float) -> int:
        """This store's change count: at once if it is not `seen`, else after the next change (any process's,
        where several share the store) or after `timeout` seconds. Start with `seen=-1` to read it."""
