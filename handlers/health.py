"""GET /healthz: is the store usable, and are texts going to Twilio or the console."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import StoreError
from handlers.responses import STORE_RETRY_AFTER_SECONDS
from handlers.tenancy import tenants

log = logging.getLogger("qdn.health")


async def healthz(request: Request) -> JSONResponse:
    """200 when every business's store answers; 503 with Retry-After (and a message saying why) when not.

    One question to the store, bounded by its own time limits (PostgreSQL: connect 3 s, a
    statement 5 s), so a load balancer's check never hangs on a database that is gone.
    """
    everyone = tenants(request)
    live = everyone.settings.twilio_live
    store = everyone.deployment.description
    body = {"status": "ok", "store": store, "twilio": "live" if live else "console"}
    try:
        await everyone.deployment.ping()  # every business's store
    except (StoreError, OSError) as error:
        log.error("health check: store unusable: %s", error)
        message = f"The store ({store}) cannot be used right now; try again shortly."
        headers = {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}
        return JSONResponse({**body, "status": "unavailable", "message": message}, status_code=503, headers=headers)
    return JSONResponse(body)
