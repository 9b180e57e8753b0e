"""GET /inbox/events: one server-sent event stream per open inbox page (sse-starlette).

Fed by the store's own change notifications (Store.wait_for_change: in-process for TinyDB,
LISTEN/NOTIFY for PostgreSQL, so a text stored by another web process shows here too). Each event
only says "change"; the page fetches itself again (htmx: templates/base.html's #live), so what it
shows is rendered by the same code, from the same session, as any page. A session that ends
(expired, or its phone taken off the dispatcher list) ends the stream with "ended".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from handlers.inbox import session as sessions
from handlers.inbox.views import logged_in
from handlers.services import services
from handlers.tenancy import Tenant

CHECK_SECONDS = 15.0  # how often a quiet stream checks its session is still good (and pings)
SETTLE_SECONDS = 0.1  # a webhook writes a few rows at once: one event for them all


@logged_in
async def events(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    store = services(request).store

    async def stream() -> AsyncIterator[dict[str, str]]:
        seen = await store.wait_for_change(-1, 0)
        while True:
            count = await store.wait_for_change(seen, CHECK_SECONDS)
            if sessions.read_session(request) != session:
                yield {"event": "ended", "data": ""}
                return
            if count != seen:
                await asyncio.sleep(SETTLE_SECONDS)
                seen = await store.wait_for_change(-1, 0)
                yield {"event": "change", "data": str(seen)}

    return EventSourceResponse(stream(), ping=int(CHECK_SECONDS))
