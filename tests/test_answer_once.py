"""SPEC "No answer twice": a phone is never sent the same automatic answer again within 10 minutes.

An auto-responder ("I'm driving", a bot texting "Status?") gets one answer,
not one per text; an answer that says something new goes out as usual; a
dispatcher's understood commands are always answered. First as plain calls
on the conversation logic (the state carried from one text to the next as
the webhook's store write carries it), then through the signed webhook.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import handlers.twilio.receive
from bot.conversation import Context, Decision, Facts, RelayToDispatchers, Role, decide, parse
from tests.test_replies import CONTEXT, NOW, TOKEN, make_job
from tests.test_sms_webhook import (
    ACK,
    COMMANDS,
    HELP,
    JOB,
    OPEN_JOBS,
    C,
    Case,
    D,
    Harness,
    _harness,
    inbound,
    replies_of,
)
from tests.twilio_fake import drain

NOT_UNDERSTOOD = "Didn't understand. Commands: " + COMMANDS
WINDOW = timedelta(minutes=10)
CHICAGO = ZoneInfo("America/Chicago")  # TIMEZONE in tests.support.base_environ


class Phone:
    """One phone texting the pure conversation logic, its state kept between texts as the store keeps it."""

    def __init__(self, role: Role, sender: str = C, context: Context = CONTEXT) -> None:
        self.role, self.sender, self.context = role, sender, context
        self.state: dict = {}

    def text(self, words: str, at: timedelta = timedelta(), **facts) -> Decision:
        if self.role == "dispatcher":
            facts.setdefault("job", make_job())
        decision = decide(
            parse(words, self.role),
            Facts(sender=self.sender, now=NOW + at, phone_state=self.state, **facts),
            self.context,
        )
        self.state = decision.update_phone_state(self.state)
        return decision


# --- the conversation logic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "facts"),
    [
        ("Status?", {"sender_open_jobs": [make_job()]}),
        ("STATUS", {}),  # no open jobs: the hint
        ("HELP", {}),
        (TOKEN, {}),  # a code that matches nothing
        (TOKEN, {"token_job": make_job()}),
    ],
    ids=["status", "status, no jobs", "help", "unknown code", "own code"],
)
def test_a_customer_bot_gets_one_answer_not_one_per_text(words, facts):
    phone = Phone("customer")
    decisions = [phone.text(words, timedelta(minutes=minute), **facts) for minute in (0, 1, 5, 9)]
    assert decisions[0].reply is not None
    assert [decision.reply for decision in decisions[1:]] == [None, None, None]
    assert all(decision.quiet for decision in decisions[1:])


def test_the_same_answer_goes_out_again_ten_minutes_after_it_was_sent():
    phone = Phone("customer")
    jobs = [make_job()]
    assert phone.text("STATUS", sender_open_jobs=jobs).reply is not None
    assert phone.text("STATUS", WINDOW - timedelta(seconds=1), sender_open_jobs=jobs).reply is None
    assert phone.text("STATUS", WINDOW, sender_open_jobs=jobs).reply is not None
    # Counted from when it was last sent, not from the last text that went unanswered.
    assert phone.text("STATUS", WINDOW + timedelta(minutes=9), sender_open_jobs=jobs).reply is None


def test_an_answer_that_says_something_new_is_sent():
    phone = Phone("customer")
    first = phone.text("STATUS", sender_open_jobs=[make_job()]).reply
    moved = phone.text("STATUS", timedelta(minutes=1), sender_open_jobs=[make_job(status="en_route", eta=20)]).reply
    assert first is not None and moved is not None and "en route" in moved
    # A different question gets its own answer too.
    assert phone.text("HELP", timedelta(minutes=2)).reply is not None
    assert phone.text("Status please", timedelta(minutes=3), sender_open_jobs=[make_job()]).reply is None


def test_a_customers_free_text_is_still_relayed_when_the_answer_is_not_sent():
    phone = Phone("customer", context=replace(CONTEXT, ack_interval_hours=0.01))  # acknowledge every 36 s
    first = phone.text("I'm driving, will reply later", sender_open_jobs=[make_job()])
    again = phone.text("I'm driving, will reply later", timedelta(minutes=2), sender_open_jobs=[make_job()])
    assert first.reply is not None
    assert again.reply is None  # past the acknowledgement interval, but the same words within 10 minutes
    for decision in (first, again):
        assert len([effect for effect in decision.effects if isinstance(effect, RelayToDispatchers)]) == 1


def test_a_dispatchers_auto_responder_gets_didnt_understand_once():
    phone = Phone("dispatcher", D)
    replies = [phone.text("I'm driving", timedelta(minutes=minute)).reply for minute in (0, 2, 4, 6)]
    assert replies == [NOT_UNDERSTOOD, None, None, None]
    assert phone.text("I'm driving", timedelta(minutes=10)).reply == NOT_UNDERSTOOD


@pytest.mark.parametrize(
    ("words", "facts"),
    [
        ("JOBS", {}),
        ("HELP", {}),
        ("1042", {}),
        ("R 1042 Running late", {}),
        ("R +15125550111 Friday works", {}),
    ],
)
def test_a_dispatchers_understood_commands_are_always_answered(words, facts):
    phone = Phone("dispatcher", D)
    replies = [phone.text(words, timedelta(seconds=second), **facts).reply for second in range(3)]
    assert None not in replies and len(set(replies)) == 1


def test_a_dispatchers_status_changes_are_always_answered():
    phone = Phone("dispatcher", D)
    for second in range(3):
        decision = phone.text("EN ROUTE 1042 20", timedelta(seconds=second))
        assert decision.status_change is not None and not decision.quiet


def test_an_opt_in_confirmation_is_sent_each_time_a_phone_opts_back_in():
    """It reports a change just made, and no loop can run through it: STOP is answered with nothing."""
    phone = Phone("customer")
    confirmations = []
    for minute, words in enumerate(["STOP", "START", "STOP", "START"]):
        decision = phone.text(words, timedelta(minutes=minute), opted_out=bool(phone.state.get("opted_out")))
        confirmations.append(decision.reply)
    assert confirmations[1] is not None and confirmations[3] == confirmations[1]


def test_the_phone_state_keeps_only_the_last_ten_minutes_of_answers():
    phone = Phone("customer")
    for minute in range(0, 60, 3):  # a new answer every 3 minutes (a different job), under the hourly cap
        assert phone.text("STATUS", timedelta(minutes=minute), sender_open_jobs=[make_job(1000 + minute)]).reply
    size = len(repr(phone.state))
    phone.text("HELP", timedelta(hours=5))
    assert len(repr(phone.state)) < size  # old answers forgotten, not kept forever


# --- through the webhook -----------------------------------------------------------------


class Clock:
    """handlers.twilio.receive.clock, moved by hand; it starts at noon tomorrow in the business's zone, so an ETA
    never crosses midnight (which changes its words) and moves are stamped by it, not the real clock."""

    def __init__(self) -> None:
        tomorrow = datetime.now(CHICAGO).date() + timedelta(days=1)
        self.now = datetime.combine(tomorrow, time(12), CHICAGO).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(handlers.twilio.receive, "clock", fake)
    return fake


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[Harness]:
    yield from _harness(tmp_path)


def test_two_identical_texts_get_one_answer_and_both_are_logged(app: Harness) -> None:
    assert len(replies_of(app.text(C, "Status?"))) == 1
    assert replies_of(app.text(C, "Status?")) == []  # an empty <Response/>
    inbound = [m for m in app.log().values() if m["direction"] == "inbound" and m["phone"] == C]
    answers = [m for m in app.log().values() if m["kind"] == "reply" and m["phone"] == C]
    assert len(inbound) == 2 and len(answers) == 1


def test_a_repeated_delivery_is_answered_as_the_first_delivery_was(app: Harness) -> None:
    """Twilio retrying one MessageSid is not a second text: each delivery gets its first answer again."""
    first, second = Case("", inbound(C, "Status?")), Case("", inbound(C, "Status?"))
    answered = replies_of(app.post(first))
    assert len(answered) == 1
    assert replies_of(app.post(second)) == []
    assert replies_of(app.post(first)) == answered
    assert replies_of(app.post(second)) == []


def test_a_status_asked_again_after_the_job_moved_is_answered(app: Harness, clock: Clock) -> None:
    (before,) = replies_of(app.text(C, "STATUS"))
    app.text(D, f"EN ROUTE {JOB} 20")
    (after,) = replies_of(app.text(C, "STATUS"))
    assert "scheduled" in before and "en route" in after
    assert replies_of(app.text(C, "STATUS")) == []
    clock.now += WINDOW
    assert replies_of(app.text(C, "STATUS")) == [after]


def test_a_customer_bot_texting_help_is_answered_once_in_ten_minutes(app: Harness, clock: Clock) -> None:
    answers = []
    for _ in range(4):
        answers.append(replies_of(app.text(C, "HELP")))
        clock.now += timedelta(minutes=4)
    assert answers == [[HELP], [], [], [HELP]]  # at 0, 4, 8 and 12 minutes


def test_a_dispatchers_im_driving_gets_one_didnt_understand(app: Harness) -> None:
    answers = [replies_of(app.text(D, "I'm driving")) for _ in range(3)]
    assert answers == [[NOT_UNDERSTOOD], [], []]
    inbound = [m for m in app.log().values() if m["direction"] == "inbound" and m["phone"] == D]
    assert len(inbound) == 3  # every text is still logged


def test_a_dispatchers_jobs_is_answered_every_time(app: Harness) -> None:
    assert [replies_of(app.text(D, "JOBS")) for _ in range(2)] == [[OPEN_JOBS], [OPEN_JOBS]]


def test_free_text_from_a_bot_reaches_the_dispatchers_every_time(app: Harness) -> None:
    answers = [replies_of(app.text(C, "Auto-reply: I'm away from my phone")) for _ in range(3)]
    assert answers == [[ACK], [], []]
    drain(app.client)
    relays = [m for m in app.log().values() if m["kind"] == "relay" and m["phone"] == D]
    assert len(relays) == 3
