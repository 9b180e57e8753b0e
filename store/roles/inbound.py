"""One inbound text: what its decision reads, and its one write (store_contract/test_facts.py, test_inbound.py,
test_moves.py).

The webhook's reads before it decides are asked for at once: the duplicate check, the sender's
state and whatever the command needs (FactsWanted). The default `conversation_facts` is the
separate lookups, in that order (TinyDB answers each from memory); PostgreSQL answers in one
statement (issue #15: one round trip) and returns the phone state's version with it
(ConversationFacts.read), which the caller passes to record_inbound.

A dispatcher's move (EN ROUTE 1042 ...) is one write too (`record_move`): the job's change, the
customer's status text, the dispatcher's text and the answer, which says how the move went --
so the rows are made by a pure function of the job as the write finds it (`JobMove.turn`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.errors import NotFound
from bot.jobs import OPEN_STATUSES
from store.records import Job, Message, PhoneState
from store.roles.jobs import Jobs, JobWrite
from store.roles.messages import MessageLog
from store.roles.phone_state import PhoneStates


@dataclass(frozen=True)
class FactsWanted:
    """The lookups one inbound text calls for (bot.conversation.Needs in the store's terms), and its SID.

    The sender's phone state is always read. "Open" is bot.jobs.OPEN_STATUSES.
    """

    sid: str | None = None  # the text's MessageSid: the message already stored for it (a repeated delivery)
    sender_open_jobs: bool = False  # list_jobs(statuses=OPEN_STATUSES, phone=sender)
    open_jobs: bool = False  # list_jobs(statuses=OPEN_STATUSES)
    job_id: int | None = None  # get_job(job_id), None on NotFound
    token: str | None = None  # find_job_by_token(token)
    # is_opted_out(the target): the customer_phone of job_id's job if there is one, else `target_phone`.
    target_opt_out: bool = False
    target_phone: str | None = None
    # A customer's answer to a reminder (bot/confirmations.py): the sender's jobs, of any status, whose
    # customer was asked to confirm at or after this moment (`confirm_asked_at`, ISO UTC), newest first.
    asked_since: str | None = None


@dataclass(frozen=True)
class PhoneRead:
    """A phone's state as a webhook read it before deciding, and the row's version then.

    The write that follows is given it back (`record_inbound(read=...)`), so it can be guarded by
    that version instead of reading the row again: one round trip on PostgreSQL, whose version is
    the row's `xmin` (None: no row then). A read is the reading store's: another store ignores it.
    """

    business: str
    phone: str
    state: PhoneState
    version: int | None


@dataclass(frozen=True)
class ConversationFacts:
    """What `Store.conversation_facts` found; a lookup not wanted keeps its default."""

    already: Message | None = None  # the message stored for the SID; when set, nothing else was looked up
    phone_state: PhoneState = field(default_factory=dict)  # the sender's (get_phone)
    # All of them, newest first, never cut short: bot.job_choice picks the one a text is about, and an
    # en-route job may be older than any number of booked ones (a customer has few).
    sender_open_jobs: list[Job] = field(default_factory=list)
    open_jobs: list[Job] = field(default_factory=list)  # newest first
    job: Job | None = None
    token_job: Job | None = None
    target_opted_out: bool = False
    asked_jobs: list[Job] = field(default_factory=list)  # newest first
    # The sender's state with its version, for the record_inbound that follows (None: the backend keeps none).
    # Not a fact: facts found by one backend or by the separate lookups compare equal whatever it holds.
    read: PhoneRead | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Turn:
    """What one inbound text stores when it moves a job: the text, the job as moved, the texts caused.

    Stored in this order: `inbound`, the messages of `job` (the customer's status text), `outbound`
    (the answer). `job` None, or not `changed` and with no messages: the job is left as it is.
    """

    inbound: Message
    job: JobWrite | None = None
    outbound: list[Message] = field(default_factory=list)

    def rows(self, job: Job | None) -> tuple[tuple[Job, Job] | None, list[Message]]:
        """What a backend writes for this turn on `job` as it found it: (the job before and after, or
        None when it is left as it is; the messages, in the order stored)."""
        moved, caused = None, []
        if job is not None and self.job is not None and (self.job.changed or self.job.messages):
            moved, caused = (job, self.job.job), self.job.messages
        return moved, [self.inbound, *caused, *self.outbound]


@dataclass(frozen=True)
class JobMove:
    """A change to job `job_id` asked for by an inbound text, made in the write that records the text.

    `turn(job)` is called inside that write on the job as stored (None: no such job), and may be
    called again (a write retried): a pure function. Its rows say how the move went.
    """

    job_id: int
    turn: Callable[[Job | None], Turn]


class InboundTexts(Jobs, MessageLog, PhoneStates):
    """A text's reads (from jobs, the message log and phone state) and its one atomic write."""

    @abstractmethod
    async def record_inbound(
        self,
        inbound: Message,
        *,
        outbound: Iterable[Message] = (),
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
        read: PhoneRead | None = None,
    ) -> tuple[list[Message], bool]:
        """An inbound text, the texts it causes and its sender's new state, in one atomic write.

        Appends `inbound` and then each of `outbound` (each in its own job's or
        phone's conversation) and sets `phone`'s state to `change_phone(state)`
        -- all or nothing, and only if no message with the inbound's
        `twilio_sid` exists yet. Returns (the stored messages, True), or
        ([the message already stored for that SID], False) and writes nothing.
        One write per webhook is what keeps answering Twilio near one fsync.

        `read` is `phone`'s state as conversation_facts read it (ConversationFacts.read): a backend
        may write over that version instead of reading the state again (PostgreSQL); the result is
        the same with it or without it.
        """

    @abstractmethod
    async def record_move(
        self,
        sid: str,
        move: JobMove,
        *,
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
    ) -> tuple[list[Message], bool]:
        """An inbound text that moves a job (MessageSid `sid`), and all it causes, in one atomic write.

        Unless a message with twilio_sid `sid` exists already (then ([it], False), nothing written),
        reads job `move.job_id`, stores `move.turn(job)` -- the job as moved with its events, then
        its messages (Turn) -- and sets `phone`'s state to `change_phone(state)`: all or nothing.
        Returns (the stored messages in the Turn's order, True). The Turn's inbound text must carry
        `sid` as its twilio_sid.
        """

    async def conversation_facts(self, sender: str, wanted: FactsWanted) -> ConversationFacts:
        """Everything `wanted` names for a text from `sender`, as the separate lookups would find it.

        If a message with `wanted.sid` is stored, only `already` is given: a repeated delivery is
        answered as before, and nothing is decided again.
        """
        if wanted.sid is not None:
            already = await self.find_message_by_sid(wanted.sid)
            if already is not None:
                return ConversationFacts(already=already)
        job = None
        if wanted.job_id is not None:
            try:
                job = await self.get_job(wanted.job_id)
            except NotFound:
                job = None
        target = job["customer_phone"] if job is not None else wanted.target_phone
        asked = []
        if wanted.asked_since is not None:
            since = wanted.asked_since
            asked = [j for j in await self.list_jobs(phone=sender) if (j.get("confirm_asked_at") or "") >= since]
        return ConversationFacts(
            phone_state=await self.get_phone(sender),
            sender_open_jobs=await self.list_jobs(statuses=OPEN_STATUSES, phone=sender)
            if wanted.sender_open_jobs
            else [],
            open_jobs=await self.list_jobs(statuses=OPEN_STATUSES) if wanted.open_jobs else [],
            job=job,
            token_job=await self.find_job_by_token(wanted.token) if wanted.token else None,
            target_opted_out=bool(wanted.target_opt_out and target and await self.is_opted_out(target)),
            asked_jobs=asked,
        )
