"""Message rows and their statuses: the rules the webhooks and the sender share.

A message is a dict in the SPEC's shape (store/base.py declares every key).
Twilio reports statuses late, twice and out of order, so they are ranked and
never move back (queued < sending < sent < final; the first final one stays;
`read` may follow `delivered`).
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
"""

from __future__ import annotations

from typing import Any

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

    The one builder of outbound rows: status texts, relays, replies and acknowledgements.
    """
    return {
        "direction": "outbound",
        "kind": kind,
        "job_id": job_id,
        "phone": to,
        "from": sender,
        "to": to,
        "body": body,
        "twilio_sid": None,
        "status": "skipped" if opted_out else "pending",
        "error_code": None,
        "error_message": OPTED_OUT_REASON if opted_out else None,
        "created_at": now,
        "updated_at": now,
    }


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


def opted_out(state: dict[str, Any], now: str, source: str) -> dict[str, Any]:
    """`state` after the phone opted out; `source` says how ("STOP", "Twilio error 21610 on a send")."""
    if state.get("opted_out"):
        return state
    return {**state, "opted_out": True, "opted_out_at": now, "opt_source": source}


def opted_in(state: dict[str, Any], now: str, source: str) -> dict[str, Any]:
    """`state` after the phone opted back in (START, UNSTOP, YES)."""
    return {**state, "opted_out": False, "opted_in_at": now, "opt_source": source}
