"""GET /healthz: is the store usable, and are texts going to Twilio or the console."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import StoreError
from handlers.tenancy import tenants

log = logging.getLogger("qdn.health")


async def healthz(request: Request) -> JSONResponse:
    everyone = tenants(request)
    live = everyone.settings.twilio_live
    body = {"status": "ok", "store": everyone.deployment.description, "twilio": "live" if live else "console"}
    try:
        await everyone.deployment.ping()  # every business's store
    except (StoreError, OSError) as error:
        log.error("health check: store unusable: %s", error)
        return JSONResponse({**body, "status": "unavailable"}, status_code=503)
    return JSONResponse(body)
