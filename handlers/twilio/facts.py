"""What the conversation's decision needs to know about a text, read in one store call.

bot.conversation.needs(command) names the lookups (the sender's open jobs, a job, a
tracking code's job, a reply target's opt-out); Store.conversation_facts reads them,
the sender's state and the duplicate check together (one round trip on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import conversation as talk
from bot.jobs import iso_utc
from handlers.services import Services
from store import Message
from store.base import FactsWanted, PhoneRead


@dataclass(frozen=True)
class Looked:
    """What conversation_facts found for a text, and what it read to find it."""

    facts: talk.Facts  # what the decision reads (empty for a repeated delivery)
    already: Message | None  # the message stored for this MessageSid: a repeated delivery, answered as before
    read: PhoneRead | None  # the sender's state as read, with its version: record_inbound(read=...) writes over it


def _wanted(need: talk.Needs, command: talk.Command, sid: str | None) -> FactsWanted:
    """`need` in the store's terms; the reply target's phone, if the command names one (R +1512...)."""
    return FactsWanted(
        sid=sid,
        sender_open_jobs=need.sender_open_jobs,
        open_jobs=need.open_jobs,
        job_id=need.job_id,
        token=need.token,
        target_opt_out=need.target_opt_out,
        target_phone=getattr(command, "phone", None),
        asked_since=None if need.asked_since is None else iso_utc(need.asked_since),
    )


def _covers(asked: talk.Needs, need: talk.Needs) -> bool:
    """Whether what was asked for holds every lookup `need` names."""
    return (
        (asked.sender_open_jobs or not need.sender_open_jobs)
        and (asked.open_jobs or not need.open_jobs)
        and need.job_id in (None, asked.job_id)
        and need.token in (None, asked.token)
        and (asked.target_opt_out or not need.target_opt_out)
        and need.asked_since in (None, asked.asked_since)
    )


async def conversation_facts(svc: Services, command: talk.Command, sender: str, now: datetime, sid: str) -> Looked:
    """Look up exactly what `needs(command)` names, and whether `sid` is stored already, in one store call
    (Store.conversation_facts: one round trip on PostgreSQL). Returns the facts, the message stored
    for `sid` if this is a repeated delivery (the facts are then empty: nothing is decided again),
    and the sender's state as read, for the write that follows (`record_inbound(read=looked.read)`).

    `needs` depends on the sender's state, read in the same call: the lookups are asked for as for a
    state that blocks nothing -- a state only ever rules one out (a tracking code's, after too many
    misses) -- and what the state rules out is dropped here, unseen by the decision.
    """
    asked = talk.needs(command, phone_state={}, now=now)
    found = await svc.store.conversation_facts(sender, _wanted(asked, command, sid))
    if found.already is not None:
        return Looked(talk.Facts(sender=sender, now=now), found.already, None)
    need = talk.needs(command, phone_state=found.phone_state, now=now)
    if not _covers(asked, need):  # a state that asks for more than none: not so today, but looked up if ever
        found = await svc.store.conversation_facts(sender, _wanted(need, command, None))
    facts = talk.Facts(
        sender=sender,
        now=now,
        opted_out=bool(found.phone_state.get("opted_out")),  # Store.is_opted_out reads this key: one read, not two
        phone_state=found.phone_state,
        sender_open_jobs=found.sender_open_jobs if need.sender_open_jobs else (),
        open_jobs=found.open_jobs if need.open_jobs else (),
        job=found.job if need.job_id is not None else None,
        token_job=found.token_job if need.token else None,
        target_opted_out=found.target_opted_out if need.target_opt_out else False,
        asked_jobs=found.asked_jobs if need.asked_since is not None else (),
    )
    return Looked(facts, None, found.read)
