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

import collections
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.redaction import redact
from bot.webhook_paths import MESSAGE_PARAM

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


# A status callback's own query (bot/webhook_paths.py): `m=` and a message id of fewer than ten digits.
# redact() masks nothing in it -- no credential's name, no phone's ten digits, no token's twenty
# symbols -- so after a plain path it is shown as it is, without running redact()'s regexes over
# the line (~6 us a status callback, issue #30).
_MESSAGE_QUERY = re.compile(rf"{MESSAGE_PARAM}=[0-9]{{1,9}}")


def shown_target(path: str, query: str) -> str:
    """The request target as the access log shows it, tokens and phones masked.

    `path` is the ASGI scope's (decoded) and is shown %-encoded, as uvicorn showed it
    (a token with spaces in it must stay one path segment for the mask); `query` raw.
    """
    plain_query = not query or _MESSAGE_QUERY.fullmatch(query) is not None
    unmasked = f"{path}?{query}" if query else path
    if plain_query and path in _PLAIN_PATHS:
        return unmasked
    encoded = quote(path)
    shown = redact(f"{encoded}?{query}" if query else encoded)
    # A %-encoded path has no `?`, `&`, `;` or `=`, so no mask reaches from the path into such a query or
    # back: the target is shown unchanged exactly when the path alone is.
    if plain_query and shown == unmasked and len(_PLAIN_PATHS) < _PLAIN_PATHS_MAX:
        _PLAIN_PATHS.add(path)
    return shown


# Short texts seen to hold nothing to mask -- a record's format string, a status, a business name -- so
# each is checked once, not on every line (~4 us a text: a status callback's line has five). As with
# _PLAIN_PATHS only such texts are remembered, never one that held something masked; bounded, and
# started afresh when full, so the texts that keep coming back are the ones in it.
_PLAIN_TEXTS: set[str] = set()
_PLAIN_TEXTS_MAX = 4096
_PLAIN_TEXT_LENGTH = 200


def _redacted(text: str) -> str:
    """redact(text), answered from _PLAIN_TEXTS when it is there (redact is a pure function)."""
    if text in _PLAIN_TEXTS:
        return text
    shown = redact(text)
    if shown == text and len(text) <= _PLAIN_TEXT_LENGTH:
        if len(_PLAIN_TEXTS) >= _PLAIN_TEXTS_MAX:
            _PLAIN_TEXTS.clear()
        _PLAIN_TEXTS.add(text)
    return shown


def _redact_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, (bool, int, float)):
        return arg  # keeps %d and %.2f working
    if isinstance(arg, str):
        return _redacted(arg)
    try:
        shown = str(arg)
    except Exception:  # a broken __str__ must not lose the log line
        return arg
    masked = _redacted(shown)
    return arg if masked == shown else masked


class RedactingFilter(logging.Filter):
    """A logging filter that masks tokens and phones in a record (never drops it)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, MASKED, False):
            return True  # masked field by field when it was made (the access line)
        if isinstance(record.msg, str):
            record.msg = _redacted(record.msg)
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


class _HandOver(logging.Handler):
    """Appends the record itself to a deque: no formatting, no masking, no wake-up in the caller's thread.

    A QueueHandler formats the message in the caller's thread (prepare(), for a queue to another
    process) and its queue wakes the listener's thread for every record: a GIL hand-off a request.
    Here the writer looks every INTERVAL instead, and its handlers -- with their RedactingFilter --
    mask, format and write what has come since. A record's args are formatted there, a moment
    later: call sites log values, not objects they go on changing.
    """

    def __init__(self, records: collections.deque[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def handle(self, record: logging.LogRecord) -> bool:
        self.records.append(record)  # atomic; the lock and filters of Handler.handle are the writer's
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class LogWriter:
    """The thread that writes what the event loop logged, every INTERVAL seconds (issue #30)."""

    INTERVAL = 0.1  # a log line shows up at most this late

    def __init__(self, handlers: list[logging.Handler]) -> None:
        self.records: collections.deque[logging.LogRecord] = collections.deque()
        self.handlers = handlers
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qdn-log-writer", daemon=True)

    def _run(self) -> None:
        while not self._stopping.wait(self.INTERVAL):
            self.write()
        self.write()

    def write(self) -> None:
        """Hand every record logged so far to the handlers (each masks, formats and writes it)."""
        while self.records:
            record = self.records.popleft()
            for handler in self.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is still logged and stop the thread."""
        self._stopping.set()
        self._thread.join()
        self.write()


def log_off_the_loop() -> LogWriter:
    """Move the root logger's handlers (and their filters: the masking) behind a LogWriter thread.

    A record is then appended to a deque by the thread that logs it (the event loop: ~1 us) and
    masked, formatted and written by the writer's thread. Call after install_redaction(); stop()
    the writer on the way out, which writes whatever is still logged.
    """
    root = logging.getLogger()
    handlers = [handler for handler in root.handlers if not isinstance(handler, _HandOver)]
    writer = LogWriter(handlers)
    for handler in handlers:
        root.removeHandler(handler)
    root.addHandler(_HandOver(writer.records))
    writer.start()
    return writer
