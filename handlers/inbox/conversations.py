"""What the inbox shows, worked out from a business's jobs and message log (no HTTP here).

A conversation is one customer phone: its jobs and every text to or from it. It is named in URLs
by an opaque key (an HMAC of the business and phone under the inbox's key), never by the phone.

"Needs reply" is kept by the store per phone (store/roles/conversations.py: the customer's free
text newer than any answer by a person -- a relay or a status move's text); the list reads it in
its order (Store.conversations_page), a conversation's page works it out from its own texts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from bot.phones import mask_phone
from bot.wording import appointment_words, clock, money
from store import Job, Message
from store.roles.conversations import ANSWER_KINDS, waiting

PAGE_SIZE = 50
STATUS_WORDS = {
    "scheduled": "Scheduled",
    "en_route": "En route",
    "arrived": "Arrived",
    "complete": "Done",
    "cancelled": "Cancelled",
}
FAILED = frozenset({"failed", "undelivered"})


def conversation_key(signing_key: bytes, business: str, phone: str) -> str:
    return hmac.new(signing_key, f"{business}\x00{phone}".encode(), hashlib.sha256).hexdigest()[:24]


def waiting_since(messages: list[Message]) -> str | None:
    """When the customer's unanswered free text came in, or None: the store's own rule
    (store/roles/conversations.py), here over one conversation's texts."""
    free = [m["created_at"] for m in messages if m["direction"] == "inbound" and m["kind"] == "text"]
    answers = [m["created_at"] for m in messages if m["direction"] == "outbound" and m["kind"] in ANSWER_KINDS]
    return waiting(max(free, default=None), max(answers, default=None))


@dataclass
class Conversation:
    key: str
    phone: str
    name: str
    jobs: list[Job]
    messages: list[Message] = field(default_factory=list)

    @property
    def job(self) -> Job:
        """The newest job: the one the row shows."""
        return max(self.jobs, key=lambda job: job["id"])

    @property
    def waiting(self) -> str | None:
        return waiting_since(self.messages)

    def matches(self, query: str) -> bool:
        query = query.strip().lower()
        if not query:
            return True
        digits = "".join(ch for ch in query if ch.isdigit())
        return (
            query in self.name.lower()
            or (len(digits) >= 4 and digits in self.phone)
            or any(query.lstrip("#") == str(job["id"]) for job in self.jobs)
        )


def conversations_of(jobs: list[Job], signing_key: bytes, business: str) -> dict[str, Conversation]:
    """One conversation per customer phone, by key (messages not yet read)."""
    by_phone: dict[str, Conversation] = {}
    for job in jobs:
        phone = job["customer_phone"]
        found = by_phone.get(phone)
        if found is None:
            key = conversation_key(signing_key, business, phone)
            by_phone[phone] = Conversation(key, phone, job["customer_name"] or mask_phone(phone), [job])
        else:
            found.jobs.append(job)
            if job["id"] > found.job["id"] and job["customer_name"]:
                found.name = job["customer_name"]
    return {conversation.key: conversation for conversation in by_phone.values()}


def when(at: str, tz: ZoneInfo, now: datetime) -> str:
    local = datetime.fromisoformat(at).astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return clock(local)
    return f"{local:%b} {local.day}, {clock(local)}"


def job_card(job: Job, tz: ZoneInfo, tracking_url: str) -> dict[str, Any]:
    return {
        "id": job["id"],
        "service": job["service_type"],
        "status": job["status"],
        "status_words": STATUS_WORDS.get(job["status"], job["status"]),
        "appointment": appointment_words(job.get("scheduled_for"), tz),
        "address": job.get("address"),
        "total": money(job["total"]) if job.get("total") is not None else None,
        "tracking_url": tracking_url,
        "open": job["status"] in ("scheduled", "en_route", "arrived"),
    }


def who(message: Message, names: Mapping[str, str]) -> str:
    """Who a text is from, as the conversation shows it: a dispatcher by name if the business names them."""
    if message["direction"] == "inbound":
        return "Customer"
    if message["kind"] != "relay":
        return "Automatic"
    by = message.get("sent_by")
    if not isinstance(by, str) or not by:
        return "Dispatcher"
    return names.get(by) or f"Dispatcher ···{by[-4:]}"


def text_line(
    message: Message,
    tz: ZoneInfo,
    now: datetime,
    link: Callable[[str], str],
    *,
    resent: bool = False,
    names: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, Any]:
    """One text as the conversation shows it; its kept pictures by `link` (media id -> a signed link).

    An `unknown` text (the sender could not tell whether Twilio took it) shows why, and a "Send
    again" button until it has been `resent`."""
    failed = message["status"] in FAILED
    unknown = message["status"] == "unknown"
    reason = message.get("error_message") or (f"error {message['error_code']}" if message.get("error_code") else None)
    return {
        "mine": message["direction"] == "outbound",
        "who": who(message, names),
        "body": message["body"],
        "when": when(message["created_at"], tz, now),
        "iso": message["created_at"],
        "status": message["status"],
        "failed": failed,
        "reason": reason if failed or unknown else None,
        "send_again": unknown and not resent and message.get("job_id") is not None,
        "resent": unknown and resent,
        "id": message["id"],
        "job_id": message.get("job_id"),
        "pictures": [
            {"src": link(item["id"]), "alt": f"Picture {number} with this text"}
            for number, item in enumerate(message.get("media") or (), start=1)
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
        ],
    }
