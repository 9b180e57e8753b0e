"""POST /twilio/{business}/status?m=... (and the older /twilio/status): Twilio's delivery reports for the texts we sent.

Each request: check the signature -> check required fields -> map the
status -> apply it if it moves the message forward (bot/messages.py ranks
them) -> 204.
A report naming an inbound text changes nothing: those are `received` for good.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.errors import BadRequest, NotFound
from bot.jobs import utc_now
from bot.messages import OPTED_OUT_CODE, TWILIO_STATUSES, opted_out, with_report
from bot.phones import redact_phone
from bot.webhook_paths import MESSAGE_PARAM
from handlers.signature import check_signed, required_signature, signed_form, signed_url, webhook_form
from handlers.tenancy import Tenant, Tenants, named_business, tenants
from handlers.twilio_fields import plain_number
from store import Message, Store

log = logging.getLogger("qdn.status")

MAX_LOGGED_ID = 40  # `m` is whatever the caller put in the query: a junk one must not flood the log


async def record_opt_out(store: Store, phone: str, source: str) -> None:
    """Remember that `phone` opted out (Twilio blocks it already); later texts to it are skipped."""
    await store.update_phone(phone, lambda state: opted_out(state, utc_now(), source))
    log.info("%s opted out (%s)", redact_phone(phone), source)


async def _business_reported_on(everyone: Tenants, form: Any) -> Tenant:
    """The business whose message the callback names (its key checks the signature).

    A SID no business has (a late report for a text we never logged) is checked with
    the key of the business that sent from its `From` number, else the default one's.
    """
    slug = await everyone.deployment.business_of_sid(form.get("MessageSid", "").strip())
    tenant = everyone.get(slug) if slug else None
    if tenant is None:
        tenant = everyone.for_address(form.get("From", "").strip(), form.get("MessagingServiceSid", "").strip() or None)
    return tenant or everyone.default


async def business_status(request: Request) -> Response:
    """POST /twilio/{business}/status?m=<message id>: the StatusCallback every text we send names.

    The business is the address's (unknown slug: 404) and its key checks the signature, which covers
    `m` too. The report is applied only to that business's message `m`, and only if `m` is the message
    with this MessageSid: any other callback is refused (404), nothing changed.
    """
    tenant = named_business(request)
    form = await signed_form(request, tenant.settings)
    message_id = request.query_params.get(MESSAGE_PARAM, "").strip()
    if not message_id:
        raise BadRequest(f"The query parameter {MESSAGE_PARAM} (the message reported on) is required.")
    return await _apply(tenant.services.store, form, message_id)


async def status_callback(request: Request) -> Response:
    """POST /twilio/status (the address from before texts named their business): found by MessageSid."""
    everyone = tenants(request)
    url = signed_url(everyone.settings, request)  # PUBLIC_BASE_URL is the deployment's
    signature = required_signature(request, url)
    form = await webhook_form(request)
    tenant = await _business_reported_on(everyone, form)
    check_signed(request, url, form, signature, tenant.settings)
    return await _apply(tenant.services.store, form, None)


async def _apply(store: Store, form: Any, message_id: str | None) -> Response:
    """Apply the report to the message with its MessageSid (when `message_id` is given: only if that is it)."""
    sid = form.get("MessageSid", "").strip()
    reported = form.get("MessageStatus", "").strip().lower()
    allowed = ", ".join(TWILIO_STATUSES)
    if not sid:
        raise BadRequest("MessageSid is required.")
    if reported not in TWILIO_STATUSES:
        raise BadRequest(f"MessageStatus {reported!r} is not one of: {allowed}.")
    status = TWILIO_STATUSES[reported]
    code = plain_number(form.get("ErrorCode"))

    def report(message: Message) -> Message | None:
        # Delivery reports are about texts we sent. An inbound text stays `received`, and a 21610 naming
        # one must not opt out its `to` -- the business's own number -- nor the person who texted us.
        if message.get("direction") != "outbound":
            return None
        if message_id is not None and message["id"] != message_id:
            return None  # the callback names another message: refused below
        return with_report(message, status, code, form.get("ErrorMessage"))

    # One read of its conversation, not two (PostgreSQL: none here -- the business lookup by SID above read the
    # message too -- and one guarded UPDATE, only if the report changes it).
    found = await store.update_message_by_sid(sid, report)
    if message_id is not None and (found is None or found[0]["id"] != message_id):
        log.warning("status %s for %s names message %r, not this business's with that SID; refused",
                    reported, sid, message_id[:MAX_LOGGED_ID])  # fmt: skip
        raise NotFound("No message of this business has this id and MessageSid.")
    if found is None:
        log.info("status %s for unknown message %s; ignored", reported, sid)
        return Response(status_code=204)
    message, updated = found
    if message.get("direction") != "outbound":
        log.info("status %s for inbound message %s; ignored", reported, message["id"])
        return Response(status_code=204)
    if updated["status"] != message["status"]:
        log.info("message %s (%s): %s -> %s", message["id"], sid, message["status"], updated["status"])
    if code == OPTED_OUT_CODE:  # the recipient texted STOP: https://www.twilio.com/docs/api/errors/21610
        await record_opt_out(store, message["to"], f"Twilio error {code} in a status callback")
    return Response(status_code=204)
