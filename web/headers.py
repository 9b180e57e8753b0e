"""Privacy headers on everything a tracking-link holder can reach.

A tracking URL is a bearer credential, so its pages and JSON must not be
cached by shared proxies or the browser's back/forward cache (`no-store`),
must not leak the URL to the invoice site or anywhere else via Referer
(`no-referrer`), must stay out of search engines (`noindex`), and must run no
code but ours (the CSP: same-origin only, no inline script, no framing).

Applied as a middleware on path prefixes rather than per endpoint, so error
answers (404, 405, 429) from those paths carry the headers too.
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


def is_public_path(path: str) -> bool:
    """Whether `path` is a tracking page or a token endpoint."""
    return path == "/track" or path.startswith("/track/") or path.startswith(PUBLIC_PREFIXES[1])


class PrivacyHeadersMiddleware:
    """Set PRIVACY_HEADERS on every response to a public tracking path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PRIVACY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
