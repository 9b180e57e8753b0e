"""Pictures served (SPEC "Pictures (MMS)"): to the dashboard, and through private links.

    GET /media/{id}                  the dashboard's bearer token: a picture of its own business
    GET /m/{business}/{id}.{exp}.{sig}  no login: a signed, expiring link (bot.media.link_path),
                                     in a relay to dispatchers, an MMS to a customer, the tracking page

The answer is the bytes as kept, with the type sniffed from them when they were kept (never
the type anyone declared), `Content-Disposition: inline` and a private cache lifetime no longer
than the link's. The headers that keep a picture out of search engines, Referer and script
(`noindex`, `no-referrer`, `nosniff`, a CSP of `default-src 'none'; sandbox`) are set on every
answer of these paths, errors included, by web.headers.PrivacyHeadersMiddleware.

A picture that cannot be had -- a missing, malformed, forged, altered or expired link, an
unknown business, an id this business does not keep, another business's id -- gets one 404,
the same bytes and headers whatever the reason, on both routes, so an answer tells nothing about
which ids or businesses exist. A signed link that does not open counts as a miss of the
client's toward the tracking-token slow-down (handlers/track/endpoints.py): links cannot be
guessed at speed.
"""

from __future__ import annotations

import logging
import math
import time

from starlette.requests import Request
from starlette.responses import Response

from bot.media import EXTENSIONS, open_link
from handlers.auth import require_api_token
from handlers.responses import error_response
from handlers.services import services
from handlers.tenancy import Tenant, tenants, use
from handlers.track.endpoints import client_key, token_misses
from store import MediaFile
from store.media import is_media_id

log = logging.getLogger("qdn.media")

NOT_FOUND_MESSAGE = "No picture here: the link is wrong or has expired."
# How long the dashboard's browser may keep a picture it fetched with its token (a picture never
# changes under its id; `private`: never a shared cache).
BEARER_MAX_AGE = 3600


def not_found() -> Response:
    """The one 404 of both routes, whatever was wrong."""
    return error_response(404, "not_found", NOT_FOUND_MESSAGE)


def _picture(media: MediaFile, max_age: int) -> Response:
    extension = EXTENSIONS.get(media.content_type, "bin")
    headers = {
        "Cache-Control": f"private, max-age={max(0, max_age)}",
        "Content-Disposition": f'inline; filename="picture-{media.id[:8]}.{extension}"',
    }
    return Response(media.data, media_type=media.content_type, headers=headers)


@require_api_token
async def media_file(request: Request) -> Response:
    """GET /media/{id}: one of the bearer's business's pictures (another business's id: 404 like a missing one)."""
    media_id = request.path_params["media_id"]
    if not is_media_id(media_id):
        return not_found()
    media = await services(request).store.load_media(media_id)
    if media is None:
        return not_found()
    return _picture(media, BEARER_MAX_AGE)


def _expires_at(link: str) -> int:
    """The expiry (Unix seconds) of a link `open_link` has accepted."""
    return int(link.split(".")[1], 36)


def _opened(tenant: Tenant, business: str, link: str, now: float) -> str | None:
    """The media id `link` opens for `business` at `now`, else None (bot.media.open_link)."""
    try:
        keys = tenant.services.picture_links.keys
    except ValueError:  # no SECRET_KEY: no link was ever signed here
        return None
    media_id = open_link(keys, business, link, now) if "/" not in link else None
    return media_id if media_id is not None and is_media_id(media_id) else None


async def linked_media(request: Request) -> Response:
    """GET /m/{business}/{id}.{expiry}.{signature}: the picture a signed link opens, while it is good."""
    limiter = token_misses(request)
    everyone = tenants(request)
    key = client_key(request)
    wait = await limiter.check(everyone.deployment, key)
    if wait:
        message = f"Too many wrong links from your address; try again in {wait} seconds."
        return error_response(429, "rate_limited", message, {"Retry-After": str(wait)})
    business, _, link = request.path_params["rest"].partition("/")
    tenant = everyone.get(business)
    now = time.time()
    media_id = _opened(tenant, business, link, now) if tenant is not None else None
    if tenant is None or media_id is None:
        await limiter.count(everyone.deployment, key)
        log.debug("media link refused")  # never the link itself: it is a credential
        return not_found()
    use(request, tenant)
    media = await tenant.services.store.load_media(media_id)
    if media is None:  # a link of ours, to a picture not kept (a fetch still running, or given up)
        return not_found()
    return _picture(media, math.floor(_expires_at(link) - now))
