"""GET /business: the business a dashboard token acts for, as its clients need it.

A client (the `qdn` command, a dashboard) shows times in the business's own
zone: the job JSON's times are UTC or carry an offset, which says nothing of
the zone's name or of its daylight-saving rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from handlers.auth import require_api_token
from handlers.services import services


@require_api_token
async def business_info(request: Request) -> JSONResponse:
    settings = services(request).settings
    return JSONResponse(
        {
            "slug": settings.business_slug,
            "name": settings.business_name,
            "phone": settings.business_phone,
            "timezone": settings.timezone.key,
        }
    )
