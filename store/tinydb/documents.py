"""The TinyDB store's synchronous calls: jobs, messages, the send queue, reminders, phones, rows, the outbox.

`Documents` reads and writes them over a `Partitions` (store/tinydb/partitions.py: the files,
the journal overlay, the indexes) that it is given, not one it is: `TinyDBStore` makes both.
Every public method (and each function below taking a `core`) must be called holding the
partitions' `mutex`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from bot.errors import NotFound
from bot.jobs import iso_utc, utc_now
from bot.send_later import cancellable
from store import codec
from store.base import Event, Job, JobMove, JobWrite, Message, Once, PhoneState
from store.files import read_json
from store.records import IdempotencyRecord
from store.tinydb.indexes import Indexes, home, phone_partition
from store.tinydb.journal import Op
from store.tinydb.partitions import Partitions

FIRST_JOB_ID = 1001


class Documents:
    """Jobs, messages, the send queue, reminders and phones, over one store's partitions."""

    def __init__(self, partitions: Partitions) -> None:
        self.partitions = partitions
        # The partitions' helpers, under the names the methods below (and paging.py, media.py) call.
        self._commit = partitions._commit
        self._saw = partitions._saw
        self._file = partitions._file
        self._message_ops = partitions._message_ops
        self._outbox_ops = partitions._outbox_ops
        self._overlay_docs = partitions._overlay_docs
        self._partition_messages = partitions._partition_messages

    @property
    def index(self) -> Indexes:
        """The partitions' indexes (made anew when the store opens or recovers)."""
        return self.partitions.index

    @staticmethod
    def token_elsewhere(token: str) -> bool:
        """Whether another business's store has this tracking token (store/tinydb/deployment.py sets it)."""
        return False

    # -- jobs ---------------------------------------------------------------

    def create_job(self, build: Callable[[int], JobWrite], once: Once | None = None) -> JobWrite:
        self.index.outbox.check(once)
        # Ids are max+1 rather than a stored counter: jobs are never deleted,
        # and a job appears atomically with its journal line.
        job_id = max(self.index.jobs, default=FIRST_JOB_ID - 1) + 1
        result = build(job_id)
        # Tokens are unique across the deployment: other businesses' stores are asked too.
        while result.job["token"] in self.index.by_token or self.token_elsewhere(result.job["token"]):
            result = build(job_id)
        ops, stored = self._message_ops(result.messages, result.job["created_at"])
        written = JobWrite(result.job, stored)
        self._commit([[str(job_id), "job", 1, result.job], *ops, *self._outbox_ops(once, written, new=stored)])
        return written

    def get_job(self, job_id: int) -> Job:
        try:
            job = self.index.jobs[job_id]
        except KeyError:
            raise NotFound(f"No job {job_id}.") from None
        self._saw(str(job_id))
        return job

    def find_job_by_token(self, token: str) -> Job | None:
        job_id = self.index.by_token.get(token)
        return None if job_id is None else self.get_job(job_id)

    def list_jobs(self, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Job]:
        ids: Iterable[int] = self.index.by_phone.get(phone, set()) if phone else self.index.jobs
        wanted = set(statuses) if statuses else None
        jobs = (self.index.jobs[i] for i in sorted(ids, reverse=True))
        selected = [job for job in jobs if wanted is None or job["status"] in wanted]
        for job in selected:
            self._saw(str(job["id"]))
        return selected

    def update_job(self, job_id: int, change: Callable[[Job], JobWrite], once: Once | None = None) -> JobWrite:
        self.index.outbox.check(once)
        job = self.get_job(job_id)
        result = change(job)
        if not result.changed and not result.messages:
            if once is not None:  # nothing to write but the key: a retry must get this answer again
                self._commit(self._outbox_ops(once, result))
            return result
        ops, stored = self._message_ops(result.messages, result.job["updated_at"])
        written = JobWrite(result.job, stored, result.changed)
        extra = self._outbox_ops(once, written, new=stored, job=(job, result.job))
        self._commit([[str(job_id), "job", 1, result.job], *ops, *extra])
        return written

    # -- messages -----------------------------------------------------------

    def add_message(self, message: Message, once: Once | None = None) -> Message:
        return self.add_messages([message], once=once)[0]

    def add_messages(
        self,
        messages: list[Message],
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
        once: Once | None = None,
    ) -> list[Message]:
        """Messages (and a phone's new state) in one atomic write; `once` answers with the first message."""
        self.index.outbox.check(once)
        for message in messages:
            if message.get("job_id") is not None:
                self.get_job(message["job_id"])  # never start a job's file without its job
        ops, stored = self._message_ops(messages, utc_now())
        if phone is not None and change_phone is not None:
            current = self.get_phone(phone)
            updated = change_phone(dict(current))
            if updated != current:
                ops.append([phone_partition(phone), "state", 1, updated])
        self._commit([*ops, *self._outbox_ops(once, stored[0] if once else None, new=stored)])
        return stored

    def record_inbound(
        self,
        inbound: Message,
        outbound: list[Message],
        phone: str | None,
        change_phone: Callable[[PhoneState], PhoneState] | None,
    ) -> tuple[list[Message], bool]:
        existing = self.find_message_by_sid(inbound["twilio_sid"])
        if existing is not None:
            return [existing], False
        return self.add_messages([inbound, *outbound], phone, change_phone), True

    def record_move(
        self,
        sid: str,
        move: JobMove,
        phone: str | None,
        change_phone: Callable[[PhoneState], PhoneState] | None,
    ) -> tuple[list[Message], bool]:
        existing = self.find_message_by_sid(sid)
        if existing is not None:
            return [existing], False
        job = self.index.jobs.get(move.job_id)
        if job is not None:
            self._saw(str(move.job_id))
        turn = move.turn(job)
        moved, messages = turn.rows(job)
        for message in messages:
            if message.get("job_id") is not None:
                self.get_job(message["job_id"])  # never start a job's file without its job
        ops, stored = self._message_ops(messages, utc_now())
        if moved is not None:
            ops.insert(0, [str(move.job_id), "job", 1, moved[1]])
        if phone is not None and change_phone is not None:
            current = self.get_phone(phone)
            updated = change_phone(dict(current))
            if updated != current:
                ops.append([phone_partition(phone), "state", 1, updated])
        self._commit([*ops, *self._outbox_ops(new=stored, job=moved)])
        return stored, True

    def get_message(self, message_id: str) -> Message:
        return self._message_at(message_id, *self.index.ids.split(message_id))

    def _message_at(self, message_id: str, pid: str, doc_id: int) -> Message:
        """get_message, given the id's (partition, doc id): update_message splits it once, not twice."""
        self._saw(pid)
        row = self.index.sent_rows.get(message_id)  # a sent text's latest row, whatever the journal holds
        if row is not None:
            return {**codec.loads(row), "id": message_id}
        doc = self._overlay_docs(pid, "messages").get(doc_id)
        if doc is None:
            data = read_json(self._file(pid)) or {}
            doc = data.get("messages", {}).get(str(doc_id))
        if doc is None:
            raise NotFound(f"No message {message_id}.")
        return {**doc, "id": message_id}

    def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        message_id = self.index.by_sid.get(twilio_sid)
        return None if message_id is None else self.get_message(message_id)

    def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        pid, doc_id = self.index.ids.split(message_id)
        current = self._message_at(message_id, pid, doc_id)
        updated = change(current)
        if updated is None or updated == current:
            return current
        updated = {**updated, "id": message_id, "updated_at": utc_now()}
        doc = updated.copy()  # the row as stored: all but its id, same order (~0.15 us; a comprehension ~0.9)
        del doc["id"]
        op = [pid, "messages", doc_id, doc]
        self._commit([op, *self._outbox_ops(message=(current, updated))])
        return updated

    def update_message_by_sid(
        self, twilio_sid: str, change: Callable[[Message], Message | None]
    ) -> tuple[Message, Message] | None:
        message_id = self.index.by_sid.get(twilio_sid)
        if message_id is None:
            return None
        seen: list[Message] = []

        def keep(current: Message) -> Message | None:
            seen.append(dict(current))
            return change(current)

        after = self.update_message(message_id, keep)  # which reads the conversation file once
        return seen[0], after

    def job_messages(self, job_id: int) -> list[Message]:
        self.get_job(job_id)
        # By time, ties in the order written (Store.job_messages): the file's messages come in doc
        # id order and the sort is stable. A dispatcher's text is stamped before the status text
        # it causes, though written after it.
        return sorted(self._partition_messages(str(job_id)), key=lambda m: m["created_at"])

    def phone_messages(self, phone: str) -> list[Message]:
        messages = self._partition_messages(phone_partition(phone))
        for job_id in self.index.by_phone.get(phone, set()) | self.index.texted_in.get(phone, set()):
            messages += [m for m in self.job_messages(job_id) if m.get("phone") == phone]
        return sorted(messages, key=self.index.ids.order)

    def messages_with_status(self, status: str) -> list[Message]:
        """A scan of every conversation: the jobs' and the phones' own (`phones`)."""
        found = [m for job in self.list_jobs() for m in self.job_messages(job["id"]) if m["status"] == status]
        for phone in self.phones():
            found += [m for m in self._partition_messages(phone_partition(phone)) if m["status"] == status]
        return sorted(found, key=self.index.ids.order)

    def pending_messages(self) -> list[Message]:
        # Queue order: by time, then as written -- texts to one phone go out in the order queued.
        queue = self.index.queue
        for message_id in queue.docs:
            self._saw(self.index.ids.split(message_id)[0])
        return [{**queue.docs[i], "id": i} for i in sorted(queue.docs, key=queue.order.__getitem__)]

    # -- the send queue: claims with leases (store/tinydb/queue.py) ----------

    def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[Message]:
        until = iso_utc(datetime.fromisoformat(now) + timedelta(seconds=lease_seconds))
        claimed = []
        for message_id in self.index.queue.claim(now, limit, until):
            self._saw(self.index.ids.split(message_id)[0])  # never send a text before its row is on disk
            claimed.append({**self.index.queue.docs[message_id], "id": message_id})
        return claimed

    def renew_claims(self, message_ids: Iterable[str], now: str, lease_seconds: float) -> set[str]:
        until = iso_utc(datetime.fromisoformat(now) + timedelta(seconds=lease_seconds))
        return self.index.queue.renew(list(message_ids), until)

    def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        message = self.update_message(message_id, change)
        self.index.queue.release(message_id)  # only once the outcome is written: a failed write keeps the claim
        return message

    def release(self, message_id: str) -> None:
        self.index.queue.release(message_id)

    def cancel_pending(self, message_id: str, change: Callable[[Message], Message]) -> Message | None:
        current = self.get_message(message_id)  # under the store's mutex, as claim_due: no claim in between
        if message_id in self.index.queue.claims or not cancellable(current):
            return None
        return self.update_message(message_id, change)

    def next_due(self) -> str | None:
        return self.index.queue.next_due()

    # -- day-before reminders (Store.due_reminders) --------------------------

    def due_reminders(self, now: str, limit: int) -> list[Job]:
        due = sorted((at, job_id) for job_id, at in self.index.reminders.items() if at <= now)[:limit]
        return [self.get_job(job_id) for _, job_id in due]

    def next_reminder_at(self) -> str | None:
        return min(self.index.reminders.values(), default=None)

    # -- review requests (Store.due_reviews) ---------------------------------

    def due_reviews(self, now: str, limit: int) -> list[Job]:
        due = sorted((at, job_id) for job_id, at in self.index.reviews.items() if at <= now)[:limit]
        return [self.get_job(job_id) for _, job_id in due]

    def next_review_at(self) -> str | None:
        return min(self.index.reviews.values(), default=None)

    # -- phones -------------------------------------------------------------

    def get_phone(self, phone: str) -> PhoneState:
        self._saw(phone_partition(phone))
        return dict(self.index.phone_state.get(phone, {}))

    def update_phone(self, phone: str, change: Callable[[PhoneState], PhoneState]) -> PhoneState:
        current = self.get_phone(phone)
        updated = change(dict(current))
        if updated == current:
            return current
        self._commit([[phone_partition(phone), "state", 1, updated]])
        return dict(updated)

    def is_opted_out(self, phone: str) -> bool:
        self._saw(phone_partition(phone))
        return phone in self.index.opted_out

    # -- a whole store as rows (Store.phones, Store.import_rows) ---------------

    def phones(self) -> list[str]:
        own = {"+" + pid[1:] for pid in self.index.last_doc if pid.startswith("p")}
        found = sorted(own | set(self.index.phone_state))
        for phone in found:
            self._saw(phone_partition(phone))
        return found

    def import_rows(
        self, jobs: Iterable[Job], messages: Iterable[Message], phones: Mapping[str, PhoneState] | None
    ) -> None:
        jobs, messages = list(jobs), list(messages)
        self._check_import(jobs, messages)
        ops: list[Op] = [[str(job["id"]), "job", 1, job] for job in jobs]
        for message in messages:  # as given: no time stamped (Documents._message_ops stamps `updated_at`)
            pid = home(message)
            doc_id = self.index.last_doc.get(pid, 0) + 1
            self.index.last_doc[pid] = doc_id
            ops.append([pid, "messages", doc_id, {key: value for key, value in message.items() if key != "id"}])
        ops += [[phone_partition(phone), "state", 1, state] for phone, state in (phones or {}).items()]
        if ops:
            self._commit(ops)

    def _check_import(self, jobs: list[Job], messages: list[Message]) -> None:
        """ValueError unless the rows fit in beside what is stored (Store.import_rows)."""
        ids: set[int] = set()
        tokens: set[str] = set()
        for job in jobs:
            if job["id"] in self.index.jobs or job["id"] in ids:
                raise ValueError(f"job {job['id']} exists already")
            token = job["token"]
            if token in self.index.by_token or token in tokens or self.token_elsewhere(token):
                raise ValueError(f"job {job['id']}'s tracking token is taken")
            ids.add(job["id"])
            tokens.add(token)
        sids: set[str] = set()
        for message in messages:
            job_id = message.get("job_id")
            if job_id is not None and job_id not in self.index.jobs and job_id not in ids:
                raise ValueError(f"a message names job {job_id}, which is neither stored nor imported")
            sid = message.get("twilio_sid")
            if sid and (sid in self.index.by_sid or sid in sids):
                raise ValueError(f"a message with Twilio SID {sid} exists already")
            if sid:
                sids.add(sid)


# -- the Store methods, as functions of the core (run under its mutex, like its own methods) ----------


def find_once(core: Documents, key: str, now: str) -> IdempotencyRecord | None:
    found = core.index.outbox.find(key, now)
    if found is None:
        return None
    core._saw(found[0])  # a first answer is repeated only once its write is on disk
    return found[1]


def claim_event(core: Documents, now: str, until: str) -> Event | None:
    claimed = core.index.outbox.claim(now, until)
    if claimed is None:
        return None
    core._saw(claimed[0])  # never deliver an event before the write that caused it is on disk
    return claimed[1]


def complete_event(core: Documents, event_id: str, change: Callable[[Event], Event]) -> Event:
    pid, doc_id, event = core.index.outbox.locate(event_id)
    updated = change(event)
    core._commit([[pid, "events", doc_id, updated]])
    core.index.outbox.release(event_id)  # only once the outcome is written: a failed write keeps the claim
    return updated
