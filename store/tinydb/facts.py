"""An inbound text's lookups (Store.conversation_facts) answered by the TinyDB documents in one call.

The default (store/roles/inbound.py) makes up to six store calls, each a mutex hold and a durability
wait; here its own code runs over the documents at once, so the two can never answer differently.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar, cast

from store.base import ConversationFacts, FactsWanted, Job, Message, PhoneState
from store.roles.inbound import InboundTexts
from store.tinydb.documents import Documents

T = TypeVar("T")


def conversation_facts(core: Documents, sender: str, wanted: FactsWanted) -> ConversationFacts:
    """Store.conversation_facts as its default makes it (store/roles/inbound.py: the separate lookups, in
    its order), the default's own code run in one call: one mutex hold and one durability wait a
    webhook instead of one of each a lookup, up to six (issue #30)."""
    lookups = cast(InboundTexts, _Lookups(core))  # the default reads only the six lookups _Lookups answers
    return _at_once(InboundTexts.conversation_facts(lookups, sender, wanted))


class _Lookups:
    """The lookups conversation_facts' default makes, answered by `core` at once: under the mutex the
    caller holds, with no durability wait of their own (the caller waits once, for all they read)."""

    def __init__(self, core: Documents) -> None:
        self.core = core

    async def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        return self.core.find_message_by_sid(twilio_sid)

    async def get_job(self, job_id: int) -> Job:
        return self.core.get_job(job_id)

    async def list_jobs(self, *, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Job]:
        return self.core.list_jobs(statuses, phone)

    async def find_job_by_token(self, token: str) -> Job | None:
        return self.core.find_job_by_token(token)

    async def get_phone(self, phone: str) -> PhoneState:
        return self.core.get_phone(phone)

    async def is_opted_out(self, phone: str) -> bool:
        return self.core.is_opted_out(phone)


def _at_once(coroutine: Coroutine[Any, Any, T]) -> T:
    """The value of a coroutine that never suspends (it awaits only _Lookups), without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("conversation_facts suspended: it awaits more than _Lookups' lookups")
