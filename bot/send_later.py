"""Send later: a dashboard's text held until `send_at` (POST /jobs/{id}/messages), as pure rules.

A text to send later is an ordinary `pending` row of the send queue whose place in the
conversation and in its phone's queue is `send_at`: its `created_at` is `send_at`. So the
sender does not claim it before then (a text is due at its `created_at`), texts queued
meanwhile to the same phone are not held behind it (a phone's texts go out in the order of
their `created_at`), SEND_GIVE_UP_HOURS counts from `send_at`, and a restart changes
nothing: it is a row in the store like any other. The row also keeps `send_at` (shown in
the message JSON; null for a text sent at once).

Until a sender claims it, it can be cancelled (`cancelled`): it stays in the log as
`skipped`, its reason saying it was cancelled.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.errors import ValidationError
from bot.jobs import iso_utc

FIELD = "send_at"
MAX_AHEAD = timedelta(days=30)
CANCELLED_REASON = "cancelled before it was sent (DELETE /jobs/{id}/messages/{message id})"
# A date and a time, to the minute at least; the zone is optional (none: the business's zone).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")
_EXAMPLE = "e.g. 2026-12-05T09:00 (the business's time) or 2026-12-05T15:00:00Z"


def parse_send_at(value: object, tz: tzinfo, now: datetime) -> str:
    """`send_at` as given -> the moment (ISO UTC); ValidationError naming `send_at` unless it is a date
    and time after `now` and at most MAX_AHEAD after it. Without a zone it is the business's (`tz`)."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value.strip()):
        raise ValidationError(FIELD, f"must be an ISO 8601 date and time, {_EXAMPLE}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(FIELD, f"is not a real date and time, {_EXAMPLE}") from None
    if moment.tzinfo is None:
        # A wall-clock time in the business's zone; in the hour skipped in spring it is read as
        # the hour after (zoneinfo's fold=0), in the hour repeated in autumn as the first one.
        moment = moment.replace(tzinfo=tz)
    if moment <= now:
        raise ValidationError(FIELD, "must be in the future")
    if moment - now > MAX_AHEAD:
        raise ValidationError(FIELD, "must be at most 30 days ahead")
    return iso_utc(moment)


def held_until(row: dict[str, Any], send_at: str) -> dict[str, Any]:
    """A queue row (bot.messages.outbound_message) to be sent at `send_at` instead of at once."""
    return {**row, "created_at": send_at, "send_at": send_at}


def cancellable(message: dict[str, Any]) -> bool:
    """Whether a text may still be cancelled: outbound, `pending`, and no attempt that may have reached
    Twilio. (Whether a sender holds it now is the store's to say: Store.cancel_pending.)"""
    return (
        message.get("direction") == "outbound"
        and message.get("status") == "pending"
        and not message.get("send_started_at")
    )


def cancelled(message: dict[str, Any]) -> dict[str, Any]:
    """`message` cancelled before it was sent: `skipped`, the reason saying so, nothing left to attempt."""
    return {
        **message,
        "status": "skipped",
        "error_message": CANCELLED_REASON,
        "next_attempt_at": None,
    }
