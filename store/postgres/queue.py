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

from collections.abc import Callable, Iterable

from bot.errors import NotFound
from bot.jobs import utc_now
from bot.send_later import cancellable
from store.base import Job, Message
from store.postgres.rows import message_columns, message_doc, message_of, message_seq, seconds_after
from store.postgres.scope import BusinessScope
from store.wakeups import wait

# A claim reads what it takes, not the queue (it used to read and sort every pending text of the business,
# window functions over the whole queue, on every call): pending texts walked in the order they are due
# (the index messages_due, migration 0005), each kept only if none of its phone's pending texts is out (one
# probe of the small index messages_claimed) and none is older (one probe of messages_pending), until LIMIT
# are kept. Its cost is the texts it takes plus those it walks past: due texts behind their phone's head,
# and texts of phones with one out. So a phone with 1,000 texts queued and its oldest out costs a claim
# ~1,000 probes of the small index (~1 µs each) until that text is sent -- and keeps no other phone waiting.
# The plan must hold on a fresh database, without statistics, and generic (connection.py):
# - each check is a correlated subquery, one index probe a row: `OFFSET 0` keeps PostgreSQL from pulling
#   a NOT EXISTS up into an anti-join, which it may run as a nested loop over the whole queue (a self
#   anti-join went quadratic before ANALYZE had given the planner row counts: 1.3 s for 500 pending);
# - the checks are a CASE, so the cheap one (messages_claimed) runs first whatever the estimates;
# - the head check compares (recipient, created_at, seq), which only messages_pending can use as its index
#   condition: with `(created_at, seq) < ...` alone, a fresh database's plan probed through messages_due or
#   messages_queue, reading the queue from its start on every probe.
# The checks read the statement's snapshot; the row itself is locked FOR UPDATE SKIP LOCKED and its own
# status and lease re-checked on its newest version, so no text is claimed twice (as before).
# bench/bench_postgres.py --parts claims: the plans and their cost against the window pass, fresh and analyzed.
_DUE = "COALESCE(m.next_attempt_at, m.created_at)"


def _turn(out: str) -> str:
    """SQL: `m` is its phone's turn -- none of the phone's pending texts is `out`, and none is older."""
    return f"""CASE WHEN EXISTS (SELECT FROM messages c WHERE c.business = $1 AND c.status = 'pending'
            AND c.recipient = m.recipient AND {out} OFFSET 0) THEN false
        ELSE NOT EXISTS (SELECT FROM messages e WHERE e.business = $1 AND e.status = 'pending'
            AND e.recipient = m.recipient AND (e.recipient, e.created_at, e.seq) < (m.recipient, m.created_at, m.seq)
            OFFSET 0) END"""  # noqa: S608


_CLAIM = f"""WITH taken AS (
    SELECT m.seq FROM messages m
    WHERE m.business = $1 AND m.status = 'pending' AND {_DUE} <= $2
        AND (m.claimed_until IS NULL OR m.claimed_until <= $2)
        AND {_turn("c.claimed_until > $2")}
    ORDER BY {_DUE}, m.created_at, m.seq
    LIMIT $3
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE messages m SET claimed_until = $4 FROM taken WHERE m.business = $1 AND m.seq = taken.seq
RETURNING m.seq, m.doc, {_DUE} AS due, m.created_at"""  # noqa: S608  # constants, no input

# When a text next becomes claimable: a lease's end, or the due time of a phone's oldest text while none
# of that phone's texts is out (the first such in the walk above).
_NEXT_DUE = f"""SELECT LEAST(
    (SELECT min(claimed_until) FROM messages WHERE business = $1 AND status = 'pending' AND claimed_until IS NOT NULL),
    (SELECT {_DUE} FROM messages m WHERE m.business = $1 AND m.status = 'pending' AND m.claimed_until IS NULL
        AND {_turn("c.claimed_until IS NOT NULL")}
    ORDER BY {_DUE}, m.created_at, m.seq LIMIT 1))"""  # noqa: S608

# Completing drops the claim only if it is still the one this store took ($13: the ends it may carry -- a
# renewal may be committing meanwhile; NULL: this store holds none), so a sender whose lease ran out and was
# taken over never frees the text under the sender that holds it now.
_UPDATE = """UPDATE messages SET job_id = $3, phone = $4, recipient = $5, twilio_sid = $6, status = $7, direction = $8,
    created_at = $9, next_attempt_at = $10, doc = $11,
    claimed_until = CASE WHEN ($12 AND claimed_until = ANY($13::text[])) OR $7 <> 'pending' THEN NULL
        ELSE claimed_until END
WHERE business = $1 AND seq = $2"""
_RELEASE = """UPDATE messages SET claimed_until = NULL
WHERE business = $1 AND seq = $2 AND claimed_until = ANY($3::text[])"""

# A renewal moves each claim's end to $4 where the row still carries the end this store wrote (the claim's
# mark): a claim another sender took after the lease ran out carries that sender's end, and is left alone.
# Renewed even past its end (the database was away a while) as long as no one took it.
_RENEW = """UPDATE messages m SET claimed_until = $4
FROM unnest($2::bigint[], $3::text[]) AS held(seq, until)
WHERE m.business = $1 AND m.seq = held.seq AND m.status = 'pending' AND m.claimed_until = held.until
RETURNING m.seq"""

_REMINDERS = """FROM jobs WHERE business = $1 AND status = 'scheduled' AND reminder_due_at IS NOT NULL"""
# Review requests: the due time is in the document (index jobs_reviews, migration 0007).
_REVIEW_DUE = """((doc->>'review_due_at') COLLATE "C")"""
_REVIEWS = """FROM jobs WHERE business = $1 AND status = 'complete' AND doc->>'review_due_at' IS NOT NULL"""


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
            ours = self._drop_held(seq) if release else None
            updated = change(dict(current))
            if updated is None or updated == current:
                if ours:
                    await write.conn.execute(_RELEASE, self.business, seq, ours)
                return current
            doc = message_doc({"created_at": current["created_at"], **updated, "updated_at": utc_now()})
            await write.conn.execute(_UPDATE, self.business, seq, *message_columns(doc), doc, release, ours)
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
        until = seconds_after(now, lease_seconds)
        async with self.db.connection() as conn:
            rows = await conn.fetch(_CLAIM, self.business, now, limit, until)
        rows = sorted(rows, key=lambda row: (row["due"], row["created_at"], row["seq"]))
        self._held_texts.update((row["seq"], until) for row in rows)
        return [message_of(row) for row in rows]

    async def renew_claims(self, message_ids: Iterable[str], now: str, lease_seconds: float) -> set[str]:
        held = {seq: self._held_texts[seq] for seq in map(message_seq, message_ids) if seq in self._held_texts}
        if not held:
            return set()
        until = seconds_after(now, lease_seconds)
        self._renewing.update(dict.fromkeys(held, until))
        try:
            async with self.db.connection() as conn:
                rows = await conn.fetch(_RENEW, self.business, list(held), list(held.values()), until)
        finally:
            for seq in held:
                self._renewing.pop(seq, None)
        renewed = {row["seq"] for row in rows}
        for seq in held:
            if seq not in self._held_texts:
                continue  # completed or released while the renewal ran
            if seq in renewed:
                self._held_texts[seq] = until
            else:
                del self._held_texts[seq]  # lost: taken over, or no longer pending
        return {str(seq) for seq in renewed if seq in self._held_texts}

    def _drop_held(self, seq: int) -> list[str] | None:
        """Forget this store's claim on a text; the ends its row may carry while it is ours (None: not held)."""
        until = self._held_texts.pop(seq, None)
        if until is None:
            return None
        renewing = self._renewing.get(seq)
        return [until, renewing] if renewing else [until]

    async def complete(self, message_id: str, change: Callable[[Message], Message | None]) -> Message:
        return await self._change_message(message_id, change, release=True)

    async def cancel_pending(self, message_id: str, change: Callable[[Message], Message]) -> Message | None:
        seq = message_seq(message_id)
        if seq is None:
            raise NotFound(f"No message {message_id}.")
        async with self._write() as write:
            # The row lock keeps claim_due off it (FOR UPDATE SKIP LOCKED) until this commits.
            row = await write.conn.fetchrow(
                "SELECT seq, doc, claimed_until FROM messages WHERE business = $1 AND seq = $2 FOR UPDATE",
                self.business,
                seq,
            )
            if row is None:
                raise NotFound(f"No message {message_id}.")
            current = message_of(row)
            if row["claimed_until"] is not None or not cancellable(current):
                return None
            doc = message_doc({**change(dict(current)), "updated_at": utc_now()})
            await write.conn.execute(_UPDATE, self.business, seq, *message_columns(doc), doc, False, None)
            stored = {**doc, "id": current["id"]}
            await write.queue_events(message=(current, stored))
        return stored

    async def release(self, message_id: str) -> None:
        seq = message_seq(message_id)
        if seq is None:
            return
        ours = self._drop_held(seq)
        if ours is None:
            return  # not this store's claim (any more): the sender that took it over keeps it
        async with self.db.connection() as conn:
            await conn.execute(_RELEASE, self.business, seq, ours)

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

    # -- review requests (Store.due_reviews) ---------------------------------

    async def due_reviews(self, now: str, limit: int) -> list[Job]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT doc {_REVIEWS} AND {_REVIEW_DUE} <= $2 ORDER BY {_REVIEW_DUE}, id LIMIT $3",
                self.business,
                now,
                limit,
            )
        return [row["doc"] for row in rows]

    async def next_review_at(self) -> str | None:
        async with self.db.connection() as conn:
            return await conn.fetchval(f"SELECT min({_REVIEW_DUE}) {_REVIEWS}", self.business)
