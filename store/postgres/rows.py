"""How records become rows and back: the columns kept beside each `doc`, message ids, bounds.

A row's `doc` is the record as the store hands it out (a message's without its id); the
columns beside it are copies of the keys that are searched or ordered by, recomputed from
the doc on every write, so the two never disagree.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.jobs import iso_utc
from store.base import Job, Message
from store.postgres.connection import Row

BIGINT_MAX = 2**63 - 1
FIRST_JOB_ID = 1001

# A message id is its row's `seq` in ASCII digits, no leading zero: far fewer than int() accepts, no sign,
# space or other script's digits (str.isdigit() takes "²"). Ids come back in URLs and cursors.
_MESSAGE_ID = re.compile("[1-9][0-9]{0,17}")

# Keys a message row never keeps in its doc: its id is the row's seq, a claim is a column.
_NOT_IN_DOC = ("id", "claimed_until")


def message_seq(message_id: object) -> int | None:
    """The row a message id names, or None if the store could not have made it."""
    if isinstance(message_id, str) and _MESSAGE_ID.fullmatch(message_id):
        return int(message_id)
    return None


def message_of(row: Row) -> Message:
    """The message a row holds (`seq`, `doc`), id and all."""
    return {**row["doc"], "id": str(row["seq"])}


def message_doc(message: Message) -> Message:
    return {key: value for key, value in message.items() if key not in _NOT_IN_DOC}


def message_columns(doc: Message) -> tuple[Any, ...]:
    """The columns kept beside a message's doc: job_id, phone, recipient, twilio_sid, status, direction,
    created_at, next_attempt_at."""
    phone = doc.get("phone") or ""
    return (
        doc.get("job_id"),
        phone,
        doc.get("to") or phone,  # the send queue's per-phone order is by recipient (store/tinydb/queue.py)
        doc.get("twilio_sid") or None,
        doc.get("status") or "",
        doc.get("direction") or "",
        doc["created_at"],
        doc.get("next_attempt_at") or None,
    )


def job_columns(job: Job) -> tuple[Any, ...]:
    """token, status, customer_phone, reminder_due_at, updated_at."""
    return job["token"], job["status"], job["customer_phone"], job.get("reminder_due_at") or None, job["updated_at"]


def is_bigint(value: object) -> bool:
    """Whether `value` is an int a bigint column can hold (a job id from a URL may be anything)."""
    return isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX <= value <= BIGINT_MAX


def searchable(text: object) -> bool:
    """Whether `text` can be compared with a text column (PostgreSQL text holds no NUL)."""
    return isinstance(text, str) and "\x00" not in text


def hours_before(now: str, hours: float) -> str:
    return iso_utc(datetime.fromisoformat(now) - timedelta(hours=hours))


def seconds_after(now: str, seconds: float) -> str:
    return iso_utc(datetime.fromisoformat(now) + timedelta(seconds=seconds))
