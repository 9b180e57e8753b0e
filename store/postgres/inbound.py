"""The webhooks' reads and writes on PostgreSQL, each one round trip (issue #15).

An inbound text (handlers/twilio/receive.py) makes two: `conversation_facts` reads everything the decision
needs in one statement -- the duplicate check by SID, the sender's phone state, the open jobs,
the job or tracking code named, the target's opt-out -- and `record_inbound` writes the text,
the texts it causes, its events and the sender's new state in one statement: data-modifying
CTEs, so one implicit transaction, all or nothing, no BEGIN/COMMIT. A status callback
(handlers/twilio/status.py) makes two as well: `update_message_by_sid` reads the message by SID
(or is given it, as the business lookup by SID read it: Deployment.lookup_sid) and writes it
in one statement.

The writes are optimistic. The phone state (or message) was read before the caller's pure
function ran on it, so the write is guarded by the row's version as read -- PostgreSQL's `xmin`,
which every UPDATE of the row changes -- and a row changed meanwhile is not overwritten:
record_inbound's statement then rolls back whole (qdn_write_conflict(),
migrations/0004_write_conflict.sql) and is retried on the state read again;
update_message_by_sid falls back to the row lock of update_message. No change is lost.

What was read is handed back by the caller, explicitly: conversation_facts returns the phone
state with its version (ConversationFacts.read) and the handler passes it to
`record_inbound(read=...)`. A write given no read of its own store takes the locked path
(store/postgres/store.py): so record_inbound called alone calls `change_phone` once, after the
SID is claimed, as before. Given a read it may call it before it knows the SID is its own (a
twin delivery to another process won), or again after a conflict: it is a pure function, and
only the result stored counts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from bot.errors import NotFound, StoreError
from bot.jobs import OPEN_STATUSES, utc_now
from store import codec, events
from store.base import ConversationFacts, Event, FactsWanted, Message, MessageRead, PhoneRead, PhoneState
from store.postgres.connection import CHANGES_CHANNEL, EVENTS_CHANNEL, WORK_CHANNEL, is_write_conflict
from store.postgres.queue import QueueStore
from store.postgres.rows import is_bigint, message_columns, message_doc, message_of, message_seq, searchable
from store.postgres.writes import jobs_named, stamped

ATTEMPTS = 3  # one-statement writes tried before the locked path (each after reading the row again)

# Everything an inbound text's decision reads, in one statement. Uncorrelated sub-selects behind a
# false CASE are not run, so only the lookups wanted cost anything. Lists are ARRAY(SELECT ...), not
# json_agg(...): every aggregate's start-up is paid at each execution, run or not (issue #30, bench/bench_pg_cpu.py).
_FACTS = """SELECT a.seq AS already_seq, a.doc AS already_doc, p.state AS phone_state, p.xmin AS phone_version,
    CASE WHEN $5 THEN ARRAY(SELECT doc FROM jobs
        WHERE business = $1 AND customer_phone = $3 AND status = ANY($4::text[])
        ORDER BY id DESC) END AS sender_open_jobs,
    CASE WHEN $6 THEN ARRAY(SELECT doc FROM jobs
        WHERE business = $1 AND status = ANY($4::text[]) ORDER BY id DESC) END AS open_jobs,
    j.doc AS job,
    (SELECT tj.doc FROM tracking_tokens t JOIN jobs tj ON tj.business = t.business AND tj.id = t.job_id
     WHERE t.token = $8 AND t.business = $1) AS token_job,
    CASE WHEN $9 THEN (SELECT tp.state FROM phones tp
        WHERE tp.business = $1 AND tp.phone = COALESCE(j.customer_phone, $10)) END AS target_state,
    CASE WHEN $11::text IS NOT NULL THEN ARRAY(SELECT doc FROM jobs
        WHERE business = $1 AND customer_phone = $3
            AND (doc->>'confirm_asked_at') COLLATE "C" >= $11::text COLLATE "C" ORDER BY id DESC) END AS asked_jobs
FROM (SELECT) AS one
LEFT JOIN LATERAL (SELECT seq, doc FROM messages WHERE business = $1 AND twilio_sid = $2 ORDER BY seq LIMIT 1) a ON true
LEFT JOIN phones p ON p.business = $1 AND p.phone = $3
LEFT JOIN jobs j ON j.business = $1 AND j.id = $7"""

# The webhooks' writes wake nobody inside their transaction: their caller notifies after the commit
# (Database.notify_later), since a NOTIFY in the transaction makes every such commit wait for the one
# before (store/postgres/connection.py). `qdn.changes_after_commit` tells 0012's trigger so: set before
# the first row is written (the go CTE, the UPDATE's condition), as the trigger's WHEN reads it then.

# record_inbound in one statement. Nothing is written unless every job named exists and the SID is
# claimed here (a twin delivery racing this one waits on the SID's key, then finds it taken); the
# phone state is written only over the version read ($15; NULL: no row then) -- else the whole
# statement rolls back (qdn_write_conflict). Message ids in the order given: one nextval() a row of
# generate_series, as it yields them, so ascending, as Write.add_messages takes them (a row_number()
# window over them cost its start-up at every call: issue #30, bench/bench_pg_cpu.py). An event's doc
# names its message by a placeholder ($20), replaced by the message's id once the id is taken.
_RECORD = """WITH known AS (
    SELECT ARRAY(SELECT id FROM jobs WHERE business = $1 AND id = ANY($3::bigint[])) AS ids
), claim AS (
    INSERT INTO twilio_sids (sid, business)
    SELECT $2, $1 WHERE $2::text IS NOT NULL AND (SELECT cardinality(ids) FROM known) = cardinality($3::bigint[])
    ON CONFLICT DO NOTHING RETURNING sid
), go AS (
    SELECT (SELECT cardinality(ids) FROM known) = cardinality($3::bigint[])
        AND ($2::text IS NULL OR EXISTS (SELECT FROM claim))
        AND set_config('qdn.changes_after_commit', 'on', true) = 'on' AS go
), seqs AS (
    SELECT nextval('messages_seq_seq') AS seq, ord FROM generate_series(1, cardinality($12::text[])) AS ord
    WHERE (SELECT go FROM go)
), given AS (
    SELECT * FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                         $11::text[], $12::text[]) WITH ORDINALITY
        AS g (job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc, ord)
), inserted AS (
    INSERT INTO messages
        (business, seq, job_id, phone, recipient, twilio_sid, status, direction, created_at, next_attempt_at, doc)
    SELECT $1, s.seq, g.job_id, g.phone, g.recipient, g.twilio_sid, g.status, g.direction, g.created_at,
        g.next_attempt_at, g.doc::json
    FROM given g JOIN seqs s ON s.ord = g.ord
    RETURNING seq
), sids AS (
    INSERT INTO twilio_sids (sid, business)
    SELECT g.twilio_sid, $1 FROM given g
    WHERE g.twilio_sid IS NOT NULL AND g.twilio_sid IS DISTINCT FROM $2 AND (SELECT go FROM go)
    ON CONFLICT DO NOTHING
), phone_added AS (
    INSERT INTO phones (business, phone, state)
    SELECT $1, $13, $14 WHERE (SELECT go FROM go) AND $14::json IS NOT NULL AND $15::xid IS NULL
    ON CONFLICT DO NOTHING RETURNING true
), phone_changed AS (
    UPDATE phones SET state = $14
    WHERE business = $1 AND phone = $13 AND xmin = $15::xid AND $14::json IS NOT NULL AND (SELECT go FROM go)
    RETURNING true
), queued AS (
    INSERT INTO events (business, event_id, status, created_at, next_attempt_at, doc)
    SELECT $1, e.event_id, e.status, e.created_at, NULL, replace(e.doc, e.placeholder, '"' || s.seq || '"')::json
    FROM unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::bigint[])
        AS e (event_id, status, created_at, doc, placeholder, ord)
    JOIN seqs s ON s.ord = e.ord
)
SELECT (SELECT ids FROM known) AS jobs_found, (SELECT go FROM go) AS written,
    ARRAY(SELECT seq FROM seqs ORDER BY ord) AS seqs,
    CASE WHEN (SELECT go FROM go) AND $14::json IS NOT NULL
              AND NOT EXISTS (SELECT FROM phone_added) AND NOT EXISTS (SELECT FROM phone_changed)
         THEN qdn_write_conflict('the phone state') END AS conflict"""

_PHONE = "SELECT state, xmin FROM phones WHERE business = $1 AND phone = $2"
_BY_SID = "SELECT seq, doc, xmin FROM messages WHERE business = $1 AND twilio_sid = $2 ORDER BY seq LIMIT 1"

# update_message on the version read (`xmin`, $12), with what the change causes: the SID kept for
# routing callbacks, events, the senders woken. Nothing at all if the row changed meanwhile.
_UPDATE_SEEN = """WITH changed AS (
    UPDATE messages SET job_id = $3, phone = $4, recipient = $5, twilio_sid = $6, status = $7, direction = $8,
        created_at = $9, next_attempt_at = $10, doc = $11,
        claimed_until = CASE WHEN $7 <> 'pending' THEN NULL ELSE claimed_until END
    WHERE business = $1 AND seq = $2 AND xmin = $12::xid AND set_config('qdn.changes_after_commit', 'on', true) = 'on'
    RETURNING seq
), sids AS (
    INSERT INTO twilio_sids (sid, business) SELECT $13, $1 FROM changed WHERE $13::text IS NOT NULL
    ON CONFLICT DO NOTHING
), queued AS (
    INSERT INTO events (business, event_id, status, created_at, next_attempt_at, doc)
    SELECT $1, e.event_id, e.status, e.created_at, e.next_attempt_at, e.doc::json
    FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
        AS e (event_id, status, created_at, next_attempt_at, doc)
    WHERE EXISTS (SELECT FROM changed)
)
SELECT EXISTS (SELECT FROM changed) AS written"""


def _event_columns(queued: Iterable[Event]) -> list[list[Any]]:
    """Events as the statements' arrays: ids, statuses, created_at, next_attempt_at, docs."""
    rows = [(e["id"], e["status"], e["created_at"], e.get("next_attempt_at"), codec.dumps(e).decode()) for e in queued]
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], [], [], []]


class InboundStore(QueueStore):
    """The webhooks' reads and writes in one round trip each (methods of PostgresStore)."""

    # -- an inbound text ----------------------------------------------------------------------

    async def conversation_facts(self, sender: str, wanted: FactsWanted) -> ConversationFacts:
        sid = wanted.sid if searchable(wanted.sid) else None
        phone = sender if searchable(sender) else ""
        job_id = wanted.job_id if is_bigint(wanted.job_id) else None
        token = wanted.token if wanted.token and searchable(wanted.token) else None
        target = wanted.target_phone if searchable(wanted.target_phone) else None
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                _FACTS,
                self.business,
                sid,
                phone,
                list(OPEN_STATUSES),
                wanted.sender_open_jobs,
                wanted.open_jobs,
                job_id,
                token,
                wanted.target_opt_out,
                target,
                wanted.asked_since,
            )
        assert row is not None  # one row, whatever is found
        if row["already_seq"] is not None:
            return ConversationFacts(already=message_of({"seq": row["already_seq"], "doc": row["already_doc"]}))
        state = dict(row["phone_state"] or {})
        return ConversationFacts(
            phone_state=state,
            sender_open_jobs=list(row["sender_open_jobs"] or []),
            open_jobs=list(row["open_jobs"] or []),
            job=row["job"],
            token_job=row["token_job"],
            target_opted_out=bool((row["target_state"] or {}).get("opted_out")),
            asked_jobs=list(row["asked_jobs"] or []),
            read=PhoneRead(self.business, phone, dict(state), row["phone_version"]) if phone else None,
        )

    async def _read_phone(self, phone: str) -> tuple[PhoneState, int | None]:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(_PHONE, self.business, phone)
        return ({}, None) if row is None else (dict(row["state"]), row["xmin"])

    async def _record_at_once(
        self,
        inbound: Message,
        outbound: Iterable[Message],
        phone: str | None,
        change_phone: Callable[[PhoneState], PhoneState] | None,
        read: PhoneRead | None,
    ) -> tuple[list[Message], bool] | None:
        """record_inbound in one statement, on the phone state conversation_facts read (`read`); None
        (nothing written) when there is no read of this phone here, or it kept changing: the caller
        takes the locked path."""
        seen = None
        if phone is not None and change_phone is not None:
            if read is None or read.business != self.business or read.phone != phone or not searchable(phone):
                return None
            seen = (read.state, read.version)
        docs = stamped([inbound, *outbound], utc_now())
        wanted = jobs_named(docs)
        sid = inbound.get("twilio_sid") or None
        columns = [list(column) for column in zip(*(message_columns(doc) for doc in docs), strict=True)]
        encoded = [codec.dumps(doc).decode() for doc in docs]
        queued, placeholders, ords = [], [], []
        if self._events_enabled:
            mark = secrets.token_hex(16)  # unguessable: no text can hold it; each event names its message by it
            for ord_, doc in enumerate(docs, start=1):
                for event in events.for_new_messages([{**doc, "id": f"qdn-message-{mark}-{ord_}"}], utc_now()):
                    queued.append(event)
                    placeholders.append(f'"qdn-message-{mark}-{ord_}"')
                    ords.append(ord_)
        ids, statuses, created, _, event_docs = _event_columns(queued)
        wake = any(doc.get("status") == "pending" for doc in docs)
        for _attempt in range(ATTEMPTS):
            new_state, version = None, None
            if seen is not None and change_phone is not None:
                state, version = seen
                updated = change_phone(dict(state))
                if updated != state:
                    new_state = updated
            try:
                async with self.db.connection() as conn:
                    row = await conn.fetchrow(
                        _RECORD,
                        self.business,
                        sid,
                        sorted(wanted),
                        *columns,
                        encoded,
                        phone,
                        new_state,
                        version,
                        ids,
                        statuses,
                        created,
                        event_docs,
                        placeholders,
                        ords,
                    )
            except Exception as error:
                if not is_write_conflict(error):
                    raise
                assert phone is not None
                seen = await self._read_phone(phone)  # changed since it was read: again, on what it is now
                continue
            assert row is not None
            missing = wanted - set(row["jobs_found"])
            if missing:
                raise NotFound(f"No job {min(missing)}.")
            if not row["written"]:  # the SID is taken: a twin delivery, or a repeat
                return [await self._first_for(sid)], False
            self._notify_written(wake, bool(queued))
            return [{**doc, "id": str(seq)} for seq, doc in zip(row["seqs"], docs, strict=True)], True
        return None

    def _notify_written(self, wake_senders: bool, queued_events: bool) -> None:
        """What a committed one-statement write notifies: a change (the inbox), a text to send, an event."""
        self.db.notify_later(CHANGES_CHANNEL, self.business)
        if wake_senders:
            self.db.notify_later(WORK_CHANNEL, self.business)
        if queued_events:
            self.db.notify_later(EVENTS_CHANNEL, self.business)

    async def _first_for(self, sid: str | None) -> Message:
        first = None
        if sid is not None:
            async with self.db.connection() as conn:
                row = await conn.fetchrow(_BY_SID, self.business, sid)
            first = None if row is None else message_of(row)
        if first is None:  # the SID's row and its message are written together: this cannot be
            raise StoreError(f"Twilio SID {sid} is recorded, but its message is missing")
        return first

    # -- a status callback ----------------------------------------------------------------------

    async def update_message_by_sid(
        self, twilio_sid: str, change: Callable[[Message], Message | None], *, read: MessageRead | None = None
    ) -> tuple[Message, Message] | None:
        if not searchable(twilio_sid):
            return None
        seen = None
        if read is not None and read.business == self.business and read.twilio_sid == twilio_sid:
            seen = (dict(read.message), read.version)  # as the business lookup by SID read it: no second read
        if seen is None:
            async with self.db.connection() as conn:
                row = await conn.fetchrow(_BY_SID, self.business, twilio_sid)
            if row is None:
                return None
            seen = (message_of(row), row["xmin"])
        current, version = seen
        updated = change(dict(current))
        if updated is None or updated == current:
            return current, current
        now = utc_now()
        doc = message_doc({"created_at": current["created_at"], **updated, "updated_at": now})
        stored = {**doc, "id": current["id"]}
        new_sid = doc.get("twilio_sid") if doc.get("twilio_sid") != current.get("twilio_sid") else None
        queued = events.for_message_change(current, stored, now) if self._events_enabled else []
        wake = doc.get("status") == "pending" and current.get("status") != "pending"
        async with self.db.connection() as conn:
            written = await conn.fetchval(
                _UPDATE_SEEN,
                self.business,
                message_seq(current["id"]),
                *message_columns(doc),
                doc,
                version,
                new_sid,
                *_event_columns(queued),
            )
        if written:
            self._notify_written(wake, bool(queued))
            return current, stored
        # Changed since it was read (another report, a sender): `change` again, on the row locked.
        return current, await self.update_message(current["id"], change)
