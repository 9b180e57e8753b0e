"""Building outbound message records: the one place that decides pending vs skipped."""

from __future__ import annotations

from typing import Any

OPTED_OUT_REASON = "recipient has opted out (texted STOP)"


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
    """A message row for the queue: `pending`, or `skipped` with the reason when opted out."""
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
