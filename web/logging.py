"""Logging filters: tokens and phone numbers masked in every record (bot/redaction.py), simulator polls dropped.

uvicorn's access records carry the request line in `record.args` and its
AccessFormatter unpacks exactly five of them, so args are masked one by one
and keep their shape rather than being folded into the message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.redaction import redact

__all__ = ["UVICORN_LOGGERS", "QuietSimulatorPolling", "RedactingFilter", "install_redaction", "redact"]


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
    uvicorn's access records carry (client, method, path, http version, status).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            return not (method == "GET" and str(path).startswith("/messages?") and status == 200)
        return True
