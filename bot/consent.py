"""A phone's consent history, kept in its state (key `consent`): the record a lawyer asks for.

Each event is a small dict, appended in the same write that changes what it records:

    {"at": ISO, "type": "consent", "source": "booking"|"verbal"|..., "by": "token:api", "job_id": 1042}
    {"at": ISO, "type": "opt_out", "source": "STOP", "words": "stop", "sid": "SM..."}
    {"at": ISO, "type": "opt_in",  "source": "START", "words": "start", "sid": "SM..."}

Opt-outs and opt-ins are appended by bot.messages.opted_out / opted_in -- the one writer of the
opt-out -- so every way a phone opts out (a keyword, a phrase, Twilio's 21610) lands here; the
webhook adds the words texted and the inbound SID (`with_inbound_evidence`). A consent event is
appended when a job is booked for the phone (`consent_given`). Keeping it in the phone's state
makes it part of that one atomic write on every backend, and `qdn store copy` carries it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.errors import ValidationError

HISTORY = "consent"
DEFAULT_SOURCE = "booking"
SOURCES = ("verbal", "web_form", "paper_form", "text", "import")  # what POST /jobs `consent` takes
OPTED_IN = "opted_in"
OPTED_OUT = "opted_out"
API_TOKEN_NAME = "api"  # noqa: S105 -- a name, not a secret: how the history names API_TOKEN


def source_of(body: Mapping[str, Any]) -> str:
    """POST /jobs' `consent`: one of SOURCES, DEFAULT_SOURCE when absent (or null); else 422 naming it."""
    value = body.get("consent")
    if value is None:
        return DEFAULT_SOURCE
    if value not in SOURCES:
        raise ValidationError("consent", f"must be one of {', '.join(SOURCES)} (or left out: {DEFAULT_SOURCE})")
    return str(value)


def with_event(state: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """`state` with `event` appended to its consent history (events without a value are left out)."""
    history = state.get(HISTORY)
    kept = list(history) if isinstance(history, list) else []
    return {**state, HISTORY: [*kept, {key: value for key, value in event.items() if value is not None}]}


def consent_given(
    state: Mapping[str, Any], now: str, source: str, *, by: str | None = None, job_id: int | None = None
) -> dict[str, Any]:
    """`state` after consent to texts came in (a booking, `source` how it was given)."""
    return with_event(state, {"at": now, "type": "consent", "source": source, "by": by, "job_id": job_id})


def events(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    history = state.get(HISTORY)
    return [event for event in history if isinstance(event, dict)] if isinstance(history, list) else []


def with_inbound_evidence(
    change: Callable[[Mapping[str, Any]], dict[str, Any]], words: str, sid: str
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """`change`, with the words texted and the inbound SID on any consent event it appends.

    The conversation decides an opt-out from the words alone; the webhook knows which text it was."""

    def changed(state: Mapping[str, Any]) -> dict[str, Any]:
        before = len(events(state))
        updated = change(state)
        history = events(updated)
        if len(history) > before:
            added = [{**event, "words": words, "sid": sid} for event in history[before:]]
            updated = {**updated, HISTORY: [*history[:before], *added]}
        return updated

    return changed


def current(state: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The phone's state now (opted_in / opted_out) and the event that began it (None: no record of it).

    The `opted_out` flag is the truth (texts are skipped by it); a consent given while opted out
    does not opt back in -- only the customer's START does."""
    wanted = OPTED_OUT if state.get("opted_out") else OPTED_IN
    began: dict[str, Any] | None = None
    now_in: str | None = None
    for event in events(state):
        kind = event.get("type")
        moved_to = OPTED_OUT if kind == "opt_out" else OPTED_IN if kind == "opt_in" or now_in is None else now_in
        if moved_to != now_in:
            now_in, began = moved_to, event
    return wanted, began if now_in == wanted else None


def evidence(event: Mapping[str, Any] | None) -> str:
    """One line saying what an event rests on, for the CSV export."""
    if not event:
        return ""
    parts = [str(event.get("source", ""))]
    if event.get("words"):
        parts.append(f"texted {event['words']!r}")
    if event.get("sid"):
        parts.append(f"inbound {event['sid']}")
    if event.get("by"):
        parts.append(f"by {event['by']}")
    if event.get("job_id") is not None:
        parts.append(f"job {event['job_id']}")
    return "; ".join(part for part in parts if part)


def summary(phone: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """What GET /consent answers for a phone (without its events) and the export's row."""
    now_in, began = current(state)
    since = (began or {}).get("at") or state.get("opted_out_at" if now_in == OPTED_OUT else "opted_in_at")
    return {
        "phone": phone,
        "state": now_in,
        "since": since,
        "source": (began or {}).get("source") or state.get("opt_source"),
        "evidence": evidence(began),
    }


CSV_COLUMNS = ("phone", "state", "since", "source", "evidence")
