"""The PostgreSQL backend's Store: one business's jobs, texts and phones, in tables shared by every business.

Layout (store/postgres/migrations/): each table's key starts with the business slug, and
every statement here names the store's business, so no call reads or writes another
business's rows. A message's id is its row's `seq` as a string: opaque to callers, and
it carries no phone number. Records are kept whole in a `doc` column beside the columns
searched or ordered by (store/postgres/rows.py).

Writes: every Store write is one transaction (store/postgres/writes.py). A
read-modify-write (create_job, update_job, update_message, update_phone, complete)
locks its row with SELECT ... FOR UPDATE, runs the caller's pure function on what it
read, and writes the result with the texts it causes, the events it queues and the
Idempotency-Key it used -- all or nothing. Uniqueness is a unique key, never a lock in
one process: a tracking token (`tracking_tokens`), a Twilio SID (`twilio_sids`: a
webhook delivered twice, to two processes at once, is stored once), an Idempotency-Key.
The webhooks' writes are the exception, to be one round trip each (inbound.py): after
conversation_facts, record_inbound is one statement guarded by the phone state's version
as read; update_message_by_sid one guarded UPDATE -- a row changed meanwhile is read again.

The rest is in its parts (store/postgres/scope.py): the send queue and reminders (queue.py),
the send-rate cap (throttles.py), events and idempotency keys (outbox.py), pages (paging.py),
whole-store rows (imports.py), pictures (media.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bot.errors import NotFound, StoreError
from bot.jobs import utc_now
from store.base import Job, JobMove, JobWrite, Message, Once, PhoneRead, PhoneState, Store
from store.postgres.connection import Connection
from store.postgres.conversations import ConversationStore
from store.postgres.imports import ImportStore
from store.postgres.inbound import InboundStore
from store.postgres.media import MediaStore
from store.postgres.outbox import OutboxStore
from store.postgres.paging import PagingStore
from store.postgres.queue import QueueStore
from store.postgres.rows import FIRST_JOB_ID, is_bigint, job_columns, message_of, message_seq, searchable
from store.postgres.throttles import ThrottleStore


class PostgresStore(
    InboundStore, QueueStore, ThrottleStore, OutboxStore, PagingStore, ImportStore, MediaStore, ConversationStore, Store
):
    """One business's Store on a shared Database (pool and listener): jobs, messages and phones here,
    the rest in its parts (store/postgres/scope.py)."""

    @property
    def description(self) -> str:
        return "postgresql"

    async def ping(self) -> None:
        async with self.db.connection() as conn:
            await conn.fetchval("SELECT 1")

    # -- jobs ---------------------------------------------------------------

    async def _insert_token(self, conn: Connection, token: str, job_id: int) -> bool:
        inserted = await conn.fetchval(
            "INSERT INTO tracking_tokens (token, business, job_id) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true",
            token,
            self.business,
            job_id,
        )
        return bool(inserted)

    async def create_job(self, build: Callable[[int], JobWrite], *, once: Once | None = None) -> JobWrite:
        async with self._write() as write:
            await write.claim_key(once)
            # The counter row stays locked until commit: ids are dense, and a write that rolls back gives its id back.
            job_id = await write.conn.fetchval(
                """INSERT INTO job_counters (business, last_id) VALUES ($1, $2)
                ON CONFLICT (business) DO UPDATE SET last_id = job_counters.last_id + 1 RETURNING last_id""",
                self.business,
                FIRST_JOB_ID,
            )
            result = build(job_id)
            # Tokens are unique across the deployment (a global table); a taken one is built again.
            while not await self._insert_token(write.conn, result.job["token"], result.job["id"]):
                result = build(job_id)
            job = result.job
            await write.check_jobs(result.messages, known=[job["id"]])
            await write.conn.execute(
                """INSERT INTO jobs (business, id, token, status, customer_phone, reminder_due_at, updated_at, doc)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                self.business,
                job["id"],
                *job_columns(job),
                job,
            )
            stored = await write.add_messages(result.messages, job["created_at"])
            written = JobWrite(job, stored)
            await write.queue_events(new=stored)
            await write.keep_answer(once, written)
        return written

    async def get_job(self, job_id: int) -> Job:
        return await self._job_doc(job_id)

    async def find_job_by_token(self, token: str) -> Job | None:
        if not searchable(token):
            return None
        async with self.db.connection() as conn:
            return await conn.fetchval(
                """SELECT j.doc FROM tracking_tokens t JOIN jobs j ON j.business = t.business AND j.id = t.job_id
                WHERE t.token = $1 AND t.business = $2""",
                token,
                self.business,
            )

    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite], *, once: Once | None = None) -> JobWrite:
        if not is_bigint(job_id):
            raise NotFound(f"No job {job_id}.")
        async with self._write() as write:
            await write.claim_key(once)
            job = await write.conn.fetchval(
                "SELECT doc FROM jobs WHERE business = $1 AND id = $2 FOR UPDATE", self.business, job_id
            )
            if job is None:
                raise NotFound(f"No job {job_id}.")
            result = change(job)
            if not result.changed and not result.messages:
                await write.keep_answer(once, result)  # a retry must get this answer again
                return result
            new = result.job
            await write.check_jobs(result.messages, known=[job_id])
            await self._write_job(write.conn, job, new)
            stored = await write.add_messages(result.messages, new["updated_at"])
            written = JobWrite(new, stored, result.changed)
            await write.queue_events(new=stored, job=(job, new))
            await write.keep_answer(once, written)
        return written

    async def _write_job(self, conn: Connection, job: Job, new: Job) -> None:
        """Store `new` over `job` (its row locked), its tracking token moved with it if it changed."""
        if new["token"] != job["token"]:
            if not await self._insert_token(conn, new["token"], job["id"]):
                raise ValueError(f"job {job['id']}'s new tracking token is taken")
            await conn.execute("DELETE FROM tracking_tokens WHERE token = $1", job["token"])
        await conn.execute(
            """UPDATE jobs SET token = $3, status = $4, customer_phone = $5, reminder_due_at = $6, updated_at = $7,
            doc = $8 WHERE business = $1 AND id = $2""",
            self.business,
            job["id"],
            *job_columns(new),
            new,
        )

    # -- message log --------------------------------------------------------

    async def add_message(self, message: Message, *, once: Once | None = None) -> Message:
        async with self._write() as write:
            await write.claim_key(once)
            await write.check_jobs([message])
            stored = await write.add_messages([message], utc_now())
            await write.queue_events(new=stored)
            await write.keep_answer(once, stored[0])
        return stored[0]

    async def record_inbound(
        self,
        inbound: Message,
        *,
        outbound: Iterable[Message] = (),
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
        read: PhoneRead | None = None,
    ) -> tuple[list[Message], bool]:
        # Given what conversation_facts read, one statement on that version (store/postgres/inbound.py).
        done = await self._record_at_once(inbound, outbound, phone, change_phone, read)
        if done is not None:
            return done
        sid = inbound.get("twilio_sid")
        async with self._write() as write:
            # The SID's unique key first: a twin delivery waits here until this one commits, then stops.
            if not sid or await write.claim_sid(sid):
                messages = [inbound, *outbound]
                await write.check_jobs(messages)
                # The phone's row before the messages (whose trigger locks the phone's conversations
                # row): the order the one-statement write takes them in, so two writes never deadlock.
                if phone is not None and change_phone is not None:
                    await self._change_phone(write.conn, phone, change_phone)
                stored = await write.add_messages(messages, utc_now())
                await write.queue_events(new=stored)
                return stored, True
        first = await self.find_message_by_sid(sid)
        if first is None:  # the SID's row and its message are written together: this cannot be
            raise StoreError(f"Twilio SID {sid} is recorded, but its message is missing")
        return [first], False

    async def record_move(
        self,
        sid: str,
        move: JobMove,
        *,
        phone: str | None = None,
        change_phone: Callable[[PhoneState], PhoneState] | None = None,
    ) -> tuple[list[Message], bool]:
        # One transaction: the SID's unique key first (a twin delivery waits here, then stops), then
        # the job's row locked while the turn is decided on it and written with everything it causes.
        async with self._write() as write:
            if await write.claim_sid(sid):
                job = None
                if is_bigint(move.job_id):
                    job = await write.conn.fetchval(
                        "SELECT doc FROM jobs WHERE business = $1 AND id = $2 FOR UPDATE", self.business, move.job_id
                    )
                turn = move.turn(job)
                moved, messages = turn.rows(job)
                await write.check_jobs(messages, known=[move.job_id] if job is not None else [])
                if moved is not None:
                    await self._write_job(write.conn, *moved)
                if phone is not None and change_phone is not None:  # before the messages, as above
                    await self._change_phone(write.conn, phone, change_phone)
                stored = await write.add_messages(messages, utc_now())
                await write.queue_events(new=stored, job=moved)
                return stored, True
        first = await self.find_message_by_sid(sid)
        if first is None:  # the SID's row and its message are written together: this cannot be
            raise StoreError(f"Twilio SID {sid} is recorded, but its message is missing")
        return [first], False

    async def get_message(self, message_id: str) -> Message:
        seq = message_seq(message_id)
        if seq is not None:
            async with self.db.connection() as conn:
                row = await conn.fetchrow(
                    "SELECT seq, doc FROM messages WHERE business = $1 AND seq = $2", self.business, seq
                )
            if row is not None:
                return message_of(row)
        raise NotFound(f"No message {message_id}.")

    async def find_message_by_sid(self, twilio_sid: str) -> Message | None:
        if not searchable(twilio_sid):
            return None
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                "SELECT seq, doc FROM messages WHERE business = $1 AND twilio_sid = $2 ORDER BY seq LIMIT 1",
                self.business,
                twilio_sid,
            )
        return None if row is None else message_of(row)

    async def _messages(self, where: str, *args: Any) -> list[Message]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT seq, doc FROM messages WHERE business = $1 AND {where} ORDER BY created_at, seq",  # noqa: S608
                self.business,
                *args,
            )
        return [message_of(row) for row in rows]

    async def job_messages(self, job_id: int) -> list[Message]:
        await self.get_job(job_id)  # NotFound; jobs are never deleted, so no lock is needed
        return await self._messages("job_id = $2", job_id)

    async def phone_messages(self, phone: str) -> list[Message]:
        return await self._messages("phone = $2", phone) if searchable(phone) else []

    async def pending_messages(self) -> list[Message]:
        return await self._messages("status = 'pending'")

    async def messages_with_status(self, status: str) -> list[Message]:
        # No index for it: a person asks now and then (`qdn log --unknown`), and few rows match.
        return await self._messages("status = $2", status)

    # -- per-phone state ----------------------------------------------------

    async def _change_phone(
        self, conn: Connection, phone: str, change: Callable[[PhoneState], PhoneState]
    ) -> PhoneState:
        select = "SELECT state FROM phones WHERE business = $1 AND phone = $2 FOR UPDATE"
        row = await conn.fetchrow(select, self.business, phone)
        placed = False
        if row is None:  # a first state: a row to lock, so two first writes do not both start from {}
            placed = bool(
                await conn.fetchval(
                    "INSERT INTO phones (business, phone, state) VALUES ($1, $2, '{}') "
                    "ON CONFLICT DO NOTHING RETURNING true",
                    self.business,
                    phone,
                )
            )
            row = await conn.fetchrow(select, self.business, phone)
            assert row is not None
        current = dict(row["state"])
        updated = change(dict(current))
        if updated == current:
            if placed:  # nothing to keep: leave no trace, as if never written
                await conn.execute("DELETE FROM phones WHERE business = $1 AND phone = $2", self.business, phone)
            return current
        await conn.execute(
            "UPDATE phones SET state = $3 WHERE business = $1 AND phone = $2", self.business, phone, updated
        )
        return dict(updated)

    async def get_phone(self, phone: str) -> PhoneState:
        if not searchable(phone):
            return {}
        async with self.db.connection() as conn:
            state = await conn.fetchval(
                "SELECT state FROM phones WHERE business = $1 AND phone = $2", self.business, phone
            )
        return dict(state or {})

    async def update_phone(self, phone: str, change: Callable[[PhoneState], PhoneState]) -> PhoneState:
        async with self._write() as write:
            return await self._change_phone(write.conn, phone, change)

    async def is_opted_out(self, phone: str) -> bool:
        return bool((await self.get_phone(phone)).get("opted_out"))
