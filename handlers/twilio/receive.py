"""POST /twilio/{business}/sms (and the older /twilio/sms): a text from a customer or a dispatcher -> a TwiML answer.

Each request runs the same short sequence: check the signature -> check the
required fields -> parse and look up what the decision needs -> carry out a
store the text, its relays, the answer, the phone's new state and a dispatcher's
move (handlers/twilio/moves.py) in one write (once per MessageSid) -> answer.
All wording and decisions live in bot.conversation (the rows' shapes in
bot.messages); this module only does I/O.

Twilio may deliver one webhook twice (a retry after a slow answer), even at
the same moment: texts are logged and acted on once per MessageSid, and a
repeat gets the answer the first delivery got.
https://www.twilio.com/docs/messaging/guides/webhook-request

Pictures (an MMS: NumMedia, MediaUrl{i}, MediaContentType{i}; docs/pictures.md)
are not fetched here: each URL that is Twilio's media gets a media id at once
and the inbound row names it for the fetcher (sender/media/fetch.py), so the
webhook still answers at once. Relays to dispatchers link the pictures by
those ids; a dispatcher's pictures go to the customer with the status text or
the R relay as an MMS. Those rows wait (`media_wait_sid`) until the fetch ends.
https://www.twilio.com/docs/messaging/guides/webhook-request#media-related-parameters
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot import confirmations, consent, undeliverable
from bot import conversation as talk
from bot.errors import NotFound, ValidationError
from bot.jobs import iso_utc
from bot.messages import answer_message, inbound_message
from bot.phones import normalize_e164, redact_phone
from handlers.services import Services
from handlers.tenancy import Tenant, Tenants, named_business, tenants
from handlers.twilio.facts import conversation_facts
from handlers.twilio.forms import Form, decode_sms, text, webhook_form
from handlers.twilio.moves import job_move
from handlers.twilio.pictures import named_pictures
from handlers.twilio.signature import check_signed, required_signature, signed_form, signed_url
from store import Job, JobWrite, Message

log = logging.getLogger("qdn.sms")

# Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF, lone surrogates).
# An answer that echoes a word of the sender's text must not turn the TwiML into
# a document Twilio refuses to parse (error 12100), which would leave the sender unanswered.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# What str(MessagingResponse()...) renders (ElementTree, no declaration of its own, short empty tags),
# written without building the tree (issue #30): in the service ~85 us a token webhook less (in-process A/B,
# the SDK's twiml patched in on alternate batches), though a timeit loop of the SDK's alone shows ~17 us.
# tests/test_twiml.py holds it to the SDK's output for any text, so the two cannot drift.
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_NO_ANSWER = (_XML_DECLARATION + "<Response />").encode()


def twiml(reply: str | None) -> Response:
    """The TwiML answer: one <Message>, or an empty <Response/> for no answer.

    Byte for byte what the SDK's `str(MessagingResponse().message(reply))` is (ElementTree escapes
    &, < and > in text, and writes a character UTF-8 cannot carry -- a lone surrogate -- as a
    character reference).
    """
    if not reply:
        return Response(_NO_ANSWER, media_type="text/xml")
    if "&" in reply:  # ElementTree's order: "&" first, so the other two's "&" are not escaped again
        reply = reply.replace("&", "&amp;")
    if "<" in reply:
        reply = reply.replace("<", "&lt;")
    if ">" in reply:
        reply = reply.replace(">", "&gt;")
    document = f"{_XML_DECLARATION}<Response><Message>{reply}</Message></Response>"
    return Response(document.encode("utf-8", "xmlcharrefreplace"), media_type="text/xml")


class _OncePerKey:
    """An asyncio lock per key (MessageSid), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_deliveries = _OncePerKey()


def clock() -> datetime:
    """The time a text is decided at; tests put a fake clock here to step past the conversation's windows."""
    return datetime.now(UTC)


@lru_cache(maxsize=256)
def _number(address: str) -> str:
    """A business number in E.164, as businesses' records keep them (Twilio sends E.164 already)."""
    try:
        return normalize_e164(address, "To")
    except ValidationError:
        return address  # no business's number: the lookup misses, and the text is refused


def _context(svc: Services) -> talk.Context:
    s = svc.settings
    return talk.Context(
        business_name=s.business_name,
        business_phone=s.business_phone,
        timezone=s.timezone,
        ack_interval_hours=s.ack_interval_hours,
        tracking_url=s.tracking_url,
        has_dispatchers=bool(s.dispatcher_numbers),
    )


async def _job_effects(svc: Services, decision: talk.Decision, now: datetime) -> None:
    """A customer's answer to a reminder: the job confirmed, or asked again for its new time.

    Written before the text (the answer does not depend on it, unlike a dispatcher's move, which is
    written with the text: handlers/twilio/moves.py); re-checked on the job as stored
    (bot/confirmations.py), so a reschedule meanwhile is never confirmed unseen."""
    stamp = iso_utc(now)
    for effect in decision.job_effects:
        if isinstance(effect, talk.ConfirmJob):
            apply = confirmations.confirmed
        elif isinstance(effect, talk.AskToConfirm):
            apply = confirmations.asked_again
        else:
            continue

        def change(job: Job, apply: Any = apply, effect: Any = effect) -> JobWrite:
            updated = apply(job, effect.scheduled_for, stamp)
            return JobWrite(updated, [], changed=updated != job)

        try:
            await svc.store.update_job(effect.job_id, change)
        except NotFound:
            log.info("job %s is gone; its confirmation is only logged", effect.job_id)


async def _relays(
    svc: Services, decision: talk.Decision, sender: str, sid: str, pictures: talk.Pictures
) -> list[Message]:
    """The relay texts the decision asks for, as queue rows (stored with the inbound text).

    A dispatcher's R with pictures is an MMS of them; a relay to dispatchers of a text with
    pictures links them. Either waits for this text's fetch (`sid`) before it is sent.
    """
    rows = []
    for effect in decision.effects:
        if isinstance(effect, talk.Relay):
            media = [{"id": media_id} for media_id in effect.media]
            wait = sid if effect.media else None
            row = await svc.text_row(
                effect.to_phone, effect.body, kind="relay", job_id=effect.job_id, media=media, media_wait_sid=wait
            )
            rows.append({**row, "sent_by": sender})  # the dispatcher's `R`: the office inbox says who
        elif isinstance(effect, talk.RelayToDispatchers):
            wait = sid if pictures.ids else None
            for dispatcher in svc.settings.dispatcher_numbers:
                if dispatcher != sender:
                    rows.append(
                        await svc.text_row(
                            dispatcher, effect.body, kind="relay", job_id=effect.job_id, media_wait_sid=wait
                        )
                    )
    return rows


def _phone_change(
    decision: talk.Decision, state: Mapping[str, Any], words: str, sid: str
) -> Callable[[Mapping[str, Any]], dict[str, Any]] | None:
    """What this text changes in its sender's state, if anything: the decision's effects, with the words
    and SID on any consent event they record (bot/consent.py); and a text from a phone marked as
    unable to take texts clears the mark -- it can text after all (bot/undeliverable.py)."""
    clears = undeliverable.mark(state) is not None
    if not decision.phone_effects and not clears:
        return None

    def change(current: Mapping[str, Any]) -> dict[str, Any]:
        updated = decision.update_phone_state(current) if decision.phone_effects else dict(current)
        return undeliverable.cleared(updated)

    return consent.with_inbound_evidence(change, words, sid)


def _business_texted(everyone: Tenants, form: Form) -> Tenant | None:
    """The business that owns the number texted (or the Messaging Service it came through), if any.

    A body with no `To` gets the default business's key: it is refused as incomplete (400)
    once signed, or as unsigned (403), as before there were several businesses.
    """
    to = text(form, "To")
    if not to:
        return everyone.default
    tenant = everyone.for_address(_number(to), text(form, "MessagingServiceSid") or None)
    if tenant is None:
        log.warning("a text to %s, which no business owns; refused, nothing stored", redact_phone(to))
    return tenant


async def business_sms(request: Request) -> Response:
    """POST /twilio/{business}/sms: a text to that business, signed with its key (unknown slug: 404)."""
    tenant = named_business(request)
    form = await signed_form(request, tenant.settings)
    return await _answer(tenant.services, form)


async def inbound_sms(request: Request) -> Response:
    """POST /twilio/sms (the address from before businesses had their own): the business is the one
    that owns `To`. A number nobody owns is a 404 once the deployment's own key checks out, and a 403
    otherwise: without a key, nobody learns from the answer which numbers are served here."""
    everyone = tenants(request)
    url = signed_url(everyone.settings, request)  # PUBLIC_BASE_URL is the deployment's
    signature = required_signature(request, url)
    form = await webhook_form(request)
    tenant = _business_texted(everyone, form)
    check_signed(request, url, form, signature, (tenant or everyone.default).settings)
    if tenant is None:
        raise NotFound("No business texts from this number.")
    return await _answer(tenant.services, form)


async def _answer(svc: Services, form: Form) -> Response:
    """The one sequence every inbound text goes through, once its business is known and it is signed."""
    sms = decode_sms(form)  # 400 naming the field missing or malformed
    sid, sender, to = sms.message_sid, sms.sender, sms.to
    async with _deliveries.hold(sid):
        role = talk.DISPATCHER if sender in svc.settings.dispatcher_numbers else talk.CUSTOMER
        now = clock()
        pictures, fetch = named_pictures(sms, svc, now)
        command = talk.parse(sms.body, role, with_pictures=bool(pictures.ids))
        looked = await conversation_facts(svc, command, sender, now, sid)  # with the duplicate check: one read
        if looked.already is not None:
            log.info("repeated delivery of %s from %s; answered as before", sid, redact_phone(sender))
            return twiml(looked.already.get("reply_body"))
        # Most texts carry no picture: the facts as read then stand (dataclasses.replace costs ~5 us).
        facts = looked.facts if pictures == looked.facts.pictures else replace(looked.facts, pictures=pictures)
        decision = talk.decide(command, facts, _context(svc))
        await _job_effects(svc, decision, now)
        stamp = iso_utc(now)
        relays = await _relays(svc, decision, sender, sid, pictures)

        def rows(decided: talk.Decision) -> tuple[Message, list[Message]]:
            """The text as logged, and its relays and answer, for the decision as finally answered."""
            reply = _NOT_XML.sub("", decided.reply) if decided.reply else decided.reply
            caused = list(relays)
            if reply:
                caused.append(
                    answer_message(
                        kind=decided.reply_kind, to=sender, body=reply, sender=to, now=stamp, job_id=decided.job_id
                    )
                )
            inbound = inbound_message(
                kind=decided.inbound_kind,
                sid=sid,
                sender=sender,
                to=to,
                body=sms.body,
                now=stamp,
                job_id=decided.job_id,
                num_media=sms.num_media,
                reply=reply,
                media_fetch=fetch,
            )
            return inbound, caused

        change_phone = _phone_change(decision, facts.phone_state, sms.body, sid)
        phone = sender if change_phone else None
        move = decision.status_change
        # One atomic write -- the text, its relays, the reply, the sender's state, and a dispatcher's
        # move with its status text -- so one fsync per webhook, and a crash leaves all of it or none
        # (a redelivery then acts).
        if move is None:
            inbound, caused = rows(decision)
            stored, first = await svc.store.record_inbound(
                inbound,
                outbound=caused,
                phone=phone,
                change_phone=change_phone,
                read=looked.read,  # the sender's state as conversation_facts read it: written over that version
            )
        else:
            moving = job_move(
                svc,
                decision,
                move,
                sender=sender,
                received=now,
                sid=sid,
                customer_opted_out=facts.target_opted_out,
                rows=rows,
            )
            stored, first = await svc.store.record_move(sid, moving, phone=phone, change_phone=change_phone)
        if not first:  # the per-MessageSid lock makes this unreachable in one process; never act twice
            return twiml(stored[0].get("reply_body"))
    # The answer as stored with the text (a move's says how it went, decided inside its write).
    reply = stored[0].get("reply_body")
    # Each text is in the message log (`qdn log`) and each webhook in the access log; this line
    # is for debugging only -- at INFO it cost ~5% of a webhook (bench/).
    log.debug("%s text from %s: %s", role, redact_phone(sender), type(command).__name__)
    return twiml(reply)
