"""GET /healthz: is the store usable, and are texts going to Twilio or the console."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import StoreError
from handlers.services import services

log = logging.getLogger("qdn.health")


async def healthz(request: Request) -> JSONResponse:
    svc = services(request)
    body = {"status": "ok", "store": svc.store.description, "twilio": "live" if svc.settings.twilio_live else "console"}
    try:
        await svc.store.ping()
    except (StoreError, OSError) as error:
        log.error("health check: store unusable: %s", error)
        return JSONResponse({**body, "status": "unavailable"}, status_code=503)
    return JSONResponse(body)
