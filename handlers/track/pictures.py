"""Which pictures a job's tracking page shows (SPEC "Pictures (MMS)"), and their private links.

Only the job's own conversation with its customer, from the rows `public_messages` shows:

- the customer's own: kept pictures (`media`) of inbound texts from the job's customer phone;
- the business's to the customer: pictures of outbound texts to that phone (an MMS), labelled
  by what the text was about -- a status text sent as the job arrived is "Delivered here", one
  sent as it was completed "Picked up", anything else "From {business}".

Never another job's (the rows are that job's alone: `Store.job_messages`), never a picture a
dispatcher texted in that was not sent to the customer (the dispatcher's rows are not the
customer's), never one not kept (a fetch still running or given up: no type known, no bytes).

A status text's row does not name the status it announced; the job's history does: the row and
its history entry are written in one job write stamped with one time (Services.change_status),
so the text is about the latest entry at or before the row's `created_at`.

Links are signed for PAGE_LINK_SECONDS from the start of the current hour (`link_time`): the
page's live update compares what the token API answers with what the page was rendered from,
so the links must not change from one poll to the next; they still have 23 to 24 hours left,
and the page gets fresh ones at its next change or, at the latest, the next hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from store import Job, Message

LINK_STEP_SECONDS = 3600  # links on a page change at most this often
BUSINESS_LABELS = {"arrived": "Delivered here", "complete": "Picked up"}
YOUR_LABEL = "From you"

# id -> {"type", "size"}: what is known of a kept picture (it never changes under its id).
Known = dict[str, dict[str, Any]]
Link = Callable[[str], str]  # media id -> its signed link (absolute URL)


def link_time(now: float) -> int:
    """The `now` page links are signed from: the start of the current LINK_STEP_SECONDS (see above)."""
    return int(now // LINK_STEP_SECONDS) * LINK_STEP_SECONDS


def _is_kept(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str) and bool(item["id"])


def known_pictures(messages: Iterable[Message]) -> Known:
    """What the rows themselves say of kept pictures: each item that carries its type and size."""
    known: Known = {}
    for message in messages:
        for item in message.get("media") or ():
            if _is_kept(item) and item.get("type") and isinstance(item.get("size"), int):
                known.setdefault(item["id"], {"type": item["type"], "size": item["size"]})
    return known


def shown_rows(job: Job, messages: Iterable[Message]) -> list[Message]:
    """The rows of the customer's side (as `public_messages` shows them) that carry pictures."""
    customer = job["customer_phone"]
    return [
        message
        for message in messages
        if message.get("phone") == customer and message.get("status") != "skipped" and message.get("media")
    ]


def wanted_ids(job: Job, messages: list[Message]) -> list[str]:
    """Every picture id the customer's side names, in order, once each."""
    seen: dict[str, None] = {}
    for message in shown_rows(job, messages):
        for item in message.get("media") or ():
            if _is_kept(item):
                seen.setdefault(item["id"])
    return list(seen)


def status_announced(job: Job, message: Message) -> str | None:
    """The status a status text (`notification`) announced: the job's latest history entry at or before it."""
    at = message.get("created_at") or ""
    found = None
    for entry in job.get("history") or ():
        if entry["at"] <= at:
            found = entry["status"]
    return found


def label(job: Job, message: Message, business_name: str) -> str:
    if message.get("direction") == "inbound":
        return YOUR_LABEL
    if message.get("kind") == "notification":
        status = status_announced(job, message)
        if status in BUSINESS_LABELS:
            return BUSINESS_LABELS[status]
    return f"From {business_name}"


def message_media(message: Message, known: Known, link: Link) -> list[dict[str, Any]]:
    """A shown message's `media`: [{id, type, size, url}] of its kept pictures, url a signed link."""
    shown = []
    for item in message.get("media") or ():
        if _is_kept(item) and item["id"] in known:
            about = known[item["id"]]
            shown.append({"id": item["id"], "type": about["type"], "size": about["size"], "url": link(item["id"])})
    return shown


def job_pictures(
    job: Job, messages: list[Message], business_name: str, known: Known, link: Link
) -> list[dict[str, Any]]:
    """The job's pictures for its customer, oldest first: [{url, type, size, from, label, at}].

    `known` holds every kept picture among them (the others are not shown); a picture sent
    twice is shown once, where it first appeared.
    """
    pictures: list[dict[str, Any]] = []
    seen: set[str] = set()
    for message in shown_rows(job, messages):
        mine = message.get("direction") == "inbound"
        for item in message_media(message, known, link):
            if item["id"] in seen:
                continue
            seen.add(item["id"])
            pictures.append(
                {
                    "url": item["url"],
                    "type": item["type"],
                    "size": item["size"],
                    "from": "you" if mine else "business",
                    "label": label(job, message, business_name),
                    "at": message["created_at"],
                }
            )
    return pictures
