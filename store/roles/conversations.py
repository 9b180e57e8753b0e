"""The office inbox's conversation list (store_contract/test_conversations.py): "Needs reply" kept per phone.

The store keeps, per phone of the business, when its last text was (either way), when the phone's
last free text came in (an inbound `text`: not a command, not an automatic answer's trigger word)
and when a person last answered it (an outbound `relay` -- `R`, the inbox, the API -- or a status
move's `notification`). It waits for a reply while that free text is newer than the answer.
Kept as each text is stored (TinyDB: the in-memory indexes; PostgreSQL: a trigger on `messages`),
so the inbox's list is one read in its order, never a scan of the message log: a page costs the
same at 200k texts as at 1k (bench/bench_inbox.py). Each row also carries its latest text that is
not an automatic answer (what the list shows), kept the same way.

Only customers' conversations are listed: phones with a job in the business and a text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypedDict

ANSWER_KINDS = ("relay", "notification")  # what a person sends a customer (a status move texts one)
AUTOMATIC_KINDS = frozenset({"reply", "system"})  # acknowledgements, answers to commands, login codes


class ConversationRow(TypedDict):
    phone: str
    last_at: str  # its latest text, either way (ISO UTC)
    waiting_since: str | None  # its unanswered free text's time; None: nothing waits
    said: str | None  # the body of its latest text of a kind not in AUTOMATIC_KINDS; None: none yet
    said_at: str | None  # that text's time


def waiting(last_text_at: str | None, answered_at: str | None) -> str | None:
    """When the phone's free text came in, if no person has answered since; else None."""
    return last_text_at if last_text_at and last_text_at > (answered_at or "") else None


class Conversations(ABC):
    @abstractmethod
    async def conversations_page(self, *, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
        """Up to `limit` customer conversations from `offset`, waiting ones first (the longest waiting
        first), then the rest by their latest text, newest first (ties: the phone, descending); and
        how many wait in all."""
