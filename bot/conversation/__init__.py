"""The two-way SMS conversation as pure functions: parse a text, decide the answer.

How the inbound webhook (handlers/twilio/receive.py) uses it; all I/O stays in the handler::

    role = "dispatcher" if sender in settings.dispatcher_numbers else "customer"
    command = parse(body, role, with_pictures=bool(pictures.ids))  # pictures: what the MMS carried
    phone_state = await store.get_phone(sender)
    need = needs(command, phone_state=phone_state, now=now)
    facts = Facts(sender=sender, now=now, opted_out=await store.is_opted_out(sender),
                  phone_state=phone_state, pictures=pictures, ...)  # plus exactly what `need` names
    decision = decide(command, facts, context)
    # Then one atomic write: the inbound text (kind decision.inbound_kind, job decision.job_id), the
    # Relay / RelayToDispatchers texts (kind "relay"), the TwiML answer decision.reply logged as kind
    # decision.reply_kind ("reply", or "system" for acks/opt-in), and
    # change_phone=decision.update_phone_state when decision.phone_effects: store.record_inbound(...).
    # A dispatcher's EN ROUTE / ARRIVED / DONE / CANCEL (decision.status_change) is store.record_move(...):
    # inside that write the job is moved (Services.status_move) and the rows are made from
    # decision.after_status_change(outcome), whose reply says what happened or why not.
    # The answer is TwiML with decision.reply (None: an empty <Response/>).

See commands.py, facts.py and effects.py for the types; texts.py for every word sent.
"""

from bot.conversation.commands import (
    CUSTOMER,
    DISPATCHER,
    Command,
    Confirm,
    DayJobs,
    FreeText,
    Help,
    Invalid,
    ListJobs,
    OptIn,
    OptOut,
    ReplyTo,
    RescheduleRequest,
    Role,
    SetStatus,
    ShowJob,
    Status,
    TokenQuery,
    Unknown,
)
from bot.conversation.effects import (
    AskToConfirm,
    ChangeStatus,
    ConfirmJob,
    CountAutoReply,
    CountTokenMiss,
    Decision,
    Effect,
    JobEffect,
    MarkAcked,
    PhoneEffect,
    RecordOptIn,
    RecordOptOut,
    Relay,
    RelayToDispatchers,
    RememberAnswer,
)
from bot.conversation.facts import NO_PICTURES, Context, Facts, Needs, Pictures, needs
from bot.conversation.parse import parse
from bot.conversation.respond import decide
from bot.conversation.status_answer import StatusOutcome, answer_status_change

__all__ = [
    "CUSTOMER",
    "DISPATCHER",
    "NO_PICTURES",
    "AskToConfirm",
    "ChangeStatus",
    "Command",
    "Confirm",
    "ConfirmJob",
    "Context",
    "CountAutoReply",
    "CountTokenMiss",
    "DayJobs",
    "Decision",
    "Effect",
    "Facts",
    "FreeText",
    "Help",
    "Invalid",
    "JobEffect",
    "ListJobs",
    "MarkAcked",
    "Needs",
    "OptIn",
    "OptOut",
    "PhoneEffect",
    "Pictures",
    "RecordOptIn",
    "RecordOptOut",
    "Relay",
    "RelayToDispatchers",
    "RememberAnswer",
    "ReplyTo",
    "RescheduleRequest",
    "Role",
    "SetStatus",
    "ShowJob",
    "Status",
    "StatusOutcome",
    "TokenQuery",
    "Unknown",
    "answer_status_change",
    "decide",
    "needs",
    "parse",
]
