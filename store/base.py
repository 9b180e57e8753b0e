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

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from bot.errors import NotFound
from bot.jobs import EDITABLE_FIELDS, OPEN_STATUSES
from store.records import EventRecord, IdempotencyRecord, JobRecord, MessageRecord, PhoneStateRecord, PublicMessage

# Plain dicts to callers, keys as declared: bot/ builds these records without importing store/,
# so a TypedDict here would not type-check there; the contract suite checks the keys instead.
Job = Annotated[dict[str, Any], JobRecord]
Message = Annotated[dict[str, Any], MessageRecord]
PhoneState = Annotated[dict[str, Any], PhoneStateRecord]
Event = Annotated[dict[str, Any], EventRecord]

# The public shape of a message (SPEC "JSON shapes"), in order; other keys are internal.
MESSAGE_FIELDS = tuple(PublicMessage.__annotations__)


@dataclass
class JobWrite:
    """What one atomic job write stores: the job and the messages it adds."""

    job: Job
    messages: list[Message] = field(default_factory=list)
    changed: bool = True


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


# The public shape of a job (SPEC "JSON shapes"), in order; other keys (a reminder's due time ...) are internal.
JOB_FIELDS = ("id", "token", "tracking_url", *EDITABLE_FIELDS, "status", "eta_minutes", "history", "created_at",
              "updated_at")  # fmt: skip


def public_job(job: Job, tracking_url: str) -> dict[str, Any]:
    """The job as the JSON API (and a dashboard event) shows it."""
    shown = {**job, "tracking_url": tracking_url}
    return {key: shown.get(key) for key in JOB_FIELDS}


@dataclass
class Page:
    """One page of a list: its rows, and the position after its last row (None: it was the last page).

    A position is JSON (the API's opaque `cursor` carries it) that only the backend reads: the
    next page starts after it, however many rows were added meanwhile (keyset, never an offset).
    """

    rows: list[dict[str, Any]]
    after: list[Any] | None = None


@dataclass(frozen=True)
class MediaFile:
    """A picture as kept: its bytes and what was learnt of them (`content_type` sniffed from the bytes)."""

    id: str  # bot.media.new_media_id(): random, unguessable
    content_type: str  # one of bot.media.KEPT_TYPES
    data: bytes
    message_id: str  # the message that brought it (or that first sent it)
    created_at: str

    @property
    def size(self) -> int:
        return len(self.data)


# How long an Idempotency-Key is kept: a retry within this gets the first answer.
IDEMPOTENCY_HOURS = 24


@dataclass(frozen=True)
class Once:
    """An Idempotency-Key guarding one write (SPEC "For dashboards").

    The store keeps the key, unique, in the same atomic write as what it guards, with the
    answer `answer(result)` builds from what the write stored (a JobWrite, or a Message): a
    second write with the key -- a retry, or its twin racing it -- raises KeyUsed instead of
    acting. A key older than IDEMPOTENCY_HOURS at `now` is forgotten.
    """

    key: str
    fingerprint: str
    now: str
    answer: Callable[[Any], tuple[int, Any]]


class KeyUsed(Exception):
    """The write's Idempotency-Key is taken: `record` holds the first request's answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record["key"])
        self.record = record


# -- what one inbound text's decision reads (issue #15: one round trip on PostgreSQL) ----------------


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
class MessageRead:
    """A message as a lookup by its Twilio SID read it, and the row's version then (for update_message_by_sid)."""

    business: str
    twilio_sid: str
    message: Message
    version: int | None


@dataclass(frozen=True)
class ConversationFacts:
    """What `Store.conversation_facts` found; a lookup not wanted keeps its default."""

    already: Message | None = None  # the message stored for the SID; when set, nothing else was looked up
    phone_state: PhoneState = field(default_factory=dict)  # the sender's (get_phone)
    sender_open_jobs: list[Job] = field(default_factory=list)  # newest first
    open_jobs: list[Job] = field(default_factory=list)  # newest first
    job: Job | None = None
    token_job: Job | None = None
    target_opted_out: bool = False
    # The sender's state with its version, for the record_inbound that follows (None: the backend keeps none).
    # Not a fact: facts found by one backend or by the separate lookups compare equal whatever it holds.
    read: PhoneRead | None = field(default=None, compare=False)


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
    async def create_job(self, build: Callable[[int], JobWrite], *, once: Once | None = None) -> JobWrite:
        """Allocate the next job id, call `build(id)` and store the result.

        `build` may be called again if the token it chose is already taken.
        KeyUsed, writing nothing, if `once`'s key is taken (so for update_job and add_message).
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
    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite], *, once: Once | None = None) -> JobWrite:
        """Run `change(job)` and store its result atomically (NotFound if no job).

        Nothing is written when the result says `changed=False` and adds no messages (but
        `once`'s key, so that a retry gets the same answer even if the job moves meanwhile).
        """

    # -- message log --------------------------------------------------------

    @abstractmethod
    async def add_message(self, message: Message, *, once: Once | None = None) -> Message:
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
    async def get_message(self, message_id: str) -> Message:
        """The message, or NotFound (for any id this store did not make)."""

    @abstractmethod
    async def find_message_by_sid(self, twilio_sid: str) -> Message | None: ...

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

    # -- the send-rate cap: one schedule per sending number ------------------
    #
    # Twilio caps the texts a second of each sending number (or Messaging Service), whichever
    # sender sends them. The store keeps, per number, when its next text may go (GCRA with no
    # burst), so any number of senders in any number of processes share one schedule:
    # in memory for TinyDB (one process), in a row for PostgreSQL.

    @abstractmethod
    async def take_send_slot(self, number: str, now: str, per_second: float) -> float:
        """Reserve `number`'s next send slot at `per_second`; seconds from `now` (ISO UTC) until it (0: go now).

        The slot is max(now, the number's next free time), and the next free time moves one
        interval (1 / per_second) past it, atomically: callers of one number together get
        slots evenly spaced, each slot once. Idle time saves up no burst. Numbers are independent.
        """

    # -- day-before reminders: due rows on jobs -----------------------------
    #
    # A job carries when its appointment's reminder is due (`reminder_due_at`, written by
    # bot.reminders.schedule whenever the appointment is set). Senders find due ones here and
    # claim each through `update_job`, whose change re-checks the job (bot.reminders.take) and
    # writes the reminder text, `reminder_due_at` cleared and `reminder_for` in one atomic write:
    # two senders, a restart or a clock jump queue each reminder once. No lease is needed, since
    # the claim and the work (queueing a text; the send queue does the rest) are that one write.

    @abstractmethod
    async def due_reminders(self, now: str, limit: int) -> list[Job]:
        """Up to `limit` `scheduled` jobs whose `reminder_due_at` is at or before `now` (ISO UTC), earliest first."""

    @abstractmethod
    async def next_reminder_at(self) -> str | None:
        """The earliest `reminder_due_at` of a `scheduled` job (ISO UTC), None if no reminder waits."""

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

    # -- what one inbound text's decision reads (issue #15) --------------------
    #
    # The webhook's reads before it decides, asked for at once: the duplicate check, the sender's
    # state and whatever the command needs (FactsWanted). This default is the separate lookups, in
    # that order (TinyDB answers each from memory); PostgreSQL answers in one statement, and returns
    # the phone state's version (ConversationFacts.read) for the caller to pass to record_inbound.

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
        return ConversationFacts(
            phone_state=await self.get_phone(sender),
            sender_open_jobs=await self.list_jobs(statuses=OPEN_STATUSES, phone=sender)
            if wanted.sender_open_jobs
            else [],
            open_jobs=await self.list_jobs(statuses=OPEN_STATUSES) if wanted.open_jobs else [],
            job=job,
            token_job=await self.find_job_by_token(wanted.token) if wanted.token else None,
            target_opted_out=bool(wanted.target_opt_out and target and await self.is_opted_out(target)),
        )

    # -- pictures (SPEC "Pictures (MMS)") ---------------------------------------
    #
    # A picture texted in is named by the inbound row's `media_fetch` items (Twilio's URL, the
    # type Twilio declared, and the media id chosen at once by the webhook) and fetched later by
    # the sender's fetcher (sender/media_fetch.py) -- durable work like a send. The inbound row
    # carries when it is due (`media_due_at`); a fetcher claims it with `update_message` (moving
    # `media_due_at` a lease ahead, as reminders are claimed through `update_job`), keeps the bytes
    # with `save_media`, then moves the items to the row's public `media` (or `media_failed`) and
    # clears `media_due_at` in one more `update_message`. The bytes live in the store's media
    # area: TinyDB, files in a folder beside its own; PostgreSQL, a table.

    @abstractmethod
    async def save_media(self, media: MediaFile) -> None:
        """Keep a picture's bytes durably (on disk / committed) before returning.

        Saving the same id again with the same bytes is harmless (two fetchers racing on an
        expired lease); the first one saved stays. ValueError, keeping nothing, for an id
        new_media_id() could not have made, a type not in bot.media.KEPT_TYPES, no bytes or
        more than bot.media.MAX_BYTES (store/media.py); StoreError, keeping nothing, if the
        store cannot write (a full disk).
        """

    @abstractmethod
    async def load_media(self, media_id: str) -> MediaFile | None:
        """The picture kept under this id, None for any id this store does not hold (or malformed)."""

    @abstractmethod
    async def due_media(self, now: str, limit: int) -> list[Message]:
        """Up to `limit` messages whose `media_due_at` is at or before `now` (ISO UTC), earliest first."""

    async def wait_for_media(self, timeout: float) -> bool:
        """Until a write makes a picture fetch due (True) or `timeout` seconds pass (False).

        TinyDB wakes its fetcher in this process at once; this default just waits out the
        timeout, so a backend without a wake-up is polled (PostgreSQL: every second).
        """
        await asyncio.sleep(timeout)
        return False

    @abstractmethod
    async def next_media_due(self) -> str | None:
        """The earliest `media_due_at` of any message (ISO UTC), None if no fetch waits."""

    # -- a whole store, read and written as rows (`qdn store copy`, store/copy.py) -
    #
    # Everything a store holds is reached from `list_jobs` (each job's `job_messages`) and
    # `phones` (each phone's `get_phone`, and its own texts: `phone_messages` rows with no
    # `job_id`); `import_rows` writes such rows into another store, as they are. Idempotency
    # keys and dashboard events are not rows of this kind: a copy leaves them behind.

    @abstractmethod
    async def phones(self) -> list[str]:
        """Every phone with something kept outside any job -- a state (even `{}`), or texts with no
        `job_id` -- sorted. A phone known only from jobs' conversations is not listed."""

    @abstractmethod
    async def import_rows(
        self,
        *,
        jobs: Iterable[Job] = (),
        messages: Iterable[Message] = (),
        phones: Mapping[str, PhoneState] | None = None,
    ) -> None:
        """Write rows read from another store, as they are, in one atomic write (store/copy.py).

        - `jobs`: each stored whole, keeping its `id`, `token` and every other key (history,
          times, `reminder_due_at` ...); a later `create_job` allocates past the highest id.
        - `messages`: appended in the order given, each to its conversation (its `job_id`'s,
          else its `phone`'s), keeping every key given but `id` -- the store makes a new id --
          `created_at`, `updated_at`, `status`, `twilio_sid`, `send_started_at` included. So a
          conversation imported in its `job_messages` / `phone_messages` order reads back in
          that order. A `pending` one joins the send queue, unclaimed, and wakes the senders.
        - `phones`: each phone's state set to the one given.

        Nothing else happens: no dashboard event is queued, no idempotency key kept, no
        `updated_at` stamped. All or nothing: ValueError, writing nothing, if a job's id is
        taken, a job's token is taken (here, or by another business of the deployment), a
        message's `job_id` names a job neither stored nor in this call, or a message's
        `twilio_sid` is stored already (or given twice).
        """

    # -- pages for dashboards (SPEC "For dashboards") ------------------------
    #
    # Keyset paging: each page starts after the position the previous one ended at, so a page
    # costs the same however long the history is, and rows added meanwhile neither repeat nor
    # hide others. A position this list did not give (or a forged one) is a ValidationError
    # naming `cursor`. `limit` is at least 1.

    @abstractmethod
    async def jobs_page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        """Jobs newest first (by id), optionally only these statuses / this customer phone."""

    @abstractmethod
    async def jobs_changed_page(
        self,
        since: str,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        """Jobs whose `updated_at` is at or after `since` (ISO UTC), oldest change first: for sync.

        A job changed while a client pages moves to the end, so it is seen again, never missed.
        """

    @abstractmethod
    async def job_messages_page(self, job_id: int, *, after: list[Any] | None = None, limit: int) -> Page:
        """A page of the job's conversation, in `job_messages`' order (NotFound if there is no such job)."""

    @abstractmethod
    async def phone_messages_page(self, phone: str, *, after: list[Any] | None = None, limit: int) -> Page:
        """A page of `phone_messages(phone)`, in its order, read without touching the rest of the history."""

    # -- idempotency keys ----------------------------------------------------

    @abstractmethod
    async def find_once(self, key: str, now: str) -> IdempotencyRecord | None:
        """The answer kept for an Idempotency-Key (Once), unless older than IDEMPOTENCY_HOURS at `now`."""

    # -- dashboard events: the outbox ----------------------------------------
    #
    # Once `enable_events()` is called (EVENTS_URL is set), the store itself queues an event
    # (store/events.py) in the very write that causes it: an inbound text stored, a job's
    # status changed, a text turned finally `undelivered` or `failed`. Whichever handler,
    # sender or loop made the write, the event is there exactly when its cause is. They are
    # delivered one at a time, oldest first, by claims with a lease (as texts are).

    @abstractmethod
    def enable_events(self) -> None:
        """From now on, writes queue their dashboard events."""

    @abstractmethod
    async def claim_event(self, now: str, lease_seconds: float) -> Event | None:
        """The oldest undelivered event, claimed for `lease_seconds`, if it is due at `now` and unclaimed.

        Never a later event while an earlier one waits: events go out in the order they happened.
        """

    @abstractmethod
    async def complete_event(self, event_id: str, change: Callable[[Event], Event]) -> Event:
        """Record an attempt's outcome (`change(row)`) and drop the claim, in one write.

        A row left `pending` is due again at its `next_attempt_at`.
        """

    @abstractmethod
    async def release_event(self, event_id: str) -> None:
        """Drop the claim on an event without changing it."""

    @abstractmethod
    async def next_event_due(self) -> str | None:
        """When the oldest undelivered event can next be claimed (ISO UTC), None if none waits."""

    @abstractmethod
    async def wait_for_events(self, timeout: float) -> bool:
        """Until a write queues an event (True) or `timeout` seconds pass (False)."""
