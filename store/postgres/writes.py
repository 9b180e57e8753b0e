"""One atomic write of one business's store: the pieces every write is made of, in one transaction.

`Write` runs inside `Database.transaction()`: it appends messages, claims a Twilio SID or an
Idempotency-Key, queues the dashboard events the write causes (store/events.py) and, last,
notifies the waiting senders and deliverers -- `pg_notify` in the transaction, so they wake
when (and only if) it commits. Nothing here commits or rolls back: the transaction does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from bot.errors import NotFound, StoreError
from bot.jobs import utc_now
from store import codec, events
from store.base import IDEMPOTENCY_HOURS, Event, Job, KeyUsed, Message, Once
from store.postgres.connection import EVENTS_CHANNEL, WORK_CHANNEL, Connection
from store.postgres.rows import hours_before, is_bigint, message_columns, message_doc
from store.records import IdempotencyRecord

_INSERT_ONE = """INSERT INTO messages
    (business, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq"""

_INSERT_MANY = """INSERT INTO messages
    (business, seq, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc)
SELECT $1, seq, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc::json
FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::text[], $11::text[])
    AS given (seq, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc)"""


def stamped(messages: Iterable[Message], now: str, *, stamp: bool = True) -> list[Message]:
    """The docs to store for new messages: each its `created_at` (kept if given, else `now`) and
    `updated_at` = `now` (`stamp=False`: both kept as given, for imports)."""
    docs = []
    for message in messages:
        doc = message_doc(message)
        if stamp:
            doc = {**doc, "created_at": doc.get("created_at") or now, "updated_at": now}
        elif not doc.get("created_at"):
            doc = {**doc, "created_at": now}
        docs.append(doc)
    return docs


def jobs_named(messages: Iterable[Message], *, known: Iterable[int] = ()) -> set[int]:
    """The job ids the messages name, but `known`; NotFound at once for one no bigint can be."""
    wanted = {m["job_id"] for m in messages if m.get("job_id") is not None} - set(known)
    if not all(is_bigint(job_id) for job_id in wanted):
        raise NotFound(f"No job {sorted(map(str, wanted))[0]}.")
    return wanted


async def find_key(conn: Connection, business: str, key: str, now: str) -> IdempotencyRecord | None:
    """The answer kept for an Idempotency-Key, unless forgotten by `now` (Store.find_once)."""
    row = await conn.fetchrow(
        "SELECT key, fingerprint, status, body, created_at FROM idempotency_keys "
        "WHERE business = $1 AND key = $2 AND created_at > $3",
        business,
        key,
        hours_before(now, IDEMPOTENCY_HOURS),
    )
    return None if row is None else cast(IdempotencyRecord, dict(row))


class Write:
    """The parts of one atomic write; call `finish()` last, inside the transaction."""

    def __init__(self, conn: Connection, business: str, *, events_enabled: bool) -> None:
        self.conn = conn
        self.business = business
        self.events_enabled = events_enabled
        self.queued_text = False  # a pending text was added: wake the senders at commit
        self.queued_event = False
        self._sids: set[str] = set()  # Twilio SIDs this write has recorded (twilio_sids)

    # -- Idempotency-Key (store.base.Once) --------------------------------------------

    async def claim_key(self, once: Once | None) -> None:
        """Take `once`'s key for this write, or KeyUsed with the first answer (the caller's write then
        rolls back). A unique key, not a lock: a twin racing this write waits for it, then finds it."""
        if once is None:
            return
        taken = await self.conn.fetchval(
            """INSERT INTO idempotency_keys (business, key, fingerprint, status, body, created_at)
            VALUES ($1, $2, $3, 0, 'null', $4)
            ON CONFLICT (business, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, status = 0, body = 'null', created_at = EXCLUDED.created_at
                WHERE idempotency_keys.created_at <= $5
            RETURNING true""",
            self.business,
            once.key,
            once.fingerprint,
            once.now,
            hours_before(once.now, IDEMPOTENCY_HOURS),  # a forgotten key may be used again
        )
        if taken:
            return
        row = await self.conn.fetchrow(
            "SELECT key, fingerprint, status, body, created_at FROM idempotency_keys WHERE business = $1 AND key = $2",
            self.business,
            once.key,
        )
        if row is None:  # forgotten by housekeeping in between: only a caller's clock far behind can see this
            raise StoreError(f"Idempotency-Key {once.key!r} changed while it was used; try again")
        raise KeyUsed(cast(IdempotencyRecord, dict(row)))

    async def keep_answer(self, once: Once | None, result: Any) -> None:
        """Store the answer `once` gives for what this write stored, with the key taken by claim_key."""
        if once is None:
            return
        status, body = once.answer(result)
        await self.conn.execute(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE business = $1 AND key = $2",
            self.business,
            once.key,
            status,
            body,
        )

    # -- messages -----------------------------------------------------------------------

    async def check_jobs(self, messages: Iterable[Message], *, known: Iterable[int] = ()) -> None:
        """NotFound unless every message's `job_id` names a job of this business."""
        wanted = jobs_named(messages, known=known)
        if not wanted:
            return
        found = await self.conn.fetch(
            "SELECT id FROM jobs WHERE business = $1 AND id = ANY($2::bigint[])", self.business, list(wanted)
        )
        missing = wanted - {row["id"] for row in found}
        if missing:
            raise NotFound(f"No job {min(missing)}.")

    async def add_messages(self, messages: Iterable[Message], now: str, *, stamp: bool = True) -> list[Message]:
        """Append messages in the order given; each gets its id, its `created_at` (kept if given, else
        `now`) and `updated_at` = `now` (`stamp=False`: both kept as given, for imports)."""
        docs = stamped(messages, now, stamp=stamp)
        if not docs:
            return []
        if len(docs) == 1:
            seqs = [await self.conn.fetchval(_INSERT_ONE, self.business, *message_columns(docs[0]), docs[0])]
        else:
            # Ids in the order written: taken first, in order, then the rows inserted with them.
            seqs = sorted(
                await self.conn.fetchval(
                    "SELECT array_agg(nextval('messages_seq_seq')) FROM generate_series(1, $1)", len(docs)
                )
            )
            columns = list(zip(*(message_columns(doc) for doc in docs), strict=True))
            encoded = [codec.dumps(doc).decode() for doc in docs]
            await self.conn.execute(_INSERT_MANY, self.business, seqs, *map(list, columns), encoded)
        for doc in docs:
            if doc.get("twilio_sid"):
                await self.keep_sid(doc["twilio_sid"])
        self.queued_text = self.queued_text or any(doc.get("status") == "pending" for doc in docs)
        return [{**doc, "id": str(seq)} for seq, doc in zip(seqs, docs, strict=True)]

    async def claim_sid(self, sid: str) -> bool:
        """Record that this business logged `sid`; False if it had already (a repeated webhook). A twin
        racing this write waits for it to commit or roll back, then knows."""
        inserted = await self.conn.fetchval(
            "INSERT INTO twilio_sids (sid, business) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            sid,
            self.business,
        )
        self._sids.add(sid)
        return bool(inserted)

    async def keep_sid(self, sid: str) -> None:
        """Record that this business logged `sid` (for routing its status callbacks), if not yet."""
        if sid not in self._sids:
            await self.claim_sid(sid)

    # -- dashboard events (store/events.py) -------------------------------------------------

    async def queue_events(
        self,
        *,
        new: Iterable[Message] = (),
        job: tuple[Job, Job] | None = None,
        message: tuple[Message, Message] | None = None,
    ) -> None:
        """The events this write causes, stored with it (only once Store.enable_events was called)."""
        if not self.events_enabled:
            return
        now = utc_now()
        queued: list[Event] = events.for_new_messages(new, now)
        if job is not None:
            queued += events.for_job_change(*job, now)
        if message is not None:
            queued += events.for_message_change(*message, now)
        for event in queued:
            await self.conn.execute(
                """INSERT INTO events (business, event_id, status, created_at, next_attempt_at, doc)
                VALUES ($1, $2, $3, $4, $5, $6)""",
                self.business,
                event["id"],
                event["status"],
                event["created_at"],
                event.get("next_attempt_at"),
                event,
            )
            self.queued_event = True

    # -- at commit ------------------------------------------------------------------------

    async def finish(self) -> None:
        """Wake the senders (a text was queued) and deliverers (an event was), when this commits."""
        if self.queued_text:
            await self.conn.execute("SELECT pg_notify($1, $2)", WORK_CHANNEL, self.business)
        if self.queued_event:
            await self.conn.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL, self.business)
