"""What an inbound text means: the commands `parse` returns.

Every command keeps the text as it arrived (`text`) and who sent it
(`role`), because some meanings depend on facts only the handler has: a bare
START from a number that is not opted out is ordinary text, not an opt-in.

Command
├── OptOut      STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT (whole text; both roles)
├── OptIn       START, UNSTOP, YES (whole text; both roles; meaningful only when opted out)
├── Help        HELP / INFO (customers), HELP (dispatchers)
├── Status      customer: STATUS, "Status please", "what's my status?"
├── TokenQuery  customer: a tracking token in any case / grouping
├── Confirm     customer: C, CONFIRM, Y, 👍 (YES is an OptIn that decide turns into one); a confirmation
│               only within 48 hours after a reminder (bot/conversation/confirm.py), else free text
├── RescheduleRequest customer: RESCHEDULE, "change", "can we move it" -- likewise only after a reminder
├── FreeText    customer: anything else (relayed to dispatchers)
├── SetStatus   dispatcher: EN ROUTE / ARRIVED / DONE / CANCEL a job
├── ListJobs    dispatcher: JOBS, STATUS
├── DayJobs     dispatcher: TODAY, TOMORROW (that day's open jobs, in order of appointment)
├── ShowJob     dispatcher: 1042, STATUS 1042
├── ReplyTo     dispatcher: R / REPLY <job id or phone> <text>
├── Invalid     dispatcher: a command recognised but incomplete or out of range
└── Unknown     dispatcher: anything else
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "dispatcher"]
CUSTOMER: Role = "customer"
DISPATCHER: Role = "dispatcher"


@dataclass(frozen=True)
class Command:
    text: str  # the body exactly as received
    role: Role

    @property
    def understood(self) -> bool:
        """Whether the message log records the text as a `command` (else `text`)."""
        return True


@dataclass(frozen=True)
class OptOut(Command):
    keyword: str = "STOP"  # upper-case, as the sender typed it; for a phrase, the words texted
    phrase: bool = False  # "please stop texting me" (bot.stop_phrases), not one of Twilio's keywords


@dataclass(frozen=True)
class OptIn(Command):
    keyword: str = "START"


@dataclass(frozen=True)
class Help(Command):
    pass


@dataclass(frozen=True)
class Status(Command):
    pass


@dataclass(frozen=True)
class TokenQuery(Command):
    token: str = ""  # canonical form, e.g. K7M2-9XPQ-2HTR-4VWA-C3DF


@dataclass(frozen=True)
class FreeText(Command):
    # The customer seems to ask for a job to be cancelled ("CANCEL JOB"): the
    # relay says so, because a bare CANCEL would have opted them out instead.
    cancel_request: bool = False

    @property
    def understood(self) -> bool:
        return False


@dataclass(frozen=True)
class Confirm(Command):
    """The customer confirms the appointment they were reminded of (SPEC "Confirmations and reviews")."""


@dataclass(frozen=True)
class RescheduleRequest(Command):
    """The customer asks to move the appointment they were reminded of: relayed marked as such.

    Logged as free text (`text`), since a person has to answer it."""

    @property
    def understood(self) -> bool:
        return False


@dataclass(frozen=True)
class SetStatus(Command):
    job_id: int = 0
    status: str = ""  # en_route, arrived, complete or cancelled
    eta_minutes: int | None = None  # only with en_route, 0..1440
    total: float | None = None  # only with complete, validated by bot.job_fields.parse_total


@dataclass(frozen=True)
class ListJobs(Command):
    pass


@dataclass(frozen=True)
class DayJobs(Command):
    days_ahead: int = 0  # 0: TODAY, 1: TOMORROW (in the business's zone)


@dataclass(frozen=True)
class ShowJob(Command):
    job_id: int = 0


@dataclass(frozen=True)
class ReplyTo(Command):
    """`body` goes verbatim to job `job_id`'s customer, or to `phone` (E.164); exactly one is set.

    `body` is empty only for "R 1042" sent with pictures (parse(..., with_pictures=True)).
    """

    body: str = ""
    job_id: int | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Invalid(Command):
    """A dispatcher command we recognised but cannot carry out; `error` says why and shows an example."""

    error: str = ""


@dataclass(frozen=True)
class Unknown(Command):
    @property
    def understood(self) -> bool:
        return False
