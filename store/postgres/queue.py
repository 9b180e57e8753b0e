"""The send queue on PostgreSQL: claims with leases, one text per phone at a time; and day-before reminders.

A claim is the row's `claimed_until` (never in its doc). `claim_due` picks, in one
statement, each phone's oldest pending text (its "head") whose phone has no live claim
and whose time has come, earliest due first, and takes them with FOR UPDATE SKIP LOCKED:
any number of senders in any number of processes claim at once, none waits for another,
and a row another claimer took meanwhile fails the re-checked conditions and is passed
over -- so no text is claimed twice, and a phone's next text waits until its head is
completed or released, or its lease runs out (its sender died: the text, marked with
`send_started_at`, is then looked up at Twilio, never blindly re-sent; sender/worker.py).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.errors import NotFound
from bot.jobs import utc_now
from store.base import Job, Message
from store.postgres.rows import message_columns, message_doc, message_of, message_seq, seconds_after
from store.postgres.scope import BusinessScope, wait

# One pass over the business's pending texts: each phone's place in its queue and whether one of its
# texts is out (claimed). Window functions, not a self anti-join: a join re-run per row went quadratic
# (1.3 s for 500 pending texts on a fresh database, before ANALYZE had given the planner row counts).
_CLAIM = """WITH queue AS MATERIALIZED (
    SELECT seq, created_at, COALESCE(next_attempt_at, created_at) AS due,
        row_number() OVER (PARTITION BY recipient ORDER BY created_at, seq) AS place,
        bool_or(claimed_until > $2) OVER (PARTITION BY recipient) AS busy
    FROM messages WHERE business = $1 AND status = 'pending'
), taken AS (
    SELECT m.seq FROM queue q JOIN messages m ON m.business = $1 AND m.seq = q.seq
    WHERE q.place = 1 AND NOT COALESCE(q.busy, false) AND q.due <= $2 AND m.status = 'pending'
        AND (m.claimed_until IS NULL OR m.claimed_until <= $2)
    ORDER BY q.due, q.created_at, q.seq
    LIMIT $3
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE messages m SET claimed_until = $4 FROM taken WHERE m.business = $1 AND m.seq = taken.seq
RETURNING m.seq, m.doc, COALESCE(m.next_attempt_at, m.created_at) AS due, m.created_at"""

# When a text next becomes claimable: a lease's end, or the due time of a phone's oldest text
# while none of that phone's texts is out.
_NEXT_DUE = """WITH queue AS MATERIALIZED (
    SELECT COALESCE(next_attempt_at, created_at) AS due, claimed_until,
        row_number() OVER (PARTITION BY recipient ORDER BY created_at, seq) AS place,
        bool_or(claimed_until IS NOT NULL) OVER (PARTITION BY recipient) AS busy
    FROM messages WHERE business = $1 AND status = 'pending'
)
SELECT LEAST((SELECT min(claimed_until) FROM queue), (SELECT min(due) FROM queue WHERE place = 1 AND NOT busy))"""

_UPDATE = """UPDATE messages SET job_id = $3, phone = $4, recipient = $5, twilio_sid = $6, status = $7, direction = $8,
    created_at = $9, next_attempt_at = $10, doc = $11,
    claimed_until = CASE WHEN $12 OR $7 <> 'pending' THEN NULL ELSE claimed_until END
WHERE business = $1 AND seq = $2"""

_REMINDERS = """FROM jobs WHERE business = $1 AND status = 'scheduled' AND reminder_due_at IS NOT NULL"""


class QueueStore(BusinessScope):
    """Changing messages, the send queue's claims, and reminders (methods of PostgresStore)."""

    async def _change_message(
        self, message_id: str, change: Callable[[Message], Message | None], *, release: bool
    ) -> Message:
        """update_message, and (`release`) complete: the row replaced by `change(row)` and, for
        complete, its claim dropped -- in one transaction, on the row locked FOR UPDATE."""
        seq = message_seq(message_id)
        if seq is None:
            raise NotFound(f"No message {message_id}.")
        async with self._write() as write:
            row = await write.conn.fetchrow(
                "SELECT seq, doc FROM messages WHERE business = $1 AND seq = $2 FOR UPDATE", self.business, seq
            )
            if row is None:
                raise NotFound(f"No message {message_id}.")
            current = message_of(row)
            if release:
                self._held_texts.discard(seq)
            updated = change(dict(current))
            if updated is None or updated == current:
                if release:
                    await write.conn.execute(
                        "UPDATE messages SET claimed_until = NULL WHERE business = $1 AND seq = $2", self.business, seq
                    )
                return current
            doc = message_doc({"created_at": current["created_at"], **updated, "updated_at": utc_now()})
            await write.conn.execute(_UPDATE, self.business, seq, *message_columns(doc), doc, release)
            if doc.get("twilio_sid") and doc["twilio_sid"] != current.get("twilio_sid"):
                await write.keep_sid(doc["twilio_sid"])  # so its status callbacks find this business
            if doc.get("status") == "pending" and current.get("status") != "pending":
                write.queued_text = True  # back in the queue: wake the senders
            stored = {**doc, "id": current["id"]}
            await write.queue_events(message=(current, stored))
        return stored

    async def update_message(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        return await self._change_message(message_id, change, release=False)

    async def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[Message]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(_CLAIM, self.business, now, limit, seconds_after(now, lease_seconds))
        rows = sorted(rows, key=lambda row: (row["due"], row["created_at"], row["seq"]))
        self._held_texts.update(row["seq"] for row in rows)
        return [message_of(row) for row in rows]

    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        return await self._change_message(message_id, change, release=True)

    async def release(self, message_id: str) -> None:
        seq = message_seq(message_id)
        if seq is None:
            return
        self._held_texts.discard(seq)
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE messages SET claimed_until = NULL "
                "WHERE business = $1 AND seq = $2 AND claimed_until IS NOT NULL",
                self.business,
                seq,
            )

    async def next_due(self) -> str | None:
        async with self.db.connection() as conn:
            return await conn.fetchval(_NEXT_DUE, self.business)

    async def wait_for_work(self, timeout: float) -> bool:
        return await wait(self._work, timeout)

    # -- day-before reminders (Store.due_reminders) --------------------------

    async def due_reminders(self, now: str, limit: int) -> list[Job]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT doc {_REMINDERS} AND reminder_due_at <= $2 ORDER BY reminder_due_at, id LIMIT $3",
                self.business,
                now,
                limit,
            )
        return [row["doc"] for row in rows]

    async def next_reminder_at(self) -> str | None:
        async with self.db.connection() as conn:
            return await conn.fetchval(f"SELECT min(reminder_due_at) {_REMINDERS}", self.business)
