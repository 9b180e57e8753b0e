"""`decide(command, facts, context)`: the one entry point from parsed text to a Decision.

Besides choosing by role, it applies the guards every answer shares, so they
hold for every kind of automatic answer (a reply, a "didn't understand", a
HELP text, an acknowledgement) in this one place:

- an opted-out sender is sent nothing (until START/UNSTOP/YES);
- no phone gets more than guards.AUTO_REPLY_LIMIT automatic answers an hour;
- no phone gets the same automatic answer again within guards.REPEAT_WINDOW
  (SPEC "No answer twice"): an "I'm driving" auto-responder, or a bot texting
  "Status?", gets one answer, not one per text. An answer that says something
  new (the job moved) has other words, so it goes out.

A dispatcher's understood commands are neither capped nor held back: they
are a person's work and the answer is their receipt. An opt-in confirmation
is not held back either: it reports a change the person just made, and no
loop can run through it, since the STOP before it is answered with nothing.
"""

from __future__ import annotations

from dataclasses import replace

from bot.conversation import guards
from bot.conversation.commands import CUSTOMER, Command, Invalid, OptOut
from bot.conversation.customer import decide_customer
from bot.conversation.dispatcher import decide_dispatcher
from bot.conversation.effects import CountAutoReply, Decision, MarkAcked, RecordOptIn, RememberAnswer
from bot.conversation.facts import Context, Facts


def decide(command: Command, facts: Facts, context: Context) -> Decision:
    """The reply and effects for `command`, given what the handler looked up (see `needs`)."""
    if command.role == CUSTOMER:
        decision = decide_customer(command, facts, context)
    else:
        decision = decide_dispatcher(command, facts, context)
    if isinstance(command, OptOut) and command.phrase:  # its confirmation: owed once, never capped
        return decision
    opting_in = any(isinstance(effect, RecordOptIn) for effect in decision.effects)
    if facts.opted_out and not opting_in:
        return _unanswered(decision)
    # Automatic: anything a customer is sent, and a dispatcher's text we could not carry out.
    automatic = command.role == CUSTOMER or decision.inbound_kind == "text" or isinstance(command, Invalid)
    if not automatic:
        return decision
    if guards.over_auto_reply_cap(facts.phone_state, facts.now):
        return _unanswered(decision)
    if decision.reply is None:
        return decision
    if not opting_in and guards.answered_recently(facts.phone_state, decision.reply, facts.now):
        return _unanswered(decision)
    return replace(decision, effects=(*decision.effects, CountAutoReply(), RememberAnswer(decision.reply)))


def _unanswered(decision: Decision) -> Decision:
    """`decision` with no answer; its other effects (relays, opt-outs, miss counts) still happen."""
    # No acknowledgement is recorded, since none went out.
    effects = tuple(effect for effect in decision.effects if not isinstance(effect, MarkAcked))
    return replace(decision, reply=None, effects=effects, quiet=True)
