"""The store interface every backend implements (TinyDB today, PostgreSQL next).

Callers never see files or SQL. Read-modify-write goes through `create_job`,
`update_job`, `update_message` and `update_phone`, which take a pure function
and run it inside the backend's write, so a status change and the texts it
causes land together or not at all.

A message is a dict in the SPEC's shape plus internal fields (see
`MESSAGE_FIELDS`). It lives with its job when it has one (`job_id`), else
with its phone: a backend partitions by that key, so no operation reads or
rewrites more than one conversation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Job = dict[str, Any]
Message = dict[str, Any]

# The public shape of a message (SPEC "JSON shapes"); other keys are internal.
MESSAGE_FIELDS = (
    "id",
    "direction",
    "kind",
    "job_id",
    "phone",
    "from",
    "to",
    "body",
    "twilio_sid",
    "status",
    "error_code",
    "error_message",
    "created_at",
    "updated_at",
)


@dataclass
class JobWrite:
    """What one atomic job write stores: the job and the messages it adds."""

    job: Job
    messages: list[Message] = field(default_factory=list)
    changed: bool = True


def public_message(message: Message) -> Message:
    """The message as the JSON API shows it, without internal bookkeeping."""
    return {key: message.get(key) for key in MESSAGE_FIELDS}


class Store(ABC):
    """Persistence for jobs, the message log and per-phone state."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError if the store cannot be used right now."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What /healthz reports as `store` (never a secret)."""

    # -- jobs ---------------------------------------------------------------

    @abstractmethod
    async def create_job(self, build: Callable[[int], JobWrite]) -> JobWrite:
        """Allocate the next job id, call `build(id)` and store the result.

        `build` may be called again if the token it chose is already taken.
        """

    @abstractmethod
    async def get_job(self, job_id: int) -> Job:
        """The job, or NotFound."""

    @abstractmethod
    async def find_job_by_token(self, token: str) -> Job | None:
        """The job with this canonical token, if any."""

    @abstractmethod
    async def list_jobs(
        self, *, statuses: Iterable[str] | None = None, phone: str | None = None, limit: int | None = None
    ) -> list[Job]:
        """Jobs newest first, optionally only these statuses / this customer phone."""

    @abstractmethod
    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite]) -> JobWrite:
        """Run `change(job)` and store its result atomically (NotFound if no job).

        Nothing is written when the result says `changed=False` and adds no messages.
        """

    # -- message log --------------------------------------------------------

    @abstractmethod
    async def add_message(self, message: Message) -> Message:
        """Append one message; returns it with `id`, `created_at`, `updated_at` set."""

    async def add_inbound_once(self, message: Message) -> tuple[Message, bool]:
        """Append an inbound message unless one with its `twilio_sid` exists.

        Returns (the stored message, whether it was new), atomically, so
        concurrent duplicate webhook deliveries store and act once.
        """
        stored, created = await self.record_inbound(message)
        return stored[0], created

    @abstractmethod
    async def record_inbound(
        self,
        inbound: Message,
        *,
        outbound: Iterable[Message] = (),
        phone: str | None = None,
        change_phone: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> tuple[list[Message], bool]:
        """An inbound text, the texts it causes and its sender's new state, in one atomic write.

        Appends `inbound` and then each of `outbound` (each in its own job's or
        phone's conversation) and sets `phone`'s state to `change_phone(state)`
        -- all or nothing, and only if no message with the inbound's
        `twilio_sid` exists yet. Returns (the stored messages, True), or
        ([the message already stored for that SID], False) and writes nothing.
        One write per webhook is what keeps answering Twilio near one fsync.
        """

    @abstractmethod
    async def get_message(self, message_id: str) -> Message:
        """The message, or NotFound."""

    @abstractmethod
    async def find_message_by_sid(self, twilio_sid: str) -> Message | None: ...

    @abstractmethod
    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Replace the message with `change(message)`; None means leave it as it is."""

    @abstractmethod
    async def job_messages(self, job_id: int) -> list[Message]:
        """The job's conversation, oldest first."""

    @abstractmethod
    async def phone_messages(self, phone: str) -> list[Message]:
        """Every message to or from `phone`, across its jobs, oldest first."""

    @abstractmethod
    async def pending_messages(self) -> list[Message]:
        """Outbound messages still `pending`, in the order they were queued."""

    # -- per-phone state (opt-out, loop guards) -----------------------------

    @abstractmethod
    async def get_phone(self, phone: str) -> dict[str, Any]:
        """State kept for a phone; {} if none."""

    @abstractmethod
    async def update_phone(self, phone: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Replace the phone's state with `change(state)`, atomically."""

    @abstractmethod
    async def is_opted_out(self, phone: str) -> bool:
        """Whether the phone's last word was an opt-out (state key `opted_out`)."""
