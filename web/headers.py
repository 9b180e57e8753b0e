"""Privacy headers on everything a tracking-link holder can reach.

A tracking URL is a bearer credential, so its pages and JSON must not be
cached by shared proxies or the browser's back/forward cache (`no-store`),
must not leak the URL to the invoice site or anywhere else via Referer
(`no-referrer`), must stay out of search engines (`noindex`), and must run no
code but ours (the CSP: same-origin only, no inline script, no framing).

Pictures (`/media/{id}`, `/m/...`, handlers/media.py) get headers of their own: a picture is
never indexed, never sends a Referer, is never sniffed as anything but its stated type, and
runs nothing even when opened on its own (`default-src 'none'; sandbox`). They may be kept by
the viewer's browser alone (`private`, for as long as the endpoint says); an error is kept by
nobody (`no-store`).

Applied as a middleware on path prefixes rather than per endpoint, so error
answers (401, 404, 405, 429) from those paths carry the headers too.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

PRIVACY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}

PUBLIC_PREFIXES = ("/track", "/jobs/token/")

MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"
MEDIA_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": MEDIA_CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}
MEDIA_PREFIXES = ("/media/", "/m/")


def is_public_path(path: str) -> bool:
    """Whether `path` is a tracking page or a token endpoint."""
    return path == "/track" or path.startswith("/track/") or path.startswith(PUBLIC_PREFIXES[1])


# The office inbox (handlers/inbox/) shows customers' texts: never cached, no inline script, no framing,
# as the tracking page. Its Referer stays within the site ("same-origin", not "no-referrer"): under
# no-referrer a browser sends `Origin: null` with a form POST, and the inbox checks the Origin of each.
INBOX_HEADERS = {**PRIVACY_HEADERS, "Referrer-Policy": "same-origin"}


def is_inbox_path(path: str) -> bool:
    return path == "/inbox" or path.startswith("/inbox/")


def is_media_path(path: str) -> bool:
    """Whether `path` serves a picture (handlers/media.py)."""
    return path.startswith(MEDIA_PREFIXES)


class PrivacyHeadersMiddleware:
    """Set PRIVACY_HEADERS on every response to a public tracking path, MEDIA_HEADERS on a picture's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if is_public_path(path):
            chosen, media = PRIVACY_HEADERS, False
        elif is_inbox_path(path):
            chosen, media = INBOX_HEADERS, False
        elif is_media_path(path):
            chosen, media = MEDIA_HEADERS, True
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in chosen.items():
                    headers[name] = value
                if media and (message["status"] != 200 or "cache-control" not in headers):
                    headers["Cache-Control"] = "no-store"  # only a picture itself may be kept, privately
            await send(message)

        await self.app(scope, receive, send_with_headers)
