"""The store's in-memory lookups across conversations, and how message ids name their partition.

A message id is "<partition>-<doc id>": "1042-7" is the 7th message in job
1042's file, "p15125550199-3" the 3rd in that phone's file.
"""

from __future__ import annotations

from typing import Any

from bot.errors import NotFound
from store.base import Job, Message


class Indexes:
    """Cross-partition lookups, rebuilt from the files and the journal at every start."""

    def __init__(self) -> None:
        self.jobs: dict[int, Job] = {}
        self.by_token: dict[str, int] = {}
        self.by_phone: dict[str, set[int]] = {}
        self.by_sid: dict[str, str] = {}
        # phone -> jobs whose conversation has a text to or from it: a
        # dispatcher's relays live with the customer's job, not the dispatcher's.
        self.texted_in: dict[str, set[int]] = {}
        self.pending: dict[str, str] = {}  # message id -> created_at, for queue order
        self.phone_state: dict[str, dict[str, Any]] = {}
        self.opted_out: set[str] = set()
        self.last_doc: dict[str, int] = {}  # partition id -> highest message doc id

    def put_job(self, job: Job) -> None:
        old = self.jobs.get(job["id"])
        if old is not None and old["customer_phone"] != job["customer_phone"]:
            self.by_phone[old["customer_phone"]].discard(job["id"])
        self.jobs[job["id"]] = job
        self.by_token[job["token"]] = job["id"]
        self.by_phone.setdefault(job["customer_phone"], set()).add(job["id"])

    def put_message(self, message_id: str, message: Message) -> None:
        if message.get("job_id") is not None and message.get("phone"):
            self.texted_in.setdefault(message["phone"], set()).add(message["job_id"])
        if message.get("twilio_sid"):
            self.by_sid[message["twilio_sid"]] = message_id
        if message.get("status") == "pending":
            self.pending[message_id] = message["created_at"]
        else:
            self.pending.pop(message_id, None)

    def put_phone_state(self, phone: str, state: dict[str, Any]) -> None:
        self.phone_state[phone] = state
        if state.get("opted_out"):
            self.opted_out.add(phone)
        else:
            self.opted_out.discard(phone)


def digits(phone: str) -> str:
    return phone.lstrip("+")


def home(message: Message) -> str:
    """The partition id a message lives in (also its id prefix): "1042", or "p15125550199"."""
    if message.get("job_id") is not None:
        return str(message["job_id"])
    return "p" + digits(message["phone"])


def split_id(message_id: str) -> tuple[str, int]:
    """(partition id, doc id) of a message id like "1042-7" or "p15125550199-3"."""
    prefix, _, doc = message_id.rpartition("-")
    if doc.isdigit() and (prefix.isdigit() or (prefix[:1] == "p" and prefix[1:].isdigit())):
        return prefix, int(doc)
    raise NotFound(f"No message {message_id}.")
