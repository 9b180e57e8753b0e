"""GET /messages?phone=P: one phone's texts across its jobs (for `qdn log` and `qdn chat`);
GET /messages?status=unknown: the texts whose outcome is unknown, left for a person (`qdn log --unknown`).

Not in SPEC's table: an extension for the qdn command, documented in the
README. Bearer-protected like the rest of the dashboard API.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import ValidationError
from bot.phones import normalize_phone
from handlers import paging
from handlers.auth import require_api_token
from handlers.services import services
from store import Message, Page

# The statuses a person lists: texts that wait for someone to decide (POST .../resend sends one again).
LISTED_STATUSES = ("unknown",)


@require_api_token
async def phone_messages(request: Request) -> JSONResponse:
    """Every text to or from `phone` (any usual format), oldest first, paged; 422 for a missing or junk phone.

    With `status=unknown` instead of a phone: every text of the business whose outcome is unknown,
    oldest first, paged the same way."""
    if "status" in request.query_params:
        return await _messages_with_status(request)
    raw = request.query_params.get("phone", "")
    if not raw.strip():
        raise ValidationError("phone", "is required, e.g. /messages?phone=512-555-0199 (or status=unknown)")
    phone = normalize_phone(raw, "phone")
    kind = "phone_messages"
    after, limit = paging.cursor_of(request, kind), paging.limit_of(request)
    svc = services(request)
    page = await svc.store.phone_messages_page(phone, after=after, limit=limit)
    messages = [svc.message_json(message) for message in page.rows]
    return JSONResponse({"messages": messages, "next_cursor": paging.next_cursor(page, kind)})


async def _messages_with_status(request: Request) -> JSONResponse:
    status = request.query_params["status"]
    if status not in LISTED_STATUSES or "phone" in request.query_params:
        raise ValidationError("status", "must be unknown, without a phone: /messages?status=unknown")
    kind = "messages_with_status"
    after, limit = paging.cursor_of(request, kind), paging.limit_of(request)
    svc = services(request)
    # They are few, so the store reads them all; paged here by the same keyset as every list's
    # (created_at, id), so `limit` and `cursor` mean what the other lists make them mean.
    every = sorted(await svc.store.messages_with_status(status), key=_position)
    listed = [message for message in every if after is None or _position(message) > after]
    rows = listed[:limit]
    page = Page(rows, _position(rows[-1]) if len(listed) > limit else None)
    messages = [svc.message_json(message) for message in page.rows]
    return JSONResponse({"messages": messages, "next_cursor": paging.next_cursor(page, kind)})


def _position(message: Message) -> list[Any]:
    return [message["created_at"], message["id"]]
