"""The store interface every backend implements (TinyDB today, PostgreSQL next).

Callers never see files or SQL. Read-modify-write goes through `create_job`,
`update_job`, `update_message` and `update_phone`, which take a pure function
and run it inside the backend's write, so a status change and the texts it
causes land together or not at all.

Records are plain dicts; store/records.py declares every key they may hold
(`JobRecord`, `MessageRecord`, `PhoneStateRecord`), and the aliases below
name them in the signatures. A message lives with its job when it has one
(`job_id`), else with its phone: a backend partitions by that key, so no
operation reads or rewrites more than one conversation.

Message ids are opaque strings the backend chooses: callers keep and pass
them back, never parse or build them, and no id carries a phone number
(ids appear in logs and API answers). An id the store did not make is
NotFound, like any other unknown id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from store.records import JobRecord, MessageRecord, PhoneStateRecord, PublicMessage

# Plain dicts to callers, keys as declared: bot/ builds these records without importing store/,
# so a TypedDict here would not type-check there; the contract suite checks the keys instead.
Job = Annotated[dict[str, Any], JobRecord]
Message = Annotated[dict[str, Any], MessageRecord]
PhoneState = Annotated[dict[str, Any], PhoneStateRecord]

# The public shape of a message (SPEC "JSON shapes"), in order; other keys are internal.
MESSAGE_FIELDS = tuple(PublicMessage.__annotations__)


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
    async def list_jobs(self, *, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Job]:
        """Jobs newest first, optionally only these statuses / this customer phone."""

    @abstractmethod
    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite]) -> JobWrite:
        """Run `change(job)` and store its result atomically (NotFound if no job).

        Nothing is written when the result says `changed=False` and adds no messages.
        """

    # -- message log --------------------------------------------------------

    @abstractmethod
    async def add_message(self, message: Message) -> Message:
        """Append one message; returns it with a new `id`, and `created_at` (kept if given) and `updated_at` set.

        NotFound, writing nothing, if its `job_id` names no job.
        """

    @abstractmethod
    async def record_inbound(
        self,
        inbound: Message,
        *,
        outbound: Iterable[Message] = (),
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
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
        """The message, or NotFound (for any id this store did not make)."""

    @abstractmethod
    async def find_message_by_sid(self, twilio_sid: str) -> Message | None: ...

    @abstractmethod
    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Replace the message with `change(message)`; None (or no change) leaves it as it is.

        A replaced message keeps its id and gets a new `updated_at`; NotFound if there is none.
        """

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

    # -- the send queue: claims with leases ---------------------------------
    #
    # Any number of senders drain the `pending` texts (courier's PopNextOutgoingMsg /
    # MarkOutgoingMsgComplete). A claim is a lease: the text is one sender's until the
    # lease runs out, so a sender that dies mid-send leaves it to the next one, which finds
    # its `send_started_at` and looks it up at Twilio instead of sending it again. A backend
    # keeps the claim beside the row (`claimed_until`, declared in store/records.py) or, when
    # one process owns the store, in memory (TinyDB: a restart ends every lease).

    @abstractmethod
    async def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[Message]:
        """Claim up to `limit` texts whose turn has come, for `lease_seconds` from `now` (ISO UTC).

        A phone's turn is its oldest pending text, and only while none of its texts is
        claimed: at most one text per phone is out at a time, in the order queued, however
        many senders claim. A text is due at its `next_attempt_at`, else its `created_at`.
        Earliest due first (for texts never tried: the order they were queued).
        """

    @abstractmethod
    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        """Record an attempt's outcome -- the row becomes `change(row)` (None: as it is) -- and
        drop the claim, in one write. A row left `pending` is due again at its `next_attempt_at`."""

    @abstractmethod
    async def release(self, message_id: str) -> None:
        """Drop the claim on a text without changing it (nothing to record, or a sender stopping)."""

    @abstractmethod
    async def next_due(self) -> str | None:
        """When a text next becomes claimable (a due time or a lease's end; ISO UTC), None if none waits."""

    @abstractmethod
    async def wait_for_work(self, timeout: float) -> bool:
        """Until a write queues a text (True) or `timeout` seconds pass (False).

        Every write that adds a `pending` text wakes the waiting senders: in this
        process for TinyDB; across processes elsewhere (PostgreSQL's LISTEN/NOTIFY).
        """

    # -- per-phone state (opt-out, loop guards) -----------------------------

    @abstractmethod
    async def get_phone(self, phone: str) -> PhoneState:
        """State kept for a phone; {} if none."""

    @abstractmethod
    async def update_phone(self, phone: str, change: Callable[[PhoneState], PhoneState]) -> PhoneState:
        """Replace the phone's state with `change(state)`, atomically; returns the new state."""

    @abstractmethod
    async def is_opted_out(self, phone: str) -> bool:
        """Whether the phone's last word was an opt-out (state key `opted_out`)."""
