"""Numbers that cannot take texts: Twilio's codes for them, and the mark kept in the phone's state.

A landline, a number no carrier reaches, or one Twilio says is not mobile will fail every text
sent to it. The first failure marks the phone (state key `undeliverable`); later texts to it are
`skipped` with the reason at once, the dispatchers are told once per job to call instead, and a
text *from* the phone clears the mark (it can text after all).
https://www.twilio.com/docs/api/errors/30006 , /30005 , /21614
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.wording import first_name, phone_for_people

MARK = "undeliverable"
# Twilio error code -> the reason people read ("Can't text Dana ...: landline. Call them.")
REASONS = {
    30006: "landline",  # "Landline or unreachable carrier"
    30005: "unknown handset",  # "Unknown destination handset"
    21614: "not a mobile number",  # "'To' number is not a valid mobile number"
}
NOTICE = "Can't text {who} at {phone}: {reason}. Call them."


def reason_for(code: Any) -> str | None:
    """The reason a failed text's Twilio error code marks its phone, None if it does not."""
    return REASONS.get(code) if isinstance(code, int) else None


def mark(state: Mapping[str, Any]) -> dict[str, Any] | None:
    found = state.get(MARK)
    return found if isinstance(found, dict) else None


def marked(state: Mapping[str, Any], message: Mapping[str, Any], code: int, now: str) -> tuple[dict[str, Any], bool]:
    """`state` with the phone marked because `message` failed with `code`, and whether the dispatchers
    are still to hear of it for the message's job (once per phone per job; a text of no job: once)."""
    earlier = mark(state) or {}
    told = [job for job in earlier.get("notified_jobs", []) if isinstance(job, int | None)]
    job_id = message.get("job_id")
    tell = job_id not in told
    kept = {
        "reason": earlier.get("reason") or REASONS[code],
        "code": earlier.get("code") or code,
        "since": earlier.get("since") or now,
        "message_id": earlier.get("message_id") or message.get("id"),
        "body": earlier.get("body") or message.get("body"),
        "notified_jobs": [*told, job_id] if tell else told,
    }
    return {**state, MARK: kept}, tell


def untold(state: Mapping[str, Any], message: Mapping[str, Any]) -> bool:
    """Whether the phone is marked and the dispatchers have not yet heard of it for `message`'s job."""
    found = mark(state)
    return found is not None and message.get("job_id") not in found.get("notified_jobs", [])


def cleared(state: Mapping[str, Any]) -> dict[str, Any]:
    """`state` without the mark: the phone texted us, so it can take texts."""
    return {key: value for key, value in state.items() if key != MARK}


def phone_status(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job JSON's `phone_status`: {"can_text": false, "reason", "since"} for a marked phone, else None."""
    found = mark(state)
    if found is None:
        return None
    return {"can_text": False, "reason": found.get("reason"), "since": found.get("since")}


def skip_reason(state: Mapping[str, Any]) -> str | None:
    """Why a text to this phone is skipped without trying, if it is marked."""
    found = mark(state)
    return f"can't receive texts: {found.get('reason')}" if found else None


def notice(customer_name: str | None, job_id: int | None, phone: str, reason: str) -> str:
    """The dispatchers' text: "Can't text Dana (1042) at (512) 555-0199: landline. Call them." (GSM-7)."""
    who = first_name(customer_name)
    if job_id is not None:
        who = f"{who} ({job_id})"
    return NOTICE.format(who=who, phone=phone_for_people(phone), reason=reason)
