"""POST /twilio/{business}/status?m=... (and the older /twilio/status): Twilio's delivery reports for the texts we sent.

Each request: find the business -> check the signature -> decode the report (handlers/twilio/forms.py)
-> apply it if it moves the message forward (bot/messages.py ranks them) -> 204.
A report naming an inbound text changes nothing: those are `received` for good.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from bot import undeliverable
from bot.errors import BadRequest, NotFound
from bot.jobs import utc_now
from bot.messages import OPTED_OUT_CODE, opted_out, with_report
from bot.phones import redact_phone
from bot.webhook_paths import MESSAGE_PARAM
from handlers.services import Services
from handlers.tenancy import Tenant, Tenants, named_business, tenants
from handlers.twilio.forms import Form, StatusReport, decode, text, webhook_form
from handlers.twilio.signature import check_signed, required_signature, signed_form, signed_url
from store import Message, Store
from store.base import MessageRead
from store.undeliverable import mark_undeliverable

log = logging.getLogger("qdn.status")

UNSUCCESSFUL = frozenset({"failed", "undelivered"})  # logged at INFO when a text reaches them
MAX_LOGGED_ID = 40  # `m` is whatever the caller put in the query: a junk one must not flood the log


async def record_opt_out(store: Store, phone: str, source: str) -> None:
    """Remember that `phone` opted out (Twilio blocks it already); later texts to it are skipped."""
    await store.update_phone(phone, lambda state: opted_out(state, utc_now(), source))
    log.info("%s opted out (%s)", redact_phone(phone), source)


async def _business_reported_on(everyone: Tenants, form: Form) -> tuple[Tenant, MessageRead | None]:
    """The business whose message the callback names (its key checks the signature), and the message
    if the lookup read it (PostgreSQL: one round trip for both), for update_message_by_sid(read=...).

    A SID no business has (a late report for a text we never logged) is checked with
    the key of the business that sent from its `From` number, else the default one's.
    """
    found = await everyone.deployment.lookup_sid(text(form, "MessageSid"))
    tenant = everyone.get(found[0]) if found else None
    if found is not None and tenant is not None:
        return tenant, found[1]
    tenant = everyone.for_address(text(form, "From"), text(form, "MessagingServiceSid") or None)
    return tenant or everyone.default, None


async def business_status(request: Request) -> Response:
    """POST /twilio/{business}/status?m=<message id>: the StatusCallback every text we send names.

    The business is the address's (unknown slug: 404) and its key checks the signature, which covers
    `m` too. The report is applied only to that business's message `m`, and only if `m` is the message
    with this MessageSid -- or has no SID recorded yet, which it then records (`_first_report`): any
    other callback is refused (404), nothing changed.
    """
    tenant = named_business(request)
    form = await signed_form(request, tenant.settings)
    message_id = _message_param(request.scope.get("query_string", b"")).strip()
    if not message_id:
        raise BadRequest(f"The query parameter {MESSAGE_PARAM} (the message reported on) is required.")
    return await _apply(tenant.services, decode(form, StatusReport), message_id, None)


def _message_param(query: bytes) -> str:
    """The query's `m` (its last, as Request.query_params.get gives it, parsed the same way), without
    building Starlette's QueryParams for one parameter (~2 us a callback, issue #30)."""
    found = ""
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name == MESSAGE_PARAM:
            found = value
    return found


async def status_callback(request: Request) -> Response:
    """POST /twilio/status (the address from before texts named their business): found by MessageSid."""
    everyone = tenants(request)
    url = signed_url(everyone.settings, request)  # PUBLIC_BASE_URL is the deployment's
    signature = required_signature(request, url)
    form = await webhook_form(request)
    tenant, read = await _business_reported_on(everyone, form)
    check_signed(request, url, form, signature, tenant.settings)
    return await _apply(tenant.services, decode(form, StatusReport), None, read)


async def _first_report(store: Store, report: StatusReport, message_id: str) -> tuple[Message, Message] | None:
    """Our message `message_id` as a report on it found it and left it, when no message has its MessageSid
    yet: Twilio's first callback may come before the sender has recorded the SID Twilio answered with,
    and a 4xx is never retried, so the report would be lost. `m` is our own id in a URL the business's
    key signed for (the signature covers the query): the SID is recorded from the report, and the
    status applied if it moves the message forward. None (refused) for no such message, an inbound
    one, or one with another SID recorded.
    """
    sid = report.message_sid

    def first(message: Message) -> Message | None:
        if message.get("direction") != "outbound" or message.get("twilio_sid") not in (None, "", sid):
            return None
        # The sender may have recorded this very SID meanwhile: then it is an ordinary report.
        updated = with_report(message, report.our_status, report.error_code, report.error_message) or message
        return {**updated, "twilio_sid": sid}

    try:
        before: list[Message] = []

        def keep(message: Message) -> Message | None:
            before.append(dict(message))
            return first(message)

        after = await store.update_message(message_id, keep)
    except NotFound:
        return None
    if after.get("twilio_sid") != sid or after.get("direction") != "outbound":
        return None
    if not before[-1].get("twilio_sid"):
        log.info("message %s: SID %s recorded from its first status report", message_id[:MAX_LOGGED_ID], sid)
    return before[-1], after


async def _apply(svc: Services, report: StatusReport, message_id: str | None, read: MessageRead | None) -> Response:
    """Apply `report` to the message with its MessageSid (given `message_id`: only if that is the message;
    given `read`, the message as already read)."""
    store = svc.store
    sid = report.message_sid

    def refused(message: Message) -> str | None:
        """Why the report does not apply to `message`, if it does not."""
        if message_id is not None and message["id"] != message_id:
            return "names another message"
        # Delivery reports are about texts we sent. An inbound text stays `received`, and a 21610 naming
        # one must not opt out its `to` -- the business's own number -- nor the person who texted us.
        if message.get("direction") != "outbound":
            return "is about an inbound text"
        return None

    def reported(message: Message) -> Message | None:
        if refused(message):
            return None
        return with_report(message, report.our_status, report.error_code, report.error_message)

    # One read of its conversation (none left on PostgreSQL when the business lookup by SID read it), and
    # one guarded UPDATE, only if the report changes it.
    found = await store.update_message_by_sid(sid, reported, read=read)
    if found is None and message_id is not None:
        found = await _first_report(store, report, message_id)
    why = "names no message we logged" if found is None else refused(found[0])
    if why is not None and message_id is not None:
        log.warning("status %s for %s (m=%r) %s; refused", report.status, sid, message_id[:MAX_LOGGED_ID], why)
        raise NotFound("No message of this business has this id and MessageSid.")
    if found is None:
        log.info("status %s for unknown message %s; ignored", report.status, sid)
        return Response(status_code=204)
    if why is not None:
        log.info("status %s for inbound message %s; ignored", report.status, found[0]["id"])
        return Response(status_code=204)
    message, updated = found
    if updated["status"] != message["status"]:
        # Every status is in the message log (`qdn log`): the log line is for what an operator must see,
        # a text that failed or an error code; ordinary progress (sent, delivered, read) is for debugging
        # only -- at INFO, masked and formatted on `qdn serve`'s log thread, it cost ~18 us a callback
        # (issue #30; 0.2 us at DEBUG).
        level = logging.INFO if updated["status"] in UNSUCCESSFUL or report.error_code else logging.DEBUG
        log.log(level, "message %s (%s): %s -> %s", message["id"], sid, message["status"], updated["status"])
    if report.error_code == OPTED_OUT_CODE:  # the recipient texted STOP: https://www.twilio.com/docs/api/errors/21610
        await record_opt_out(store, message["to"], f"Twilio error {report.error_code} in a status callback")
    if undeliverable.reason_for(report.error_code):  # a landline: marked, the dispatchers told to call
        dispatchers = svc.settings.dispatcher_numbers
        await mark_undeliverable(
            store, updated, report.error_code, utc_now(), dispatchers=dispatchers, sender=svc.from_address
        )
    return Response(status_code=204)
