"""What a decision asks the handler to do, and the decision itself.

Effect
├── MoveJob             run Services.change_status(job_id, status, by=sender, ...), then Decision.after_move
├── Relay               queue a `relay` text to one phone (a dispatcher's R/REPLY)
├── RelayToDispatchers  queue a `relay` text to every DISPATCHER_NUMBERS phone
└── PhoneEffect         a change to the sender's phone state (one store.update_phone)
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
from bot.conversation.move_answer import answer_move


class Effect:
    """Something the handler carries out after storing the inbound text."""


@dataclass(frozen=True)
class MoveJob(Effect):
    job_id: int
    status: str
    eta_minutes: int | None = None
    total: float | None = None


@dataclass(frozen=True)
class Relay(Effect):
    """Text `body` to `to_phone` (kind `relay`), logged with `job_id` when there is one."""

    to_phone: str
    body: str
    job_id: int | None = None


@dataclass(frozen=True)
class RelayToDispatchers(Effect):
    """Text `body` to each dispatcher (kind `relay`), logged in job `job_id`'s conversation if set."""

    body: str
    job_id: int | None = None


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
    effects      to carry out in order, after the inbound text is stored once
    decided_at   the `now` the decision was made with (phone-state changes are stamped with it)
    quiet        the sender gets no answer (opted out, over the hourly cap, or this answer went out
                 within guards.REPEAT_WINDOW); kept by after_move
    """

    reply: str | None
    inbound_kind: Literal["command", "text"]
    decided_at: datetime
    job_id: int | None = None
    reply_kind: Literal["reply", "system"] = "reply"
    effects: tuple[Effect, ...] = field(default=())
    quiet: bool = False

    @property
    def move(self) -> MoveJob | None:
        """The status move to run before the reply is known (dispatchers' EN ROUTE etc.)."""
        return next((effect for effect in self.effects if isinstance(effect, MoveJob)), None)

    @property
    def phone_effects(self) -> tuple[PhoneEffect, ...]:
        return tuple(effect for effect in self.effects if isinstance(effect, PhoneEffect))

    def update_phone_state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The sender's phone state after this decision: pass to `store.update_phone(sender, ...)`.

        A pure function of the current state, so the store can run it inside
        its atomic write and concurrent texts from one phone do not lose counts.
        """
        updated = dict(state)
        for effect in self.phone_effects:
            effect.apply(updated, self.decided_at)
        return updated

    def after_move(self, outcome: MoveOutcome) -> Decision:
        """This decision with the dispatcher's answer to how the move went."""
        move = self.move
        if move is None:
            raise ValueError("after_move needs a decision with a MoveJob effect")
        if outcome.job is not None:
            job_id: int | None = outcome.job["id"]
        elif outcome.result == "refused":
            job_id = move.job_id  # the job exists: its conversation keeps the attempt and the reason
        else:
            job_id = None
        return replace(self, reply=None if self.quiet else answer_move(move, outcome), job_id=job_id)


@dataclass(frozen=True)
class MoveOutcome:
    """How a MoveJob went, as the handler saw it; build one with the class methods."""

    result: Literal["moved", "unchanged", "refused", "not_found"]
    job: dict[str, Any] | None = None  # the job after the move (moved, unchanged)
    customer_texted: bool = False  # moved: the notification was queued, not skipped for opt-out
    message: str = ""  # refused: InvalidTransition's message, e.g. "1042 is complete; it can't go en route"

    @classmethod
    def moved(cls, job: dict[str, Any], *, customer_texted: bool) -> MoveOutcome:
        return cls("moved", job, customer_texted=customer_texted)

    @classmethod
    def unchanged(cls, job: dict[str, Any]) -> MoveOutcome:
        return cls("unchanged", job)

    @classmethod
    def refused(cls, message: str) -> MoveOutcome:
        return cls("refused", message=message)

    @classmethod
    def not_found(cls) -> MoveOutcome:
        return cls("not_found")

    @classmethod
    def from_change(cls, job: dict[str, Any], changed: bool, messages: list[dict[str, Any]]) -> MoveOutcome:
        """From Services.change_status's JobWrite (job, changed, messages): texted unless skipped."""
        if not changed:
            return cls.unchanged(job)
        texted = bool(messages) and all(message.get("status") != "skipped" for message in messages)
        return cls.moved(job, customer_texted=texted)
