"""Slow clients: a deadline for a request's headers and a cap on open connections (uvicorn has neither).

uvicorn times out only an idle keep-alive connection (`timeout_keep_alive`, after a response).
A client that connects and sends nothing, or sends its headers a byte at a time (slowloris),
holds its socket and file descriptor for ever: 500 such sockets were all still open after 30 s
(issue #28). So the HTTP protocol here is uvicorn's own (httptools, as `http="auto"` picks,
else h11) with two additions:

- **Header deadline**: from the moment a connection opens, or the first byte of its next request
  after a response, the request's headers must be complete within `header_timeout` seconds,
  or the connection is closed without an answer (nginx's client_header_timeout does the same).
- **Connection cap**: past `max_connections` open connections, a new one is closed at once, so
  slow sockets cannot use up the process's file descriptors (the store, PostgreSQL and Twilio
  need some too). Deliberately not uvicorn's `limit_concurrency`: it counts the slow sockets
  too, and answers every *real* request past it with a plain-text 503 -- under a slowloris,
  /healthz included -- while the slow sockets themselves never finish headers and keep theirs.

The body is the app's (web/middleware.py BodyLimitMiddleware: a 408 when it does not arrive in
time). docs/production-timeouts.md says what the reverse proxy in front must set.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger("qdn.http")

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5  # uvicorn's own default, said here so the docs and `qdn serve --help` can name it
# File descriptors kept for everything but client connections: the store's files, the PostgreSQL
# pool, Twilio and media downloads, logs.
RESERVED_DESCRIPTORS = 256
MAX_CONNECTIONS_CEILING = 10_000
_CAP_WARNING_EVERY_SECONDS = 60.0


def default_max_connections() -> int:
    """As many connections as the descriptor limit (`ulimit -n`) leaves after RESERVED_DESCRIPTORS."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS_CEILING
    return max(32, min(MAX_CONNECTIONS_CEILING, soft - RESERVED_DESCRIPTORS))


class _Limits:
    """What one server's connections share: the deadline, the cap, when the cap was last reported."""

    def __init__(self, header_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.refused = 0
        self.last_warning = float("-inf")

    def note_refused(self) -> None:
        """Counted always, logged once a minute: under a flood, one line a minute, not one a socket."""
        self.refused += 1
        now = time.monotonic()
        if now - self.last_warning >= _CAP_WARNING_EVERY_SECONDS:
            log.warning(
                "%d open connections (the cap, --max-connections): closed %d new ones since the last warning",
                self.max_connections,
                self.refused,
            )
            self.refused, self.last_warning = 0, now


def protocol_with_limits(header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, with a header deadline and a connection cap (the module's doc)."""
    limits = _Limits(header_timeout, max_connections)

    class LimitedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                limits.note_refused()
                transport.close()
                return
            self._arm_header_deadline()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and self._between_requests():
                self._arm_header_deadline()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)
            if self._header_timer is not None and not self._between_requests():
                self._header_timer.cancel()  # the headers are in: the body is the app's to time
                self._header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            """No request whose headers are complete is in progress (uvicorn makes a cycle per request)."""
            return self.cycle is None or self.cycle.response_complete

        def _arm_header_deadline(self) -> None:
            self._header_timer = self.loop.call_later(limits.header_timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self._between_requests() and not self.transport.is_closing():
                self.transport.close()

    return LimitedHTTPProtocol
