"""The TinyDB backend: a write-ahead journal in front of one small file per conversation.

The files' layout is in store/tinydb/__init__.py.

Each partition file is a TinyDB database (tables `job`, `messages`, `state`),
so a whole conversation is one small file, and nothing ever reads or rewrites
more than one conversation. A write is acknowledged when its journal line is
on disk: one append and one fdatasync, shared by concurrent writes, and one
line however many partitions the write touches (an inbound text, the reply
and the sender's state land together or not at all). The partition files
catch up in the background (`checkpoint`): each changed file is rewritten
once -- temp file, fsync, rename -- and the journal segments it covered are
then deleted. Until then, reads see the journal's documents over the files.

Lookups that span partitions (token, phone, Twilio SID, pending queue,
opt-outs, phone state) are answered from memory: indexes built by one scan of
the files at start-up, then the journal replayed over them. The senders'
claims on pending texts are memory only (store/tinydb/queue.py), and so is
the send-rate schedule (store/throttles.py): one process sends.

Threads: lookups and writes run under one mutex, in the caller's thread (memory and
a journal append, never a wait for the disk). Reads of whole conversations (the worker
thread), fdatasync (the sync thread, or the event loop's own when one caller has the
store to itself: store/tinydb/group_commit.py), checkpoints and pictures (threads of
their own) are the only blocking I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import StoreError
from bot.jobs import iso_utc
from store.base import (
    ConversationFacts,
    Event,
    FactsWanted,
    Job,
    JobMove,
    JobWrite,
    KeyUsed,
    MediaFile,
    Message,
    MessageRead,
    Once,
    Page,
    PhoneRead,
    PhoneState,
    Store,
)
from store.records import IdempotencyRecord
from store.roles.conversations import ConversationRow
from store.throttles import SendSchedule, seconds_of
from store.tinydb import conversations, documents, facts, media, paging
from store.tinydb.documents import Documents
from store.tinydb.group_commit import GroupCommit
from store.tinydb.partitions import Partitions
from store.wakeups import Changes, wait

T = TypeVar("T")
MEDIA_THREADS = 4  # pictures read or written at once (a tracking page shows several)


class TinyDBStore(Store):
    """The async store, composed of parts: the partitions (files, journal, indexes), the synchronous
    calls over them (`core`, a Documents) and the pictures' folder.

    Lookups and writes run right here under the partitions' mutex (memory and a
    journal append); whole-conversation reads run on the store's worker
    thread. Every call then waits until the journal is synced past what it
    wrote or read, so nothing is acknowledged, and nothing un-synced is
    shown, before it is on disk. Waiters share fdatasyncs (store/tinydb/group_commit.py).
    """

    def __init__(self, path: Path, commits: GroupCommit | None = None) -> None:
        """`commits`: the deployment's shared fdatasync rounds (store/tinydb/deployment.py); else its own."""
        self.partitions = Partitions(path)  # the files, the journal over them and the indexes
        self.core = Documents(self.partitions)  # jobs, messages, phones ... read and written over them
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinydb")
        self.media = media.MediaFolder(self.partitions.media_dir)
        # Its own threads: a 5 MB picture written and fsync'ed must not hold up a conversation's read.
        self._media_threads = ThreadPoolExecutor(max_workers=MEDIA_THREADS, thread_name_prefix="tinydb-media")
        self._syncer = None
        if commits is None:
            self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinydb-sync")
            commits = GroupCommit(self._syncer)
        self._flushes = commits.journal(self.partitions.journal)
        # Set (on the event loop) after every write that queues a text; senders wait on it.
        self._work = asyncio.Event()
        self._events = asyncio.Event()  # the same for the event deliverer (sender/events.py)
        self._media = asyncio.Event()  # and for the picture fetcher (sender/media/fetch.py)
        self._changes = Changes()  # every write, for the office inbox's live updates (Store.wait_for_change)
        self._send_slots = SendSchedule()  # the send-rate cap: one process sends, so memory holds it

    @property
    def description(self) -> str:
        return "tinydb"

    def _run_locked(self, fn: Callable[[], T]) -> tuple[T, int, bool]:
        """`fn()`, the journal position that must be durable before its answer, and whether it queued a text."""
        with self.partitions.mutex:
            self.partitions.seen = 0
            queue = self.core.index.queue
            queue.queued = False
            return fn(), self.partitions.seen, queue.queued

    async def _durable(self, position: int, queued: bool) -> None:
        await self._flushes.wait(position)
        if position:  # it wrote something (a read leaves the journal as it was)
            self._changes.changed()
        if queued:
            self._work.set()
        if self.core.index.outbox.queued:  # set under the mutex by a write that queued an event
            self.core.index.outbox.queued = False
            self._events.set()
        if self.core.index.media_queued:  # the same, for a text with pictures to fetch
            self.core.index.media_queued = False
            self._media.set()

    async def _now(self, method: Callable[..., T], *args: Any) -> T:
        result, position, queued = self._run_locked(partial(method, *args))
        await self._durable(position, queued)
        return result

    async def _off_loop(self, method: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        result, position, queued = await loop.run_in_executor(self._thread, self._run_locked, partial(method, *args))
        await self._durable(position, queued)
        return result

    async def open(self) -> TinyDBStore:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self.partitions.open)
        await loop.run_in_executor(self._thread, self.media.open)  # under the folder lock: no one else's temp files
        return self

    async def close(self) -> None:
        try:
            # Pictures being saved land before the folder lock goes (and a later save is refused).
            await asyncio.to_thread(self._media_threads.shutdown, wait=True)
            await self._off_loop(self.partitions.close)
        finally:
            self._thread.shutdown(wait=True)
            if self._syncer is not None:  # a shared syncer is its deployment's to shut down
                self._syncer.shutdown(wait=True)

    async def ping(self) -> None:
        await self._off_loop(self.partitions.ping)

    async def _once(self, method: Callable[..., T], *args: Any) -> T:
        try:
            return await self._now(method, *args)
        except KeyUsed:
            await self._flushes.wait(self.partitions.journal.written)  # the first answer's write is on disk first
            raise

    async def create_job(self, build: Callable[[int], JobWrite], *, once: Once | None = None) -> JobWrite:
        return await self._once(self.core.create_job, build, once)

    async def get_job(self, job_id: int) -> Job:
        return await self._now(self.core.get_job, job_id)

    async def find_job_by_token(self, token: str) -> Job | None:
        return await self._now(self.core.find_job_by_token, token)

    async def list_jobs(self, *, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Job]:
        return await self._now(self.core.list_jobs, statuses, phone)

    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite], *, once: Once | None = None) -> JobWrite:
        return await self._once(self.core.update_job, job_id, change, once)

    async def add_message(self, message: Message, *, once: Once | None = None) -> Message:
        return await self._once(self.core.add_message, message, once)

    async def conversation_facts(self, sender: str, wanted: FactsWanted) -> ConversationFacts:
        # The default's lookups in one locked call, one durability wait (store/tinydb/facts.py); a repeat reads a file.
        if wanted.sid is None or self._in_memory(self.core.index.by_sid.get(wanted.sid)):
            return await self._now(facts.conversation_facts, self.core, sender, wanted)
        return await self._off_loop(facts.conversation_facts, self.core, sender, wanted)

    async def record_inbound(
        self,
        inbound: Message,
        *,
        outbound: Iterable[Message] = (),
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
        read: PhoneRead | None = None,  # memory answers the state at once: nothing to save by reusing a read
    ) -> tuple[list[Message], bool]:
        args = (inbound, list(outbound), phone, change_phone)
        if inbound["twilio_sid"] not in self.core.index.by_sid:  # the usual case: memory and one append
            return await self._now(self.core.record_inbound, *args)
        return await self._off_loop(self.core.record_inbound, *args)  # a repeat reads the first row's file

    async def record_move(
        self,
        sid: str,
        move: JobMove,
        *,
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
    ) -> tuple[list[Message], bool]:
        args = (sid, move, phone, change_phone)
        if sid not in self.core.index.by_sid:  # the usual case: memory and one append
            return await self._now(self.core.record_move, *args)
        return await self._off_loop(self.core.record_move, *args)  # a repeat reads the first row's file

    def _in_memory(self, message_id: str | None) -> bool:
        """Whether reading this message reads no file: none at all, or a sent text (Indexes.sent_rows)."""
        return message_id is None or message_id in self.core.index.sent_rows

    async def get_message(self, message_id: str) -> Message:
        if self._in_memory(message_id):
            return await self._now(self.core.get_message, message_id)
        return await self._off_loop(self.core.get_message, message_id)

    async def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        if self._in_memory(self.core.index.by_sid.get(twilio_sid)):  # answered without a thread hop
            return await self._now(self.core.find_message_by_sid, twilio_sid)
        return await self._off_loop(self.core.find_message_by_sid, twilio_sid)

    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        if self._in_memory(message_id):
            return await self._now(self.core.update_message, message_id, change)
        return await self._off_loop(self.core.update_message, message_id, change)

    async def update_message_by_sid(
        self, twilio_sid: str, change: Callable[[Message], Message | None], *, read: MessageRead | None = None
    ) -> tuple[Message, Message] | None:
        # A status callback: the sent text's row is in memory (or no text has this SID), so no thread hop.
        if self._in_memory(self.core.index.by_sid.get(twilio_sid)):
            return await self._now(self.core.update_message_by_sid, twilio_sid, change)
        return await self._off_loop(self.core.update_message_by_sid, twilio_sid, change)

    async def job_messages(self, job_id: int) -> list[Message]:
        return await self._off_loop(self.core.job_messages, job_id)

    async def phone_messages(self, phone: str) -> list[Message]:
        return await self._off_loop(self.core.phone_messages, phone)

    async def pending_messages(self) -> list[Message]:
        return await self._now(self.core.pending_messages)

    async def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[Message]:
        return await self._now(self.core.claim_due, now, limit, lease_seconds)

    async def renew_claims(self, message_ids: Iterable[str], now: str, lease_seconds: float) -> set[str]:
        return await self._now(self.core.renew_claims, message_ids, now, lease_seconds)

    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        return await self._off_loop(self.core.complete, message_id, change)

    async def cancel_pending(self, message_id: str, change: Callable[[Message], Message]) -> Message | None:
        return await self._now(self.core.cancel_pending, message_id, change)

    async def release(self, message_id: str) -> None:
        await self._now(self.core.release, message_id)

    async def next_due(self) -> str | None:
        return await self._now(self.core.next_due)

    async def conversations_page(self, *, offset: int, limit: int) -> tuple[list[ConversationRow], int]:
        return await self._now(conversations.conversations_page, self.core, offset, limit)

    async def wait_for_change(self, seen: int, timeout: float) -> int:
        return await self._changes.wait(seen, timeout)

    async def wait_for_work(self, timeout: float) -> bool:
        return await wait(self._work, timeout)

    async def take_send_slot(self, number: str, now: str, per_second: float) -> float:
        return self._send_slots.take(number, seconds_of(now), per_second)

    async def due_reminders(self, now: str, limit: int) -> list[Job]:
        return await self._now(self.core.due_reminders, now, limit)

    async def next_reminder_at(self) -> str | None:
        return await self._now(self.core.next_reminder_at)

    async def due_reviews(self, now: str, limit: int) -> list[Job]:
        return await self._now(self.core.due_reviews, now, limit)

    async def next_review_at(self) -> str | None:
        return await self._now(self.core.next_review_at)

    async def _on_media_thread(self, method: Callable[..., T], *args: Any) -> T:
        try:
            done = asyncio.get_running_loop().run_in_executor(self._media_threads, partial(method, *args))
        except RuntimeError:  # the pool is shut down: "cannot schedule new futures after shutdown"
            raise StoreError("the store is closed") from None
        return await done

    async def save_media(self, media_file: MediaFile) -> None:
        await self._on_media_thread(self.media.save, media_file)

    async def load_media(self, media_id: str) -> MediaFile | None:
        return await self._on_media_thread(self.media.load, media_id)

    async def set_media_message(self, media_id: str, message_id: str) -> None:
        await self._on_media_thread(self.media.set_message, media_id, message_id)

    async def due_media(self, now: str, limit: int) -> list[Message]:
        return await self._off_loop(media.due_media, self.core, now, limit)  # reads the texts' files

    async def next_media_due(self) -> str | None:
        return await self._now(media.next_media_due, self.core)

    async def get_phone(self, phone: str) -> PhoneState:
        return await self._now(self.core.get_phone, phone)

    async def update_phone(self, phone: str, change: Callable[[PhoneState], PhoneState]) -> PhoneState:
        return await self._now(self.core.update_phone, phone, change)

    async def is_opted_out(self, phone: str) -> bool:
        return await self._now(self.core.is_opted_out, phone)

    async def phones(self) -> list[str]:
        return await self._now(self.core.phones)

    async def messages_with_status(self, status: str) -> list[Message]:
        return await self._off_loop(self.core.messages_with_status, status)

    async def import_rows(
        self,
        *,
        jobs: Iterable[Job] = (),
        messages: Iterable[Message] = (),
        phones: Mapping[str, PhoneState] | None = None,
    ) -> None:
        await self._off_loop(self.core.import_rows, jobs, messages, phones)

    # -- pages, idempotency keys and events (store/tinydb/paging.py, documents.py) --

    async def jobs_page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        return await self._now(paging.jobs_page, self.core, statuses, phone, after, limit)

    async def jobs_changed_page(
        self,
        since: str,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        return await self._now(paging.jobs_changed_page, self.core, since, statuses, phone, after, limit)

    async def job_messages_page(self, job_id: int, *, after: list[Any] | None = None, limit: int) -> Page:
        return await self._off_loop(paging.job_messages_page, self.core, job_id, after, limit)

    async def phone_messages_page(self, phone: str, *, after: list[Any] | None = None, limit: int) -> Page:
        return await self._off_loop(paging.phone_messages_page, self.core, phone, after, limit)

    async def consent_page(self, *, after: list[Any] | None = None, limit: int) -> Page:
        return await self._now(paging.consent_page, self.core, after, limit)

    async def phone_states(self, phones: Iterable[str]) -> dict[str, PhoneState]:
        return await self._now(paging.phone_states, self.core, list(phones))

    async def find_once(self, key: str, now: str) -> IdempotencyRecord | None:
        return await self._now(documents.find_once, self.core, key, now)

    def enable_events(self) -> None:
        self.partitions.events_enabled = True

    async def claim_event(self, now: str, lease_seconds: float) -> Event | None:
        until = iso_utc(datetime.fromisoformat(now) + timedelta(seconds=lease_seconds))
        return await self._now(documents.claim_event, self.core, now, until)

    async def complete_event(self, event_id: str, change: Callable[[Event], Event]) -> Event:
        return await self._now(documents.complete_event, self.core, event_id, change)

    async def renew_event(self, event_id: str, now: str, lease_seconds: float) -> bool:
        until = iso_utc(datetime.fromisoformat(now) + timedelta(seconds=lease_seconds))
        return await self._now(self.core.index.outbox.renew, event_id, now, until)

    async def release_event(self, event_id: str) -> None:
        await self._now(self.core.index.outbox.release, event_id)

    async def next_event_due(self) -> str | None:
        return await self._now(self.core.index.outbox.next_due)

    async def wait_for_media(self, timeout: float) -> bool:
        return await wait(self._media, timeout)

    async def wait_for_events(self, timeout: float) -> bool:
        return await wait(self._events, timeout)
