"""Logging: the access line the app writes, and filters that mask tokens and phone numbers (bot/redaction.py).

The access log is the app's own (web/middleware.py AccessLogMiddleware, one
line a request on the `qdn.access` logger; uvicorn's is off): the fields that
can carry a token or a phone -- the path and the query -- are masked once,
when the line is made (`shown_target`), and the record says so, so the
filter on the root handlers passes it without running its regexes over the
whole line again (~33 us a request through uvicorn's access log, issue #19).

Every other record (application logs, uvicorn's own) is masked by
RedactingFilter. uvicorn's access records, where they are still written (the
bench's baseline), carry the request line in `record.args` and its
AccessFormatter unpacks exactly five of them, so args are masked one by one
and keep their shape rather than being folded into the message.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Mapping
from logging.handlers import QueueHandler, QueueListener
from typing import Any
from urllib.parse import quote

from bot.redaction import redact

__all__ = [
    "ACCESS_LOGGER",
    "UVICORN_LOGGERS",
    "QuietSimulatorPolling",
    "RedactingFilter",
    "install_redaction",
    "log_off_the_loop",
    "redact",
    "shown_target",
]

ACCESS_LOGGER = "qdn.access"
# Set on a record whose every field was masked when it was made (the access line): the filter lets it by.
MASKED = "qdn_masked"

# Paths seen to hold nothing to mask (the webhooks, /healthz, /jobs/1042...), so each is checked once.
# Only such paths are remembered, never one that held a token; bounded, since any client may send any path.
_PLAIN_PATHS: set[str] = set()
_PLAIN_PATHS_MAX = 4096


def shown_target(path: str, query: str) -> str:
    """The request target as the access log shows it, tokens and phones masked.

    `path` is the ASGI scope's (decoded) and is shown %-encoded, as uvicorn showed it
    (a token with spaces in it must stay one path segment for the mask); `query` raw.
    """
    if not query and path in _PLAIN_PATHS:
        return path
    encoded = quote(path)
    shown = redact(f"{encoded}?{query}" if query else encoded)
    if not query and shown == path and len(_PLAIN_PATHS) < _PLAIN_PATHS_MAX:
        _PLAIN_PATHS.add(path)
    return shown


def _redact_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, (bool, int, float)):
        return arg  # keeps %d and %.2f working
    if isinstance(arg, str):
        return redact(arg)
    try:
        shown = str(arg)
    except Exception:  # a broken __str__ must not lose the log line
        return arg
    masked = redact(shown)
    return arg if masked == shown else masked


class RedactingFilter(logging.Filter):
    """A logging filter that masks tokens and phones in a record (never drops it)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, MASKED, False):
            return True  # masked field by field when it was made (the access line)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        if record.exc_info and not record.exc_text:
            # Formatters reuse a cached exc_text, so masking it here covers tracebacks.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# uvicorn creates its records on exactly these loggers, so a logger-level
# filter covers them whatever handlers uvicorn's dictConfig installs later.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def install_redaction() -> RedactingFilter:
    """Mask every record of uvicorn's loggers and of everything reaching the root handlers.

    Call after the root logger's handlers exist (logging.basicConfig) and
    before uvicorn starts. Idempotent.
    """
    redacting = RedactingFilter()
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in UVICORN_LOGGERS]
    # Application loggers ("qdn.*", httpx, twilio) propagate to the root's
    # handlers; a filter on a logger would not see its children's records.
    targets += logging.getLogger().handlers
    for target in targets:
        if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
            target.addFilter(redacting)
    return redacting


class QuietSimulatorPolling(logging.Filter):
    """Drops the access-log lines of answered `GET /messages?phone=...` requests.

    Every open `qdn chat` asks that once a second; in console mode those lines
    would bury the texts the service prints, which is what the console is for.
    Access records carry (client, method, path, http version, status), and the
    app's own a duration after them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) in (5, 6):
            _, method, path, _, status = args[:5]
            return not (method == "GET" and str(path).startswith("/messages?") and status == 200)
        return True


class _HandOver(QueueHandler):
    """Puts the record itself on the queue: formatting and masking are the listener thread's.

    QueueHandler.prepare() formats the message in the caller's thread (for a queue to
    another process); in-process, the record can go as it is, and the handlers behind the
    listener -- with their RedactingFilter -- do the rest. A record's args are formatted
    there, a moment later: every call site logs values, not objects it goes on changing.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def log_off_the_loop() -> QueueListener:
    """Move the root logger's handlers (and their filters: the masking) behind a queue and a thread.

    A record is then put on a queue by the thread that logs it (the event loop: ~1 us); the
    listener's thread masks, formats and writes it. Call after install_redaction(); stop() the
    listener on the way out, which writes whatever is still queued.
    """
    root = logging.getLogger()
    handlers = [handler for handler in root.handlers if not isinstance(handler, _HandOver)]
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, *handlers, respect_handler_level=True)
    for handler in handlers:
        root.removeHandler(handler)
    root.addHandler(_HandOver(records))
    listener.start()
    return listener
