"""The store's in-memory lookups across conversations, and how message ids name their partition.

Internally a partition is "1042" (job 1042's file) or "p15125550199" (that
phone's file). A message id is "<alias>-<doc id>": "1042-7" is the 7th message
in job 1042's file; a phone's own texts get "p" + a keyed digest of the phone
("p3f9c0a1d2b7e4c55-3"), because ids appear in logs and API answers, which
must never carry a full phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from typing import Any

from bot.errors import NotFound
from store import codec
from store.base import Job, Message
from store.tinydb.inbox_order import ConversationOrder
from store.tinydb.lists import JobOrder, PhoneLog
from store.tinydb.outbox import Outbox
from store.tinydb.queue import SendQueue

# Sent texts whose rows are kept in memory for their delivery reports: Twilio reports within minutes,
# and this many texts is weeks of a busy hauler's sending (~11 MB).
SENT_ROWS_KEPT = 20_000


class Indexes:
    """Cross-partition lookups, rebuilt from the files and the journal at every start."""

    def __init__(self, id_key: bytes) -> None:
        self.ids = MessageIds(id_key)
        self.jobs: dict[int, Job] = {}
        self.by_token: dict[str, int] = {}
        self.by_phone: dict[str, set[int]] = {}
        # job id -> its reminder's due time, for `scheduled` jobs with one waiting. Scanned whole by
        # due_reminders: it holds only upcoming appointments (tens to hundreds), never the history.
        self.reminders: dict[int, str] = {}
        # job id -> its review request's due time, for `complete` jobs with one waiting (a day's worth).
        self.reviews: dict[int, str] = {}
        # message id -> when its pictures' fetch is due (`media_due_at`), for texts with pictures still to
        # fetch: scanned whole by due_media (store/tinydb/media.py), and as small, whatever the history.
        self.media_due: dict[str, str] = {}
        self.media_queued = False  # a fetch became due since the store last looked
        self.by_sid: dict[str, str] = {}
        # message id -> the row (codec-encoded: ~550 bytes) of each of the latest SENT_ROWS_KEPT texts we
        # sent that have a Twilio SID: what a status callback reads and rewrites, answered from memory with
        # no file read and no thread hop. Bounded, so memory does not grow with the history (unbounded it
        # was ~50 MB at 200k texts); an older text's late report reads its file, as every text's once did.
        self.sent_rows: OrderedDict[str, bytes] = OrderedDict()
        # phone -> jobs whose conversation has a text to or from it: a
        # dispatcher's relays live with the customer's job, not the dispatcher's.
        self.texted_in: dict[str, set[int]] = {}
        self.queue = SendQueue()  # the pending texts, and the senders' claims on them
        self.phone_state: dict[str, dict[str, Any]] = {}
        self.opted_out: set[str] = set()
        self.last_doc: dict[str, int] = {}  # partition id -> highest message doc id
        # What dashboard pages read (store/tinydb/paging.py), and the outbox: events and idempotency keys.
        self.job_order = JobOrder()
        self.phone_log = PhoneLog()
        self.outbox = Outbox()
        # The inbox's conversation list in its order ("Needs reply" first), kept as texts are stored.
        self.conversations = ConversationOrder(lambda phone: bool(self.by_phone.get(phone)), self.ids.split)

    def put_job(self, job: Job) -> None:
        old = self.jobs.get(job["id"])
        self.job_order.put(old, job)
        phone = job["customer_phone"]
        if old is not None and old["customer_phone"] != phone:
            self.by_phone[old["customer_phone"]].discard(job["id"])
            self.conversations.customer(old["customer_phone"])
        self.jobs[job["id"]] = job
        self.by_token[job["token"]] = job["id"]
        ids = self.by_phone.setdefault(phone, set())
        first = not ids
        ids.add(job["id"])
        if first:
            self.conversations.customer(phone)  # its first job here: its conversation is listed
        if job["status"] == "scheduled" and job.get("reminder_due_at"):
            self.reminders[job["id"]] = job["reminder_due_at"]
        else:
            self.reminders.pop(job["id"], None)
        if job["status"] == "complete" and job.get("review_due_at"):
            self.reviews[job["id"]] = job["review_due_at"]
        else:
            self.reviews.pop(job["id"], None)

    def put_message(self, message_id: str, message: Message) -> None:
        if message.get("phone") and message.get("created_at"):
            self.conversations.put(message_id, message)
        if message.get("job_id") is not None and message.get("phone"):
            self.texted_in.setdefault(message["phone"], set()).add(message["job_id"])
        if message.get("twilio_sid"):
            self.by_sid[message["twilio_sid"]] = message_id
            if message.get("direction") == "outbound":
                # Copied to its own size: orjson's bytes keep the 4 KB buffer they were written in
                # (91k rows took 366 MB as they come, 50 MB copied).
                self.sent_rows[message_id] = bytes(memoryview(codec.dumps(message)))
                self.sent_rows.move_to_end(message_id)
                if len(self.sent_rows) > SENT_ROWS_KEPT:
                    self.sent_rows.popitem(last=False)  # the longest untouched: its reports are long done
        if message.get("status") == "pending":
            self.queue.put(message_id, message, self.ids.order({**message, "id": message_id}))
        else:
            self.queue.remove(message_id)
        due = message.get("media_due_at")
        if isinstance(due, str) and due:
            if message_id not in self.media_due:
                self.media_queued = True  # a text with pictures to fetch: wake the fetcher (Store.wait_for_media)
            self.media_due[message_id] = due
        elif self.media_due:  # the start-up scan meets mostly texts that never had pictures: skip the pop
            self.media_due.pop(message_id, None)

    def put_phone_state(self, phone: str, state: dict[str, Any]) -> None:
        self.phone_state[phone] = state
        if state.get("opted_out"):
            self.opted_out.add(phone)
        else:
            self.opted_out.discard(phone)


def digits(phone: str) -> str:
    return phone.lstrip("+")


def phone_partition(phone: str) -> str:
    """The partition id of a phone's own file: "p15125550199"."""
    return "p" + digits(phone)


def home(message: Message) -> str:
    """The partition id a message lives in (also its id prefix): "1042", or "p15125550199"."""
    if message.get("job_id") is not None:
        return str(message["job_id"])
    return phone_partition(message["phone"])


# A job id or doc id as this backend writes them: ASCII digits only (str.isdigit() takes "²",
# which int() refuses) and far fewer than the 4,300 int() accepts -- ids also come back in cursors.
_ID_NUMBER = re.compile("[0-9]{1,18}")


class MessageIds:
    """Turns (partition, doc id) into a public message id and back."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._alias: dict[str, str] = {}  # phone partition -> its alias
        self._partition: dict[str, str] = {}  # alias -> phone partition

    def _alias_of(self, pid: str) -> str:
        alias = self._alias.get(pid)
        if alias is None:
            alias = "p" + hmac.new(self._key, pid.encode(), hashlib.sha256).hexdigest()[:16]
            self._alias[pid] = alias
            self._partition[alias] = pid
        return alias

    def make(self, pid: str, doc_id: int | str) -> str:  # str: a document key as a TinyDB file spells it
        return f"{pid if pid.isdigit() else self._alias_of(pid)}-{doc_id}"

    def split(self, message_id: str) -> tuple[str, int]:
        """(partition, doc id) of a message id; NotFound for anything else."""
        prefix, _, doc = message_id.rpartition("-")
        if _ID_NUMBER.fullmatch(doc):
            pid = prefix if _ID_NUMBER.fullmatch(prefix) else self._partition.get(prefix)
            if pid:
                return pid, int(doc)
        raise NotFound(f"No message {message_id}.")

    def order(self, message: Message) -> tuple[str, str, int]:
        """Sort key: by time, then as written (doc ids compared as numbers, not text)."""
        pid, doc_id = self.split(message["id"])
        return message["created_at"], pid, doc_id
