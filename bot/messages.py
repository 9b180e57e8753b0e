"""Message rows and their statuses: the rules the webhooks and the sender share.

A message is a dict in the SPEC's shape (store/records.py declares every key).
Twilio reports statuses late, twice and out of order, so they are ranked and
never move back (queued < sending < sent < final; the first final one stays;
`read` may follow `delivered`).
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot import consent

MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (error 21617)
OPTED_OUT_CODE = 21610  # "Attempt to send to unsubscribed recipient": they texted STOP
OPTED_OUT_REASON = "recipient has opted out (texted STOP)"

# Twilio's MessageStatus values -> ours. Twilio's "accepted" and "scheduled"
# are its queue before "queued"; "canceled" only ends a scheduled message.
TWILIO_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "read": "read",
    "canceled": "failed",
}
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
_RANK = {"queued": 1, "sending": 2, "sent": 3, "delivered": 4, "undelivered": 4, "failed": 4, "read": 5}
# What common delivery error codes mean, for callbacks that carry only ErrorCode.
# https://www.twilio.com/docs/api/errors
ERROR_MEANINGS = {
    OPTED_OUT_CODE: "Recipient has opted out (texted STOP)",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered by the carrier",
    30008: "Unknown error",
}


def _row(
    direction: str, kind: str, job_id: int | None, sender: str, to: str, body: str, status: str, now: str
) -> dict[str, Any]:
    """The keys every message row has; `phone`, the conversation a row without a job belongs to,
    is always the other party's (the business's number is `from` outbound and `to` inbound)."""
    return {
        "direction": direction,
        "kind": kind,
        "job_id": job_id,
        "phone": sender if direction == "inbound" else to,
        "from": sender,
        "to": to,
        "body": body,
        "twilio_sid": None,
        "status": status,
        "error_code": None,
        "error_message": None,
        "created_at": now,
        "updated_at": now,
    }


# One builder per kind of row; in each, `sender` is what the row records as `from`.


def outbound_message(
    *,
    kind: str,
    to: str,
    body: str,
    sender: str,
    now: str,
    opted_out: bool,
    job_id: int | None = None,
) -> dict[str, Any]:
    """A message row for the queue: `pending`, or `skipped` with the reason when opted out.

    The one builder of queued rows: status texts, relays, dashboard texts
    (`with_media` adds the pictures of an MMS, or a relay's wait for them).
    """
    if opted_out:
        row = _row("outbound", kind, job_id, sender, to, body, "skipped", now)
        return {**row, "error_message": OPTED_OUT_REASON}
    return _row("outbound", kind, job_id, sender, to, body, "pending", now)


def with_media(
    row: dict[str, Any], media: Sequence[Mapping[str, Any]] = (), *, wait_sid: str | None = None
) -> dict[str, Any]:
    """A queued row carrying pictures (docs/pictures.md): `media` is what it sends as an MMS
    ([{id}] of pictures still being fetched, or [{id, type, size}] of kept ones; [] for none), and
    `wait_sid` the MessageSid of the inbound text whose fetch the sender waits for first (its
    pictures are this row's, or are linked in its body)."""
    shown = {**row, "media": [dict(item) for item in media]}
    if wait_sid is not None:
        shown["media_wait_sid"] = wait_sid
    return shown


def answer_message(*, kind: str, to: str, body: str, sender: str, now: str, job_id: int | None) -> dict[str, Any]:
    """The row that logs a webhook's TwiML answer to `to`: already `sent`, since Twilio sends it
    with the webhook's response, and without a SID (Twilio assigns it inside; we never learn it)."""
    return _row("outbound", kind, job_id, sender, to, body, "sent", now)


def inbound_message(
    *,
    kind: str,
    sid: str,
    sender: str,
    to: str,
    body: str,
    now: str,
    job_id: int | None,
    num_media: str,
    reply: str | None,
    media_fetch: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The row of a text received from `sender` (Twilio's MessageSid `sid`), `received` for good.

    Internal keys: `num_media`, the media Twilio attached, and `reply_body`,
    the answer a repeated delivery of the same MessageSid gets again. With
    pictures to fetch (`media_fetch`: [{id, url, type}], docs/pictures.md) the
    row is due for the fetcher at once: `media` [] until they are kept.
    """
    row = _row("inbound", kind, job_id, sender, to, body, "received", now)
    row = {**row, "twilio_sid": sid, "num_media": num_media, "reply_body": reply}
    if media_fetch:
        fetch = [dict(item) for item in media_fetch]
        row |= {"media": [], "media_fetch": fetch, "media_due_at": now, "media_attempts": 0}
    return row


def advances(current: str, new: str) -> bool:
    """Whether a report of `new` moves a message that is `current` forward."""
    if current in FINAL_STATUSES:
        return current == "delivered" and new == "read"
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def with_report(message: dict[str, Any], status: str, code: int | None, text: str | None) -> dict[str, Any] | None:
    """`message` after a delivery report, or None when the report would move it back."""
    if not advances(message["status"], status):
        return None
    updated = {**message, "status": status}
    if code is not None:
        updated["error_code"] = code
        updated["error_message"] = text or ERROR_MEANINGS.get(code) or f"Twilio error {code}"
    return updated


# -- a phone's opt-out, kept in its state (the one writer of these keys) -----------
# Each change is appended to the phone's consent history too (bot/consent.py).


def opted_out(state: dict[str, Any], now: str, source: str) -> dict[str, Any]:
    """`state` after the phone opted out; `source` says how ("STOP", "Twilio error 21610 on a send")."""
    if state.get("opted_out"):
        return state
    changed = {**state, "opted_out": True, "opted_out_at": now, "opt_source": source}
    return consent.with_event(changed, {"at": now, "type": "opt_out", "source": source})


def opted_in(state: dict[str, Any], now: str, source: str) -> dict[str, Any]:
    """`state` after the phone opted back in (START, UNSTOP, YES)."""
    changed = {**state, "opted_out": False, "opted_in_at": now, "opt_source": source}
    return consent.with_event(changed, {"at": now, "type": "opt_in", "source": source})
