"""How a fetch moves an inbound row's pictures on: pure changes for `Store.update_message`.

The row's keys (store/records.py): `media_fetch` [{id, url, type}] still to fetch,
`media_due_at` when the fetch is due (or a claim's lease ends), `media_attempts`
tries so far, `media` [{id, type, size}] kept, `media_failed` [{id, error}] given up.
Each change re-checks the row as stored, so a fetcher whose lease ran out (and
another took the row) writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from store import Message

MAX_TRIES = 5


@dataclass(frozen=True)
class Outcome:
    """What became of one item: "kept" (with its type and size), "failed" or "retry" (with why)."""

    verdict: str
    error: str | None = None
    content_type: str | None = None
    size: int = 0


def claimed(row: Message, now: str, lease: str) -> Message | None:
    """The row claimed until `lease` with one more try counted, if its fetch is due at `now`; else None."""
    due = row.get("media_due_at")
    if not row.get("media_fetch"):
        # Nothing to fetch yet due: a row the index should not hold. Cleared, so no fetcher spins on it.
        return {**row, "media_due_at": None} if due is not None else None
    if due is None or due > now:
        return None
    return {**row, "media_due_at": lease, "media_attempts": row.get("media_attempts", 0) + 1}


def settled(row: Message, lease: str, outcomes: dict[str, Outcome], retry_at: str) -> Message | None:
    """The row with this try's outcomes recorded (None: its claim was lost; someone else settles it).

    Items left to retry are due at `retry_at`; past MAX_TRIES they are given up instead.
    """
    if row.get("media_due_at") != lease:
        return None
    media, failed, left = list(row.get("media") or []), list(row.get("media_failed") or []), []
    tries = row.get("media_attempts", 0)
    for item in row.get("media_fetch") or []:
        outcome = outcomes.get(item["id"], Outcome("retry", "not tried"))
        if outcome.verdict == "kept":
            media.append({"id": item["id"], "type": outcome.content_type, "size": outcome.size})
        elif outcome.verdict == "failed" or tries >= MAX_TRIES:
            error = outcome.error if outcome.verdict == "failed" else f"{outcome.error} (gave up after {tries} tries)"
            failed.append({"id": item["id"], "error": error})
        else:
            left.append(item)
    due = retry_at if left else None
    return {**row, "media": media, "media_failed": failed, "media_fetch": left, "media_due_at": due}


def handed_back(row: Message, lease: str, now: str) -> Message | None:
    """The row due again at `now`, if it is still under our claim (a fetch cut short by a stop)."""
    return {**row, "media_due_at": now} if row.get("media_due_at") == lease else None
