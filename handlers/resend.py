"""POST /jobs/{id}/messages/{message id}/resend: a person decides to send an `unknown` text again.

A text is `unknown` when its send timed out after the request may have reached Twilio and the
sender could neither find it there nor prove it never arrived (sender/attempt.py): it is never
re-sent by itself, because the customer may have it. A person who has checked sends it again in
one step: a new text (same phone, words, kind and pictures) with `resend_of` naming the unknown
one, which stays as it was -- the record of the attempt.

- 201 with the new message and its `text` outcome (`skipped` if the phone opted out meanwhile);
- the same answer again for a second resend of the same text, at any later time: its resend is
  found in the conversation, and two racing each other are made one by the store's once-only key;
- 409 `invalid_transition` when the message is not `unknown` (and was never resent);
- 404 for a message that is not in that job's conversation (or a job of another business).
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import InvalidTransition, NotFound
from bot.jobs import utc_now
from handlers.auth import require_api_token
from handlers.jobs import _job_id
from handlers.services import Services, services, text_outcome
from store import KeyUsed, Message, Once


def _answer(svc: Services, resent: Message) -> tuple[int, dict[str, object]]:
    return 201, {**svc.message_json(resent), "text": text_outcome(resent)}


def _once(svc: Services, message_id: str) -> Once:
    """The store's once-only key for resending `message_id`: a space in it, so no client's
    Idempotency-Key (visible ASCII only) can ever be the same."""
    fingerprint = hashlib.sha256(f"resend {message_id}".encode()).hexdigest()
    return Once(f"resend of {message_id}", fingerprint, utc_now(), lambda resent: _answer(svc, resent))


async def resend_text(svc: Services, job_id: int, message_id: str) -> tuple[int, dict[str, object]]:
    """Send the `unknown` text `message_id` of job `job_id` again, once: the API's answer (status, body).

    The one path for every way a person sends a text again (this endpoint, the inbox's "Send again"
    button): a second call finds the first resend in the conversation and answers it again."""
    conversation = await svc.store.job_messages(job_id)  # NotFound for a job this business has not
    original = next((m for m in conversation if m["id"] == message_id), None)
    if original is None:
        raise NotFound(f"No message {message_id[:40]} in job {job_id}'s conversation.")
    if earlier := next((m for m in conversation if m.get("resend_of") == message_id), None):
        return _answer(svc, earlier)  # resent before: its answer again
    if original["status"] != "unknown":
        raise InvalidTransition(
            f"Message {message_id} is {original['status']}, not unknown: only a text whose outcome is unknown "
            "is sent again."
        )
    try:
        resent = await svc.resend(original, once=_once(svc, message_id))
    except KeyUsed as used:  # a twin request resent it first
        return used.record["status"], used.record["body"]
    return _answer(svc, resent)


@require_api_token
async def resend_message(request: Request) -> JSONResponse:
    status, body = await resend_text(services(request), _job_id(request), request.path_params["message_id"])
    return JSONResponse(body, status_code=status)
