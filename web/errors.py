"""One place that turns errors into the SPEC's JSON error bodies (and, on the tracking page, into a page)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from bot.errors import BadRequest, InvalidTransition, NotFound, PayloadTooLarge, QdnError, StoreError, ValidationError
from handlers.responses import ERROR_CODES, STORE_RETRY_AFTER_SECONDS, error_response, store_unavailable
from handlers.track import unavailable_page
from store import Conflict

log = logging.getLogger("qdn.errors")

_STATUS = {
    BadRequest: 400,
    NotFound: 404,
    InvalidTransition: 409,
    PayloadTooLarge: 413,
    ValidationError: 422,
    StoreError: 503,
}


async def qdn_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QdnError)
    status = next(code for cls, code in _STATUS.items() if isinstance(exc, cls))
    if status == 503:
        return _store_unavailable(request, exc)
    return error_response(status, exc.code, exc.message)


def _store_unavailable(request: Request, exc: QdnError) -> Response:
    """503 with Retry-After, for as long as the store cannot be used (a lost database connection).

    Every path answers alike -- the JSON API, the webhooks (Twilio's request fails, and nothing
    was acknowledged, so nothing is lost), the tracking page (as a page: a person is reading
    it) -- and the pool reconnects by itself once the database is back (store/postgres/connection.py).
    """
    log.error("store unavailable: %s", exc.message)
    path = request.url.path
    if path == "/track" or path.startswith("/track/"):  # the HTML page; its JSON (/jobs/token/...) is JSON
        return unavailable_page(request, STORE_RETRY_AFTER_SECONDS)
    return store_unavailable()


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _method_not_allowed(request, exc)
    code = ERROR_CODES.get(exc.status_code, ("error",))[0]
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def _method_not_allowed(request: Request, exc: HTTPException) -> JSONResponse:
    """405 with an `Allow` that names every method the path serves.

    Starlette's router names only the first route whose path matched, so
    `DELETE /jobs` would say `Allow: POST` although `GET /jobs` exists too:
    one method per Route, several Routes per path.
    """
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    headers = dict(exc.headers or {})
    if methods:
        headers["Allow"] = ", ".join(sorted(methods))
    allowed = headers.get("Allow", "")
    message = f"{request.method} is not allowed here" + (f"; use {allowed}." if allowed else ".")
    return error_response(405, "method_not_allowed", message, headers=headers)


async def conflict_error(request: Request, exc: Exception) -> JSONResponse:
    """A business write refused because what it claims is taken (a slug, a number): 409 naming the field."""
    assert isinstance(exc, Conflict)
    return error_response(409, "conflict", f"{exc.field}: {exc.message}")


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log by Starlette; the client gets no internals.
    return error_response(500, "internal_error", "Something went wrong on our side.")


EXCEPTION_HANDLERS = {QdnError: qdn_error, Conflict: conflict_error, HTTPException: http_error, 500: server_error}
