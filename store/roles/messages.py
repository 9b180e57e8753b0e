"""The message log: every text in and out, kept by conversation (store_contract/test_messages.py, test_ordering.py).

A message lives with its job when it has one (`job_id`), else with its phone: a backend
partitions by that key, so no operation reads or rewrites more than one conversation.

Message ids are opaque strings the backend chooses: callers keep and pass them back, never
parse or build them, and no id carries a phone number (ids appear in logs and API answers). An
id the store did not make is NotFound, like any other unknown id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from store.records import Message, PublicMessage
from store.roles.idempotency import Once

# The public shape of a message (SPEC "JSON shapes"), in order; other keys are internal.
MESSAGE_FIELDS = tuple(PublicMessage.__annotations__)


def public_message(message: Message, media_url: Callable[[str], str] | None = None) -> Message:
    """The message as the JSON API shows it, without internal bookkeeping.

    `media` is always a list (`[]` for a row from before pictures): each picture `{id, type,
    size}` (null while a picture being fetched is not known yet), and `url` too when `media_url`
    (media id -> link) is given -- links depend on who reads them, so the caller makes them. A
    public message given back gets the same shape again.
    """
    shown = {key: message.get(key) for key in MESSAGE_FIELDS}
    pictures = []
    for item in message.get("media") or ():
        picture = {"id": item.get("id"), "type": item.get("type"), "size": item.get("size")}
        if media_url is not None:
            picture["url"] = media_url(picture["id"])
        pictures.append(picture)
    shown["media"] = pictures
    return shown


@dataclass(frozen=True)
class MessageRead:
    """A message as a lookup by its Twilio SID read it, and the row's version then (for update_message_by_sid).

    PostgreSQL's version is the row's `xmin`; a read is the reading business's: another store ignores it.
    """

    business: str
    twilio_sid: str
    message: Message
    version: int | None


class MessageLog(ABC):
    """Messages appended, read and changed one at a time, and listed by conversation."""

    @abstractmethod
    async def add_message(self, message: Message, *, once: Once | None = None) -> Message:
        """Append one message; returns it with a new `id`, and `created_at` (kept if given) and `updated_at` set.

        NotFound, writing nothing, if its `job_id` names no job.
        """

    @abstractmethod
    async def get_message(self, message_id: str) -> Message:
        """The message, or NotFound (for any id this store did not make)."""

    @abstractmethod
    async def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        """The message Twilio knows by this SID (MessageSid), None if none has it."""

    @abstractmethod
    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Replace the message with `change(message)`; None (or no change) leaves it as it is.

        A replaced message keeps its id and gets a new `updated_at`; NotFound if there is none.
        """

    async def update_message_by_sid(
        self, twilio_sid: str, change: Callable[[Message], Message | None], *, read: MessageRead | None = None
    ) -> tuple[Message, Message] | None:
        """update_message on the message with this Twilio SID: (it before, it after), or None if none has it.

        What a status callback does. A backend may do it in one read (TinyDB: the conversation
        file once, not twice); this default finds the message, then updates it. `read` is the message
        as Deployment.lookup_sid read it: a backend may start from it instead of reading it again.
        """
        message = await self.find_message_by_sid(twilio_sid)
        if message is None:
            return None
        return message, await self.update_message(message["id"], change)

    # Both lists are oldest first: by `created_at`, and messages with equal `created_at` in the
    # order they were written (within one conversation: a job's, or a phone's texts outside any
    # job), however many share the millisecond. A caller can stamp a message with the time it
    # happened and still rely on the order of a burst written at once.

    @abstractmethod
    async def job_messages(self, job_id: int) -> list[Message]:
        """The job's conversation, oldest first (NotFound if there is no such job)."""

    @abstractmethod
    async def phone_messages(self, phone: str) -> list[Message]:
        """Every message to or from `phone`, across its jobs and outside them, oldest first."""

    @abstractmethod
    async def pending_messages(self) -> list[Message]:
        """Outbound messages still `pending`, in the order they were queued (a read; senders claim)."""

    @abstractmethod
    async def messages_with_status(self, status: str) -> list[Message]:
        """Every message of the business with `status`, oldest first: for a person's lists of the few
        that need one (`unknown` texts, `qdn log --unknown`), not for a status every text passes through."""
