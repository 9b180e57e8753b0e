"""POST /twilio/status: Twilio's delivery reports for the texts we sent.

Each request: check the signature -> check required fields -> map the
status -> apply it if it moves the message forward -> 204. Callbacks come
late, twice and out of order, so statuses are ranked and never move back
(queued < sending < sent < final; the first final one stays; `read` may
follow `delivered`). https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
A report naming an inbound text changes nothing: those are `received` for good.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.errors import BadRequest
from bot.jobs import utc_now
from bot.phones import redact_phone
from handlers.services import services
from handlers.signature import verified_form
from handlers.twilio_fields import plain_number
from store import Message, Store

log = logging.getLogger("qdn.status")

# Twilio's MessageStatus values -> ours. Twilio's "accepted" and "scheduled"
# are its queue before "queued"; "canceled" only ends a scheduled message.
TWILIO_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "read": "read",
    "canceled": "failed",
}
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
_RANK = {"queued": 1, "sending": 2, "sent": 3, "delivered": 4, "undelivered": 4, "failed": 4, "read": 5}
OPTED_OUT_CODE = 21610
# What common delivery error codes mean, for callbacks that carry only ErrorCode.
# https://www.twilio.com/docs/api/errors
ERROR_MEANINGS = {
    21610: "Recipient has opted out (texted STOP)",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered by the carrier",
    30008: "Unknown error",
}


def advances(current: str, new: str) -> bool:
    """Whether a report of `new` moves a message that is `current` forward."""
    if current in FINAL_STATUSES:
        return current == "delivered" and new == "read"
    return _RANK.get(new, 0) > _RANK.get(current, 0)


async def record_opt_out(store: Store, phone: str, source: str) -> None:
    """Remember that `phone` opted out (Twilio blocks it already); later texts to it are skipped."""

    def opt_out(state: dict[str, Any]) -> dict[str, Any]:
        if state.get("opted_out"):
            return state
        return {**state, "opted_out": True, "opted_out_at": utc_now(), "opted_out_by": source}

    await store.update_phone(phone, opt_out)
    log.info("%s opted out (%s)", redact_phone(phone), source)


def _apply(message: Message, status: str, code: int | None, text: str | None) -> Message | None:
    if not advances(message["status"], status):
        return None
    updated = {**message, "status": status}
    if code is not None:
        updated["error_code"] = code
        updated["error_message"] = text or ERROR_MEANINGS.get(code) or f"Twilio error {code}"
    return updated


async def status_callback(request: Request) -> Response:
    form = await verified_form(request)
    sid = form.get("MessageSid", "").strip()
    reported = form.get("MessageStatus", "").strip().lower()
    allowed = ", ".join(TWILIO_STATUSES)
    if not sid:
        raise BadRequest("MessageSid is required.")
    if reported not in TWILIO_STATUSES:
        raise BadRequest(f"MessageStatus {reported!r} is not one of: {allowed}.")
    status = TWILIO_STATUSES[reported]
    code = plain_number(form.get("ErrorCode"))
    store = services(request).store

    message = await store.find_message_by_sid(sid)
    if message is None:
        log.info("status %s for unknown message %s; ignored", reported, sid)
        return Response(status_code=204)
    if message.get("direction") != "outbound":
        # Delivery reports are about texts we sent. An inbound text stays `received`, and a 21610 naming
        # one must not opt out its `to` -- the business's own number -- nor the person who texted us.
        log.info("status %s for inbound message %s; ignored", reported, message["id"])
        return Response(status_code=204)
    updated = await store.update_message(message["id"], lambda m: _apply(m, status, code, form.get("ErrorMessage")))
    if updated["status"] != message["status"]:
        log.info("message %s (%s): %s -> %s", message["id"], sid, message["status"], updated["status"])
    if code == OPTED_OUT_CODE:  # the recipient texted STOP: https://www.twilio.com/docs/api/errors/21610
        await record_opt_out(store, message["to"], f"Twilio error {code} in a status callback")
    return Response(status_code=204)
