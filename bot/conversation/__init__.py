"""The two-way SMS conversation as pure functions: parse a text, decide the answer.

How the inbound webhook uses it (all I/O stays in the handler)::

    role = "dispatcher" if sender in settings.dispatcher_numbers else "customer"
    command = parse(body, role)
    phone_state = await store.get_phone(sender)
    need = needs(command, phone_state=phone_state, now=now)
    facts = Facts(sender=sender, now=now, opted_out=await store.is_opted_out(sender),
                  phone_state=phone_state, ...)         # plus exactly what `need` names
    decision = decide(command, facts, context)
    # store the inbound text once (kind decision.inbound_kind, job decision.job_id)
    if decision.move:                                    # dispatcher EN ROUTE / ARRIVED / DONE / CANCEL
        outcome = ...                                    # Services.change_status(by=sender) -> MoveOutcome
        decision = decision.after_move(outcome)          # the reply now says what happened or why not
    if decision.phone_effects:
        await store.update_phone(sender, decision.update_phone_state)
    # queue Relay / RelayToDispatchers (kind "relay"); answer TwiML with decision.reply (None: empty),
    # logged as an outbound row of kind decision.reply_kind ("reply", or "system" for acks/opt-in)

See commands.py, facts.py and effects.py for the types.
"""

from bot.conversation.commands import (
    CUSTOMER,
    DISPATCHER,
    Command,
    FreeText,
    Help,
    Invalid,
    ListJobs,
    Move,
    OptIn,
    OptOut,
    ReplyTo,
    Role,
    ShowJob,
    Status,
    TokenQuery,
    Unknown,
)
from bot.conversation.effects import (
    CountAutoReply,
    CountTokenMiss,
    Decision,
    Effect,
    MarkAcked,
    MoveJob,
    MoveOutcome,
    PhoneEffect,
    RecordOptIn,
    RecordOptOut,
    Relay,
    RelayToDispatchers,
    RememberAnswer,
)
from bot.conversation.facts import Context, Facts, Needs, needs
from bot.conversation.move_answer import answer_move
from bot.conversation.parse import parse
from bot.conversation.respond import decide

__all__ = [
    "CUSTOMER",
    "DISPATCHER",
    "Command",
    "Context",
    "CountAutoReply",
    "CountTokenMiss",
    "Decision",
    "Effect",
    "Facts",
    "FreeText",
    "Help",
    "Invalid",
    "ListJobs",
    "MarkAcked",
    "Move",
    "MoveJob",
    "MoveOutcome",
    "Needs",
    "OptIn",
    "OptOut",
    "PhoneEffect",
    "RecordOptIn",
    "RecordOptOut",
    "Relay",
    "RelayToDispatchers",
    "RememberAnswer",
    "ReplyTo",
    "Role",
    "ShowJob",
    "Status",
    "TokenQuery",
    "Unknown",
    "answer_move",
    "decide",
    "needs",
    "parse",
]
