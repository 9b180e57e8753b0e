"""What a decision needs to know, and how the handler learns what to look up.

The handler does the I/O; `needs(command, ...)` names exactly the lookups a
command calls for, and the handler hands the results back in a `Facts`.
Context is the same for every text (from Settings); Facts are per text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.confirmations import CONFIRM_WINDOW
from bot.conversation import guards
from bot.conversation.commands import (
    CUSTOMER,
    Command,
    Confirm,
    DayJobs,
    ListJobs,
    OptIn,
    OptOut,
    ReplyTo,
    RescheduleRequest,
    SetStatus,
    ShowJob,
    TokenQuery,
)

Job = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """Settings the wording depends on (build once from config.settings.Settings)."""

    business_name: str
    business_phone: str | None  # E.164; shown as (512) 555-0123
    timezone: tzinfo
    ack_interval_hours: float
    tracking_url: Callable[[str], str]  # token -> public tracking link (Settings.tracking_url)
    # Whether DISPATCHER_NUMBERS names anyone: with nobody to relay to, no answer may promise a person.
    has_dispatchers: bool = True


@dataclass(frozen=True)
class Needs:
    """The lookups one inbound text calls for, beyond the two every text needs.

    Always: `opted_out` = store.is_opted_out(sender), `phone_state` = store.get_phone(sender).
    """

    sender_open_jobs: bool = False  # store.list_jobs(statuses=OPEN_STATUSES, phone=sender) -> Facts.sender_open_jobs
    open_jobs: bool = False  # store.list_jobs(statuses=OPEN_STATUSES) -> Facts.open_jobs
    job_id: int | None = None  # store.get_job(job_id) -> Facts.job (None on NotFound)
    token: str | None = None  # store.find_job_by_token(token) -> Facts.token_job
    # R/REPLY: store.is_opted_out(the target) -> Facts.target_opted_out, where the target
    # is Facts.job's customer_phone (job_id given) or ReplyTo.phone.
    target_opt_out: bool = False
    # A confirmation or reschedule request: the sender's jobs (any status) asked to confirm since then
    # (`confirm_asked_at`, set by the reminder) -> Facts.asked_jobs
    asked_since: datetime | None = None


@dataclass(frozen=True)
class Pictures:
    """The pictures an inbound text carried (SPEC "Pictures (MMS)"), as the handler named them.

    A picture the text announced but that will never be fetched (no URL, or a URL that is not
    Twilio's media) is only counted: nobody can see it, but a person is told it was sent.
    """

    ids: tuple[str, ...] = ()  # our media ids of the pictures being fetched, in the text's order
    links: tuple[str, ...] = ()  # private links to them, in the same order (relays to dispatchers show these)
    unavailable: int = 0  # announced, never to be fetched

    @property
    def count(self) -> int:
        return len(self.ids) + self.unavailable

    def __bool__(self) -> bool:
        return self.count > 0


NO_PICTURES = Pictures()


@dataclass(frozen=True)
class Facts:
    """What the handler looked up for one inbound text (unneeded fields keep their defaults)."""

    sender: str  # E.164 `From`
    now: datetime  # timezone-aware
    opted_out: bool = False
    phone_state: Mapping[str, Any] = field(default_factory=dict)
    sender_open_jobs: Sequence[Job] = ()  # all of them, newest first; bot.job_choice says which a text means
    open_jobs: Sequence[Job] = ()  # newest first
    job: Job | None = None
    token_job: Job | None = None
    target_opted_out: bool = False
    pictures: Pictures = NO_PICTURES  # what the text carried besides its words
    asked_jobs: Sequence[Job] = ()  # the sender's jobs asked to confirm within CONFIRM_WINDOW, newest first


def needs(command: Command, *, phone_state: Mapping[str, Any], now: datetime) -> Needs:
    """The lookups `command` needs; `phone_state` (the sender's) decides whether a token may be looked up.

    A phone over the token-miss limit gets no lookup at all (`token` None), as
    the web answers 429 without looking.
    """
    if command.role == CUSTOMER:
        # Every customer text is logged against the open job it is about (bot.job_choice), so all are read.
        token = None
        if isinstance(command, TokenQuery) and not guards.token_lookups_blocked(phone_state, now):
            token = command.token
        # YES is an opt-in keyword, and a confirmation from a number that is not opted out.
        answering = isinstance(command, Confirm | RescheduleRequest) or (
            isinstance(command, OptIn) and command.keyword == "YES"
        )
        return Needs(sender_open_jobs=True, token=token, asked_since=now - CONFIRM_WINDOW if answering else None)
    if isinstance(command, SetStatus):
        # Known before the move so a missing job gets "No job 1043." and no log row in a job that isn't there;
        # the customer's opt-out says whether the move's status text goes out or is logged `skipped`.
        return Needs(job_id=command.job_id, target_opt_out=True)
    if isinstance(command, OptOut | OptIn):
        return Needs()
    if isinstance(command, ListJobs | DayJobs):
        return Needs(open_jobs=True)
    if isinstance(command, ShowJob):
        return Needs(job_id=command.job_id)
    if isinstance(command, ReplyTo):
        return Needs(job_id=command.job_id, target_opt_out=True)
    return Needs()
