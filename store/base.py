"""The store interface every backend implements (TinyDB, PostgreSQL): the union of its roles.

Callers never see files or SQL. Each role -- jobs, the message log, the send queue, phone
state, pictures ... -- is an interface of its own in store/roles/, one module each, matching the
contract suite's files (tests/store_contract/); a caller may name just the role it uses.

Records are plain dicts; store/records.py declares every key they may hold (`JobRecord`,
`MessageRecord`, `PhoneStateRecord`) and the aliases (`Job`, `Message`, `PhoneState`, `Event`)
that name them in the signatures. The names below are re-exported from where they live, so
`from store.base import Store, Job, Once` keeps working.
"""

from __future__ import annotations

from store.records import Event, Job, Message, PhoneState
from store.roles.changes import ConversationChanges
from store.roles.consent import ConsentRecords
from store.roles.conversations import Conversations
from store.roles.health import Health
from store.roles.idempotency import IDEMPOTENCY_HOURS, IdempotencyKeys, KeyUsed, Once
from store.roles.import_rows import Rows
from store.roles.inbound import ConversationFacts, FactsWanted, InboundTexts, JobMove, PhoneRead, Turn
from store.roles.jobs import JOB_FIELDS, Jobs, JobWrite, public_job
from store.roles.media import MediaFile, Pictures
from store.roles.messages import MESSAGE_FIELDS, MessageLog, MessageRead, public_message
from store.roles.outbox import Outbox
from store.roles.pages import Page, Pages
from store.roles.phone_state import PhoneStates
from store.roles.queue import SendQueue
from store.roles.reminders import Reminders
from store.roles.reviews import Reviews
from store.roles.throttles import SendRate

__all__ = [
    "IDEMPOTENCY_HOURS",
    "JOB_FIELDS",
    "MESSAGE_FIELDS",
    "ConversationFacts",
    "Event",
    "FactsWanted",
    "Job",
    "JobMove",
    "JobWrite",
    "KeyUsed",
    "MediaFile",
    "Message",
    "MessageRead",
    "Once",
    "Page",
    "PhoneRead",
    "PhoneState",
    "Store",
    "Turn",
    "public_job",
    "public_message",
]


class Store(
    Health,
    InboundTexts,  # before the three roles it reads
    Jobs,
    MessageLog,
    PhoneStates,
    SendQueue,
    SendRate,
    Reminders,
    Reviews,
    Pictures,
    Rows,
    Pages,
    IdempotencyKeys,
    Outbox,
    ConsentRecords,
    ConversationChanges,
    Conversations,
):
    """Persistence for one business's jobs, message log and per-phone state: every role at once."""
