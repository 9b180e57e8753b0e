"""What a decision asks the handler to do, and the decision itself.

Effect
├── ChangeStatus        move the job (Services.status_move, by=<who texted>) in the write that stores
│                       the text; Decision.after_status_change words the answer; `media`: the
│                       dispatcher's pictures go with the status text (an MMS)
├── Relay               a `relay` text to one phone (a dispatcher's R/REPLY), with `media` likewise
├── RelayToDispatchers  a `relay` text to every DISPATCHER_NUMBERS phone
├── JobEffect           a write on the customer's job, run before the inbound text is stored
│   ├── ConfirmJob      `confirmed_at` for the appointment `scheduled_for` (a C after a reminder)
│   └── AskToConfirm    the customer was asked to confirm `scheduled_for` now (a C after a reschedule)
└── PhoneEffect         a change to the texting phone's state (Decision.update_phone_state)
    ├── RecordOptOut
    ├── RecordOptIn
    ├── MarkAcked        the free-text acknowledgement was sent now (ACK_INTERVAL_HOURS guard)
    ├── CountTokenMiss   a token-shaped text matched no job (miss throttle)
    ├── CountAutoReply   an automatic answer was sent (per-hour cap)
    └── RememberAnswer   these words were sent now (no answer twice within guards.REPEAT_WINDOW)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from bot.conversation import guards
from bot.conversation.commands import Command
from bot.conversation.status_answer import StatusOutcome, answer_status_change


class Effect:
    """Something the handler carries out for a decision.

    The relays and phone-state changes are stored in the same atomic write as
    the inbound text (store.record_inbound); so is a status change
    (store.record_move), whose outcome the answer and the inbound text's job
    depend on: the handler words them inside that write, on the job as stored.
    """


@dataclass(frozen=True)
class ChangeStatus(Effect):
    """Set job `job_id`'s status (a dispatcher's EN ROUTE / ARRIVED / DONE / CANCEL)."""

    job_id: int
    status: str
    eta_minutes: int | None = None
    total: float | None = None
    media: tuple[str, ...] = ()  # media ids of the dispatcher's pictures, sent with the customer's status text


@dataclass(frozen=True)
class Relay(Effect):
    """Text `body` to `to_phone` (kind `relay`), logged with `job_id` when there is one."""

    to_phone: str
    body: str
    job_id: int | None = None
    media: tuple[str, ...] = ()  # media ids of the dispatcher's pictures: sent with it as an MMS


@dataclass(frozen=True)
class RelayToDispatchers(Effect):
    """Text `body` to each dispatcher (kind `relay`), logged in job `job_id`'s conversation if set."""

    body: str
    job_id: int | None = None


class JobEffect(Effect):
    """A change to job `job_id` (bot/confirmations.py applies it inside the store's job write)."""

    job_id: int


@dataclass(frozen=True)
class ConfirmJob(JobEffect):
    """The customer confirmed the appointment `scheduled_for` of job `job_id`."""

    job_id: int
    scheduled_for: str


@dataclass(frozen=True)
class AskToConfirm(JobEffect):
    """The customer's answer asks them to confirm the new appointment `scheduled_for`: the window starts again."""

    job_id: int
    scheduled_for: str


class PhoneEffect(Effect):
    def apply(self, state: dict[str, Any], now: datetime) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class RecordOptOut(PhoneEffect):
    keyword: str = "STOP"

    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.record_opt_out(state, now, self.keyword)


@dataclass(frozen=True)
class RecordOptIn(PhoneEffect):
    keyword: str = "START"

    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.record_opt_in(state, now, self.keyword)


@dataclass(frozen=True)
class MarkAcked(PhoneEffect):
    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.mark_acked(state, now)


@dataclass(frozen=True)
class CountTokenMiss(PhoneEffect):
    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.count(state, guards.MISS_COUNTER, now, guards.TOKEN_MISS_WINDOW)


@dataclass(frozen=True)
class CountAutoReply(PhoneEffect):
    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.count(state, guards.REPLY_COUNTER, now, guards.AUTO_REPLY_WINDOW)


@dataclass(frozen=True)
class RememberAnswer(PhoneEffect):
    reply: str

    def apply(self, state: dict[str, Any], now: datetime) -> None:
        guards.remember_answer(state, self.reply, now)


@dataclass(frozen=True)
class Decision:
    """The answer to one inbound text and what to do about it.

    reply        the TwiML <Message> body, or None for an empty <Response/>
    reply_kind   how the reply is logged: "reply", or "system" (acknowledgement, opt-in confirmation)
    inbound_kind how the inbound text is logged: "command" (understood) or "text"
    job_id       the job whose conversation the inbound text and reply belong to (None: the phone's)
    effects      to carry out, all in the write that stores the inbound text
    decided_at   the `now` the decision was made with (phone-state changes are stamped with it)
    quiet        whoever texted gets no answer (opted out, over the hourly cap, or this answer went
                 out within guards.REPEAT_WINDOW); kept by after_status_change
    """

    reply: str | None
    inbound_kind: Literal["command", "text"]
    decided_at: datetime
    job_id: int | None = None
    reply_kind: Literal["reply", "system"] = "reply"
    effects: tuple[Effect, ...] = field(default=())
    quiet: bool = False

    @classmethod
    def answering(
        cls,
        command: Command,
        now: datetime,
        reply: str | None,
        effects: tuple[Effect, ...],
        *,
        job_id: int | None,
        kind: str = "reply",
    ) -> Decision:
        """The decision to answer `command` with `reply` (`kind` "system" for acknowledgements and
        opt-in confirmations); the inbound text is logged as a `command` if understood, else `text`."""
        return cls(
            reply=reply,
            inbound_kind="command" if command.understood else "text",
            decided_at=now,
            job_id=job_id,
            reply_kind="system" if kind == "system" else "reply",
            effects=effects,
        )

    @property
    def status_change(self) -> ChangeStatus | None:
        """The status change the reply depends on (dispatchers' EN ROUTE etc.)."""
        return next((effect for effect in self.effects if isinstance(effect, ChangeStatus)), None)

    @property
    def job_effects(self) -> tuple[JobEffect, ...]:
        return tuple(effect for effect in self.effects if isinstance(effect, JobEffect))

    @property
    def phone_effects(self) -> tuple[PhoneEffect, ...]:
        return tuple(effect for effect in self.effects if isinstance(effect, PhoneEffect))

    def update_phone_state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The texting phone's state after this decision: the handler passes this method to
        `store.record_inbound(..., change_phone=...)`.

        A pure function of the current state, so the store runs it inside the
        webhook's one atomic write and concurrent texts from one phone do not
        lose counts.
        """
        updated = dict(state)
        for effect in self.phone_effects:
            effect.apply(updated, self.decided_at)
        return updated

    def after_status_change(self, outcome: StatusOutcome) -> Decision:
        """This decision with the dispatcher's answer to how the status change went."""
        change = self.status_change
        if change is None:
            raise ValueError("after_status_change needs a decision with a ChangeStatus effect")
        if outcome.job is not None:
            job_id: int | None = outcome.job["id"]
        elif outcome.result == "refused":
            job_id = change.job_id  # the job exists: its conversation keeps the attempt and the reason
        else:
            job_id = None
        reply = None if self.quiet else answer_status_change(change.job_id, outcome, photos=len(change.media))
        return replace(self, reply=reply, job_id=job_id)
