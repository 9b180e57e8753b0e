"""The TinyDB backend: one small file per conversation, indexes in memory.

Layout, for DATABASE_URL=tinydb:///data/qdn.json::

    data/qdn.json             store metadata (schema version); its presence
                              marks an initialised store
    data/qdn.json.lock        flock held by the one process that owns the data
    data/qdn.jobs/1042.json   job 1042 and its whole conversation
    data/qdn.phones/15125550199.json
                              a phone's state (opt-out, loop guards) and its
                              texts that belong to no job

TinyDB parses and rewrites a whole file on every write, so one big file makes
each request cost more as history grows. Partitioning by job (and, for texts
with no job, by phone) keeps every write to the size of one conversation, and
puts a status change and the texts it causes in the same file -- one atomic
write. Lookups that span partitions (token, phone, Twilio SID, pending queue,
opt-outs) are answered from indexes built by one scan at start-up.

All file I/O runs on one worker thread: one writer at a time, and the event
loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.table import Document

from bot.errors import NotFound, StoreCorrupt, StoreError
from bot.jobs import utc_now
from store.atomic import AtomicJSONStorage, FolderLock, read_json, write_atomically
from store.base import Job, JobWrite, Message, Store

SCHEMA_VERSION = 1
FIRST_JOB_ID = 1001
T = TypeVar("T")


class _Indexes:
    """Cross-partition lookups, rebuilt from the files at every start."""

    def __init__(self) -> None:
        self.jobs: dict[int, Job] = {}
        self.by_token: dict[str, int] = {}
        self.by_phone: dict[str, set[int]] = {}
        self.by_sid: dict[str, str] = {}
        # phone -> jobs whose conversation has a text to or from it: a
        # dispatcher's relays live with the customer's job, not the dispatcher's.
        self.texted_in: dict[str, set[int]] = {}
        self.pending: dict[str, str] = {}  # message id -> created_at, for queue order
        self.opted_out: set[str] = set()
        self.phones_with_files: set[str] = set()

    def put_job(self, job: Job) -> None:
        old = self.jobs.get(job["id"])
        if old is not None and old["customer_phone"] != job["customer_phone"]:
            self.by_phone[old["customer_phone"]].discard(job["id"])
        self.jobs[job["id"]] = job
        self.by_token[job["token"]] = job["id"]
        self.by_phone.setdefault(job["customer_phone"], set()).add(job["id"])

    def put_message(self, message: Message) -> None:
        if message.get("job_id") is not None and message.get("phone"):
            self.texted_in.setdefault(message["phone"], set()).add(message["job_id"])
        if message.get("twilio_sid"):
            self.by_sid[message["twilio_sid"]] = message["id"]
        if message.get("status") == "pending":
            self.pending[message["id"]] = message["created_at"]
        else:
            self.pending.pop(message["id"], None)

    def put_phone_state(self, phone: str, state: dict[str, Any]) -> None:
        if state.get("opted_out"):
            self.opted_out.add(phone)
        else:
            self.opted_out.discard(phone)


def _digits(phone: str) -> str:
    return phone.lstrip("+")


class TinyDBCore:
    """The synchronous store; `TinyDBStore` runs it on its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jobs_dir = path.with_name(path.stem + ".jobs")
        self.phones_dir = path.with_name(path.stem + ".phones")
        self._lock = FolderLock(path.with_name(path.name + ".lock"))
        self._mutex = threading.Lock()
        self.index = _Indexes()

    # -- opening ------------------------------------------------------------

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._open_locked()
        except BaseException:
            self._lock.release()
            raise

    def _open_locked(self) -> None:
        meta = read_json(self.path)
        if meta is None:
            write_atomically(self.path, f'{{"meta": {{"1": {{"schema": {SCHEMA_VERSION}}}}}}}')
        elif not isinstance(meta, dict) or "meta" not in meta:
            raise StoreCorrupt(f"{self.path} is not a QDN store; move it away or fix DATABASE_URL")
        self.jobs_dir.mkdir(exist_ok=True)
        self.phones_dir.mkdir(exist_ok=True)
        self._remove_torn_temp_files()
        for file in self.jobs_dir.glob("*.json"):
            data = self._read_partition(file)
            job = dict(data.get("job", {}).get("1", {}))
            if not job:
                raise StoreCorrupt(f"{file} holds no job; restore it or move it away")
            self.index.put_job(job)
            self._index_messages(str(job["id"]), data)
        for file in self.phones_dir.glob("*.json"):
            data = self._read_partition(file)
            phone = "+" + file.stem
            self.index.phones_with_files.add(phone)
            self.index.put_phone_state(phone, data.get("state", {}).get("1", {}))
            self._index_messages("p" + file.stem, data)

    def _remove_torn_temp_files(self) -> None:
        # A crash between mkstemp and os.replace leaves a temp file; the real
        # file still holds the last complete write, so the temp is garbage.
        for folder in (self.path.parent, self.jobs_dir, self.phones_dir):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _read_partition(file: Path) -> dict[str, Any]:
        data = read_json(file)
        if not isinstance(data, dict):
            raise StoreCorrupt(f"{file} is not a TinyDB file; restore it or move it away")
        return data

    def _index_messages(self, prefix: str, data: dict[str, Any]) -> None:
        for doc_id, message in data.get("messages", {}).items():
            self.index.put_message({**message, "id": f"{prefix}-{doc_id}"})

    def close(self) -> None:
        self._lock.release()

    # -- partitions ---------------------------------------------------------

    def _job_file(self, job_id: int) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def _phone_file(self, phone: str) -> Path:
        return self.phones_dir / f"{_digits(phone)}.json"

    def _partition_of(self, message_id: str) -> tuple[Path, str, int]:
        """(file, id prefix, TinyDB doc id) of a message id like "1042-7" or "p15125550199-3"."""
        prefix, _, doc = message_id.rpartition("-")
        if not doc.isdigit() or not prefix:
            raise NotFound(f"No message {message_id}.")
        if prefix.startswith("p") and prefix[1:].isdigit():
            return self.phones_dir / f"{prefix[1:]}.json", prefix, int(doc)
        if prefix.isdigit():
            return self._job_file(int(prefix)), prefix, int(doc)
        raise NotFound(f"No message {message_id}.")

    def _message_home(self, message: Message) -> tuple[Path, str]:
        if message.get("job_id") is not None:
            return self._job_file(message["job_id"]), str(message["job_id"])
        return self._phone_file(message["phone"]), "p" + _digits(message["phone"])

    @contextmanager
    def _write(self, file: Path) -> Iterator[TinyDB]:
        """A TinyDB on `file` whose changes reach the disk in one atomic write at the end.

        If the body raises, nothing is written.
        """
        db = TinyDB(storage=CachingMiddleware(AtomicJSONStorage), path=file)
        yield db
        db.storage.flush()

    @staticmethod
    def _insert_messages(db: TinyDB, prefix: str, messages: list[Message], now: str) -> list[Message]:
        table = db.table("messages")
        stored = []
        for message in messages:
            body = {**message, "created_at": message.get("created_at") or now, "updated_at": now}
            body.pop("id", None)
            doc_id = table.insert(body)
            stored.append({**body, "id": f"{prefix}-{doc_id}"})
        return stored

    @staticmethod
    def _with_id(prefix: str, doc: Document) -> Message:
        return {**doc, "id": f"{prefix}-{doc.doc_id}"}

    # -- jobs ---------------------------------------------------------------

    def create_job(self, build: Callable[[int], JobWrite]) -> JobWrite:
        # Ids are max+1 rather than a stored counter: jobs are never deleted,
        # and a job file appears atomically, so an id is only "used" once its
        # job is durable. That saves a second fsync'd file per creation.
        job_id = max(self.index.jobs, default=FIRST_JOB_ID - 1) + 1
        result = build(job_id)
        while result.job["token"] in self.index.by_token:
            result = build(job_id)
        now = result.job["created_at"]
        with self._write(self._job_file(job_id)) as db:
            db.table("job").insert(result.job)
            stored = self._insert_messages(db, str(job_id), result.messages, now)
        self.index.put_job(result.job)
        for message in stored:
            self.index.put_message(message)
        return JobWrite(result.job, stored)

    def get_job(self, job_id: int) -> Job:
        try:
            return self.index.jobs[job_id]
        except KeyError:
            raise NotFound(f"No job {job_id}.") from None

    def find_job_by_token(self, token: str) -> Job | None:
        job_id = self.index.by_token.get(token)
        return None if job_id is None else self.index.jobs[job_id]

    def list_jobs(
        self, statuses: Iterable[str] | None = None, phone: str | None = None, limit: int | None = None
    ) -> list[Job]:
        ids: Iterable[int] = self.index.by_phone.get(phone, set()) if phone else self.index.jobs
        wanted = set(statuses) if statuses else None
        jobs = (self.index.jobs[i] for i in sorted(ids, reverse=True))
        selected = [job for job in jobs if wanted is None or job["status"] in wanted]
        return selected[:limit] if limit else selected

    def update_job(self, job_id: int, change: Callable[[Job], JobWrite]) -> JobWrite:
        job = self.get_job(job_id)
        result = change(job)
        if not result.changed and not result.messages:
            return result
        now = result.job["updated_at"]
        with self._write(self._job_file(job_id)) as db:
            db.table("job").update(result.job, doc_ids=[1])
            stored = self._insert_messages(db, str(job_id), result.messages, now)
        self.index.put_job(result.job)
        for message in stored:
            self.index.put_message(message)
        return JobWrite(result.job, stored, result.changed)

    # -- messages -----------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        file, prefix = self._message_home(message)
        if message.get("job_id") is not None:
            self.get_job(message["job_id"])  # never create a job file without its job
        with self._write(file) as db:
            (stored,) = self._insert_messages(db, prefix, [message], utc_now())
        if message.get("job_id") is None:
            self.index.phones_with_files.add(message["phone"])
        self.index.put_message(stored)
        return stored

    def add_inbound_once(self, message: Message) -> tuple[Message, bool]:
        existing = self.find_message_by_sid(message["twilio_sid"])
        if existing is not None:
            return existing, False
        return self.add_message(message), True

    def get_message(self, message_id: str) -> Message:
        file, prefix, doc_id = self._partition_of(message_id)
        doc = (
            TinyDB(storage=AtomicJSONStorage, path=file).table("messages").get(doc_id=doc_id) if file.exists() else None
        )
        if doc is None:
            raise NotFound(f"No message {message_id}.")
        return self._with_id(prefix, doc)

    def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        message_id = self.index.by_sid.get(twilio_sid)
        return None if message_id is None else self.get_message(message_id)

    def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        file, _, doc_id = self._partition_of(message_id)
        current = self.get_message(message_id)
        updated = change(current)
        if updated is None or updated == current:
            return current
        updated = {**updated, "id": message_id, "updated_at": utc_now()}
        with self._write(file) as db:
            db.table("messages").update({k: v for k, v in updated.items() if k != "id"}, doc_ids=[doc_id])
        self.index.put_message(updated)
        return updated

    def _read_messages(self, file: Path, prefix: str) -> list[Message]:
        if not file.exists():
            return []
        table = TinyDB(storage=AtomicJSONStorage, path=file).table("messages")
        return [self._with_id(prefix, doc) for doc in table.all()]

    def job_messages(self, job_id: int) -> list[Message]:
        self.get_job(job_id)
        # By time, ties in the order written: a dispatcher's text is stamped
        # before the status text it causes, though written after it.
        return sorted(self._read_messages(self._job_file(job_id), str(job_id)), key=lambda m: m["created_at"])

    def phone_messages(self, phone: str) -> list[Message]:
        messages = self._read_messages(self._phone_file(phone), "p" + _digits(phone))
        for job_id in self.index.by_phone.get(phone, set()) | self.index.texted_in.get(phone, set()):
            messages += [m for m in self.job_messages(job_id) if m.get("phone") == phone]
        return sorted(messages, key=lambda m: (m["created_at"], m["id"]))

    def pending_messages(self) -> list[Message]:
        ordered = sorted(self.index.pending.items(), key=lambda item: (item[1], item[0]))
        return [self.get_message(message_id) for message_id, _ in ordered]

    # -- phones -------------------------------------------------------------

    def get_phone(self, phone: str) -> dict[str, Any]:
        file = self._phone_file(phone)
        if not file.exists():
            return {}
        return dict(TinyDB(storage=AtomicJSONStorage, path=file).table("state").get(doc_id=1) or {})

    def update_phone(self, phone: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        current = self.get_phone(phone)
        updated = change(dict(current))
        if updated == current:
            return current
        with self._write(self._phone_file(phone)) as db:
            state = db.table("state")
            if state.contains(doc_id=1):
                state.remove(doc_ids=[1])
            state.insert(Document(updated, doc_id=1))
        self.index.phones_with_files.add(phone)
        self.index.put_phone_state(phone, updated)
        return updated

    def is_opted_out(self, phone: str) -> bool:
        return phone in self.index.opted_out

    def ping(self) -> None:
        if not self.path.exists():
            raise StoreError(f"{self.path} is missing")
        read_json(self.path)

    def run(self, fn: Callable[[], T]) -> T:
        with self._mutex:
            return fn()


class TinyDBStore(Store):
    """Async face of `TinyDBCore`: every call runs on the store's one thread."""

    def __init__(self, path: Path) -> None:
        self.core = TinyDBCore(path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinydb")

    @property
    def description(self) -> str:
        return "tinydb"

    async def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, partial(self.core.run, partial(method, *args, **kwargs)))

    async def open(self) -> TinyDBStore:
        await self._call(self.core.open)
        return self

    async def close(self) -> None:
        await self._call(self.core.close)
        self._thread.shutdown(wait=True)

    async def ping(self) -> None:
        await self._call(self.core.ping)

    async def create_job(self, build: Callable[[int], JobWrite]) -> JobWrite:
        return await self._call(self.core.create_job, build)

    async def get_job(self, job_id: int) -> Job:
        return await self._call(self.core.get_job, job_id)

    async def find_job_by_token(self, token: str) -> Job | None:
        return await self._call(self.core.find_job_by_token, token)

    async def list_jobs(
        self, *, statuses: Iterable[str] | None = None, phone: str | None = None, limit: int | None = None
    ) -> list[Job]:
        return await self._call(self.core.list_jobs, statuses, phone, limit)

    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite]) -> JobWrite:
        return await self._call(self.core.update_job, job_id, change)

    async def add_message(self, message: Message) -> Message:
        return await self._call(self.core.add_message, message)

    async def add_inbound_once(self, message: Message) -> tuple[Message, bool]:
        return await self._call(self.core.add_inbound_once, message)

    async def get_message(self, message_id: str) -> Message:
        return await self._call(self.core.get_message, message_id)

    async def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        return await self._call(self.core.find_message_by_sid, twilio_sid)

    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        return await self._call(self.core.update_message, message_id, change)

    async def job_messages(self, job_id: int) -> list[Message]:
        return await self._call(self.core.job_messages, job_id)

    async def phone_messages(self, phone: str) -> list[Message]:
        return await self._call(self.core.phone_messages, phone)

    async def pending_messages(self) -> list[Message]:
        return await self._call(self.core.pending_messages)

    async def get_phone(self, phone: str) -> dict[str, Any]:
        return await self._call(self.core.get_phone, phone)

    async def update_phone(self, phone: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        return await self._call(self.core.update_phone, phone, change)

    async def is_opted_out(self, phone: str) -> bool:
        return await self._call(self.core.is_opted_out, phone)
