"""GET /consent: a phone's consent history, or every phone's consent state a page at a time (docs/consent.md).

The history is kept in each phone's state (bot/consent.py). With `phone`, the phone's state now and
its events oldest first, paged; without, one row per phone with a history (`qdn consent export`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot import consent
from bot.errors import NotFound, ValidationError
from bot.phones import normalize_phone
from handlers import paging
from handlers.auth import require_api_token
from handlers.services import services
from store import Page

EVENTS_LIST = "consent_events"
PHONES_LIST = "consent"


@require_api_token
async def get_consent(request: Request) -> JSONResponse:
    """With `phone`: {phone, state, since, source, events, next_cursor}; without: {phones, next_cursor}."""
    svc = services(request)
    limit = paging.limit_of(request)
    raw = request.query_params.get("phone")
    if raw is None:
        page = await svc.store.consent_page(after=paging.cursor_of(request, PHONES_LIST), limit=limit)
        rows = [consent.summary(row["phone"], row["state"]) for row in page.rows]
        return JSONResponse({"phones": rows, "next_cursor": paging.next_cursor(page, PHONES_LIST)})
    phone = normalize_phone(raw, "phone")
    state = await svc.store.get_phone(phone)
    history = consent.events(state)
    if not history and "opted_out" not in state:
        raise NotFound("No consent is on record for this phone.")
    after = paging.cursor_of(request, EVENTS_LIST)
    start = after[0] if after and isinstance(after[0], int) and not isinstance(after[0], bool) else 0
    if after is not None and (start != after[0] or not 0 < start <= len(history)):
        raise ValidationError("cursor", "is not one this list gave (pass back next_cursor as it came)")
    shown = history[start : start + limit]
    more = start + limit < len(history)
    page = Page(shown, [start + limit] if more else None)
    answer = consent.summary(phone, state)
    del answer["evidence"]  # the events are the evidence, in full
    return JSONResponse({**answer, "events": shown, "next_cursor": paging.next_cursor(page, EVENTS_LIST)})
