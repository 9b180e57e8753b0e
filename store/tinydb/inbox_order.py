"""The office inbox's conversation list on TinyDB, kept in its order as texts are stored.

Per phone (store/roles/conversations.py): its latest text, its latest free text, the latest answer
to it -- maxima, so replaying a text changes nothing -- and its latest text that is not an
automatic answer (what the list shows). The phones listed (a job here, and a text) sit in two
sorted lists: the waiting ones by (waiting since, phone), the rest by (latest text, phone). A page
is a slice of them, the waiting count is one list's length, and a stored text moves its phone in
O(log n): nothing is sorted per page, however long the history (bench/bench_inbox.py).

The lists are built whole by the first read after start-up: the scan meets the files in no order,
and sorting once is cheaper than 200k insertions. From then on every write keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sortedcontainers import SortedList

from store.roles.conversations import ANSWER_KINDS, AUTOMATIC_KINDS, ConversationRow, waiting

Key = tuple[str, str]  # (waiting since, phone) or (latest text, phone)


class Kept:
    """One phone's conversation, as the list needs it."""

    __slots__ = ("answered", "free_text", "last_at", "listed", "said", "said_at", "said_id")

    def __init__(self, at: str) -> None:
        self.last_at = at
        self.free_text: str | None = None  # the phone's latest inbound `text`
        self.answered: str | None = None  # the latest relay or status text to it
        self.said: str | None = None  # the body of its latest text that is not automatic
        self.said_at: str | None = None
        self.said_id: str | None = None  # that text's message id: ties on time go to the one written later
        self.listed = False  # in one of the sorted lists

    def key(self, phone: str) -> tuple[bool, Key]:
        """Which list the phone belongs in (True: the waiting one), and its place there."""
        since = waiting(self.free_text, self.answered)
        return (True, (since, phone)) if since else (False, (self.last_at, phone))


class ConversationOrder:
    """phone -> Kept, and the listed phones in the inbox's order.

    `is_customer(phone)`: the phone has a job in this business (Indexes.by_phone);
    `position(message_id)`: where a text was written, to break a tie between two texts of one time."""

    def __init__(self, is_customer: Callable[[str], bool], position: Callable[[str], tuple[str, int]]) -> None:
        self.kept: dict[str, Kept] = {}
        self._is_customer = is_customer
        self._position = position
        self._waiting: SortedList[Key] = SortedList()
        self._recent: SortedList[Key] = SortedList()  # oldest first: pages read it from the end
        self._built = False

    def put(self, message_id: str, message: dict[str, Any]) -> None:
        """A text stored (or read at start-up, or replayed, or updated: the same text changes nothing)."""
        phone, at = message["phone"], message["created_at"]
        kept = self.kept.get(phone)
        if kept is None:
            kept = self.kept[phone] = Kept(at)
        before = kept.key(phone) if kept.listed else None
        if at > kept.last_at:
            kept.last_at = at
        kind, inbound = message.get("kind"), message.get("direction") == "inbound"
        if inbound and kind == "text":
            if kept.free_text is None or at > kept.free_text:
                kept.free_text = at
        elif not inbound and kind in ANSWER_KINDS and (kept.answered is None or at > kept.answered):
            kept.answered = at
        if kind not in AUTOMATIC_KINDS and self._later(kept, message_id, at):
            kept.said, kept.said_at, kept.said_id = message.get("body"), at, message_id
        if before is not None:
            after = kept.key(phone)
            if after != before:
                self._unlist(before)
                self._list(after)
        elif self._built and self._is_customer(phone):
            kept.listed = True
            self._list(kept.key(phone))

    def _later(self, kept: Kept, message_id: str, at: str) -> bool:
        """Whether the text is the phone's latest said one: by time, then as written (phone_messages' order)."""
        if kept.said_at is None or at > kept.said_at or message_id == kept.said_id:
            return True
        return at == kept.said_at and self._position(message_id) > self._position(kept.said_id or "")

    def customer(self, phone: str) -> None:
        """The phone's first job came, or its last went (a job's phone changed): list or unlist it."""
        kept = self.kept.get(phone)
        if not self._built or kept is None or kept.listed == self._is_customer(phone):
            return
        kept.listed = not kept.listed
        (self._list if kept.listed else self._unlist)(kept.key(phone))

    def _list(self, where: tuple[bool, Key]) -> None:
        (self._waiting if where[0] else self._recent).add(where[1])

    def _unlist(self, where: tuple[bool, Key]) -> None:
        (self._waiting if where[0] else self._recent).remove(where[1])

    def _build(self) -> None:
        waiting_keys: list[Key] = []
        recent_keys: list[Key] = []
        for phone, kept in self.kept.items():
            kept.listed = self._is_customer(phone)
            if kept.listed:
                in_waiting, key = kept.key(phone)
                (waiting_keys if in_waiting else recent_keys).append(key)
        self._waiting, self._recent = SortedList(waiting_keys), SortedList(recent_keys)
        self._built = True

    def page(self, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
        """Waiting ones first (the longest waiting first), then the rest, newest first; and how many wait."""
        if not self._built:
            self._build()
        count, phones = len(self._waiting), []
        if offset < count:
            phones = [phone for _, phone in self._waiting[offset : offset + limit]]
        rest = limit - len(phones)
        if rest > 0:
            end = len(self._recent) - max(0, offset - count)
            phones += [phone for _, phone in reversed(self._recent[max(0, end - rest) : max(0, end)])]
        return [self._row(phone) for phone in phones], count

    def _row(self, phone: str) -> ConversationRow:
        kept = self.kept[phone]
        return ConversationRow(
            phone=phone,
            last_at=kept.last_at,
            waiting_since=waiting(kept.free_text, kept.answered),
            said=kept.said,
            said_at=kept.said_at,
        )
