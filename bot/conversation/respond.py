"""`decide(command, facts, context)`: the one entry point from parsed text to a Decision.

Besides choosing by role, it applies the guards every answer shares: an
opted-out sender is sent nothing (until START/UNSTOP/YES), and no phone gets
more than guards.AUTO_REPLY_LIMIT automatic answers an hour, so another
auto-responder cannot ping-pong with us. A dispatcher's understood commands
are never capped: they are a person's work and the answer is their receipt.
"""

from __future__ import annotations

from dataclasses import replace

from bot.conversation import guards
from bot.conversation.commands import CUSTOMER, Command, Invalid
from bot.conversation.customer import decide_customer
from bot.conversation.dispatcher import decide_dispatcher
from bot.conversation.effects import CountAutoReply, Decision, MarkAcked, RecordOptIn
from bot.conversation.facts import Context, Facts


def decide(command: Command, facts: Facts, context: Context) -> Decision:
    """The reply and effects for `command`, given what the handler looked up (see `needs`)."""
    if command.role == CUSTOMER:
        decision = decide_customer(command, facts, context)
    else:
        decision = decide_dispatcher(command, facts, context)
    capped = command.role == CUSTOMER or decision.inbound_kind == "text" or isinstance(command, Invalid)
    opting_in = any(isinstance(effect, RecordOptIn) for effect in decision.effects)
    if (facts.opted_out and not opting_in) or (capped and guards.over_auto_reply_cap(facts.phone_state, facts.now)):
        # No answer; and no acknowledgement is recorded, since none went out.
        effects = tuple(effect for effect in decision.effects if not isinstance(effect, MarkAcked))
        return replace(decision, reply=None, effects=effects, quiet=True)
    if capped and decision.reply is not None:
        return replace(decision, effects=(*decision.effects, CountAutoReply()))
    return decision
