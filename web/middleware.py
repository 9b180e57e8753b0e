"""Request body limits: 413 before any other work, as JSON; clients gone mid-body, as one log line; the access log.

Starlette ships RequestBodyLimitMiddleware, but it answers in plain text; the
SPEC wants the JSON error body, and a per-path limit (webhooks 64 KB, the
JSON API 1 MB).

All of them are plain ASGI middleware (no BaseHTTPMiddleware: no extra task
or stream per request), and pass a request they have nothing to do with
straight through.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.media import MAX_BYTES
from handlers.responses import error_response
from web.logging import ACCESS_LOGGER, MASKED, shown_target

log = logging.getLogger("qdn.http")
access_log = logging.getLogger(ACCESS_LOGGER)

WEBHOOK_LIMIT = 64 * 1024
API_LIMIT = 1024 * 1024
# The whole body must arrive within this many seconds of its headers: 1 MB at ~35 KB/s. Twilio's
# webhooks and a dashboard's JSON take milliseconds; a client dripping a byte at a time does not.
BODY_TIMEOUT_SECONDS = 30.0


class BodyTimeout(Exception):
    """The request's body did not arrive within its deadline."""


# The inbox's reply form carries a picture (up to bot.media.MAX_BYTES) with its text.
INBOX_REPLY_LIMIT = MAX_BYTES + 64 * 1024


def limit_for(path: str) -> int:
    if path.startswith("/inbox/c/") and path.endswith("/reply"):
        return INBOX_REPLY_LIMIT
    return WEBHOOK_LIMIT if path.startswith("/twilio/") else API_LIMIT


class BodyLimitMiddleware:
    """413 for a body over the path's limit, before auth, signatures or anything else runs.

    A declared Content-Length is checked from the headers alone (the common
    case, Twilio's webhooks among them); the server then delivers no more than
    it declares. A chunked body tells its size only once read, so it is read
    here, up to the limit, and replayed to the app: endpoints may check
    credentials before they read the body, and an oversized body must still
    get 413, not 401 or 403. Bodies are capped at 1 MB (an inbox reply with its picture at 5 MB),
    so buffering is cheap.

    A client that disconnects before its whole body arrived makes Starlette
    raise ClientDisconnect wherever the body is read; it is caught here, in
    one place, and logged as one line instead of a traceback. Nothing is
    answered: nobody is listening.

    A body that has not all arrived `body_timeout` seconds after its headers
    (a slow-body client holding a connection open) is answered 408
    `request_timeout` with `Connection: close`, wherever it was being read.
    uvicorn has no such timeout (web/slow_clients.py times the headers).
    """

    def __init__(self, app: ASGIApp, body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared, chunked = _body_headers(scope["headers"])
        answered = False
        server_send = send
        if declared not in (None, "0") or chunked:
            receive = _with_deadline(receive, asyncio.get_running_loop().time() + self.body_timeout)

            async def noting_send(message: Message) -> None:
                nonlocal answered
                answered = answered or message["type"] == "http.response.start"
                await server_send(message)

            send = noting_send
        try:
            if declared is not None and declared.isdigit():
                if int(declared) > limit:
                    await _too_large(limit)(scope, receive, send)
                    return
            elif declared is not None or chunked:
                body = await _read_body(receive, limit)
                if body is None:
                    await _too_large(limit)(scope, receive, send)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send)
        except ClientDisconnect:
            # No query string (it may carry a phone) and no client address: the path is enough.
            log.info("%s %s: the client disconnected before sending its whole body", scope["method"], scope["path"])
        except BodyTimeout:
            log.info("%s %s: the body did not arrive within %g s", scope["method"], scope["path"], self.body_timeout)
            if not answered:
                await _too_slow(self.body_timeout)(scope, receive, send)


def _body_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, bool]:
    """The request's Content-Length (the first, as Starlette's Headers.get), and whether it has a
    Transfer-Encoding: one pass over the raw headers (ASGI's names are lower-case), where a Headers
    object took two, the second ending in a KeyError for the usual request without one (issue #30)."""
    declared, chunked = None, False
    for name, value in headers:
        if name == b"content-length":
            if declared is None:
                declared = value.decode("latin-1")
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is over `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _with_deadline(receive: Receive, deadline: float) -> Receive:
    """A receive that raises BodyTimeout when the body is not complete by `deadline` (the event loop's time()).

    Once the last chunk is in, later calls (an app waiting for a disconnect) pass straight through.
    The deadline is an `asyncio.timeout_at` around the server's own receive: one timer, where
    `asyncio.wait_for` (Python 3.11) runs the receive as a task of its own -- an extra task and
    event-loop turn a request (~20 us, issue #30).
    """
    complete = False

    async def receive_in_time() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout() from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time


def _too_slow(timeout: float) -> JSONResponse:
    message = f"The request body did not arrive within {timeout:g} seconds."
    return error_response(408, "request_timeout", message, headers={"Connection": "close"})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app `body` once, then the server's own (which waits for a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, "payload_too_large", f"The request body is over {limit // 1024} KB.")


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, allowing exactly what it is given, with a refused preflight as a JSON 400.

    Starlette answers a refused preflight in plain text ("Disallowed CORS
    origin"); every error of this service is the SPEC's JSON shape.
    """

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")  # e.g. "origin, method"
        # The CORS headers Starlette computed stay as they are (Vary, and no Allow-Origin for a foreign origin).
        headers = {name: value for name, value in response.headers.items() if not name.startswith("content-")}
        message = f"This cross-origin request is not allowed (refused: {refused})."
        return error_response(response.status_code, "bad_request", message, headers=headers)


class AccessLogMiddleware:
    """One access line a request, written by the app once the answer is sent (uvicorn's own is off).

        127.0.0.1:52144 - "GET /track?token=[token] HTTP/1.1" 200 1.2 ms

    The path and query are masked once, here (web/logging.py `shown_target`);
    the record also carries them as fields (`http_method`, `http_target`,
    `http_status`, `duration_ms`) for a structured handler. A request the app
    failed on is logged as the 500 Starlette answered; one that got no answer
    at all (its client left mid-body) has no access line, as with uvicorn's,
    only BodyLimitMiddleware's. Sits outermost, so the duration is the whole
    app's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # As asked: routing updates this scope in place (a Mount adds its prefix to root_path).
        path = scope.get("root_path", "") + scope["path"]
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            if status:  # something was answered
                _log_access(scope, path, status, (time.perf_counter() - started) * 1000)


def _log_access(scope: Scope, path: str, status: int, elapsed_ms: float) -> None:
    client = scope.get("client")
    address = f"{client[0]}:{client[1]}" if client else "-"
    query = scope.get("query_string", b"").decode("latin-1")
    target = shown_target(path, query)
    method, version = scope["method"], scope.get("http_version", "1.1")
    # The record is made here and handed to the logger's filters and handlers as Logger.info would,
    # without Logger.info's walk up the stack for the caller's file and line (a few us a request):
    # for this line they would always name this function. Made by the record factory as
    # Logger.makeRecord makes it, with the fields set directly: makeRecord's check of `extra`
    # against the record's own names (these never clash) cost ~2 us a request (issue #30).
    record = logging.getLogRecordFactory()(
        access_log.name,
        logging.INFO,
        __file__,
        _ACCESS_LINE,
        '%s - "%s %s HTTP/%s" %d %.1f ms',
        (address, method, target, version, status, elapsed_ms),
        None,
        "_log_access",
    )
    fields = record.__dict__
    fields[MASKED] = True
    fields["http_method"], fields["http_target"], fields["http_status"] = method, target, status
    fields["duration_ms"] = round(elapsed_ms, 3)
    access_log.handle(record)


_ACCESS_LINE = _log_access.__code__.co_firstlineno
