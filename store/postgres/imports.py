"""A whole store as rows, on PostgreSQL: `phones` and `import_rows` (Store; `qdn store copy`, store/copy.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.jobs import utc_now
from store.base import Job, Message, PhoneState
from store.postgres.rows import is_bigint, job_columns
from store.postgres.scope import BusinessScope
from store.postgres.writes import Write


class ImportStore(BusinessScope):
    """Reading and writing a store whole (methods of PostgresStore)."""

    async def phones(self) -> list[str]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                """SELECT phone FROM phones WHERE business = $1
                UNION SELECT DISTINCT phone FROM messages WHERE business = $1 AND job_id IS NULL""",
                self.business,
            )
        return sorted(row["phone"] for row in rows)

    async def import_rows(
        self,
        *,
        jobs: Iterable[Job] = (),
        messages: Iterable[Message] = (),
        phones: Mapping[str, PhoneState] | None = None,
    ) -> None:
        job_rows, message_rows = list(jobs), list(messages)
        async with self._write() as write:
            await self._import_jobs(write, job_rows)
            await self._check_messages(write, message_rows, {job["id"] for job in job_rows})
            await write.add_messages(message_rows, utc_now(), stamp=False)  # a pending one wakes the senders at commit
            for phone, state in (phones or {}).items():
                await write.conn.execute(
                    """INSERT INTO phones (business, phone, state) VALUES ($1, $2, $3)
                    ON CONFLICT (business, phone) DO UPDATE SET state = EXCLUDED.state""",
                    self.business,
                    phone,
                    dict(state),
                )

    async def _import_jobs(self, write: Write, jobs: list[Job]) -> None:
        ids = [job["id"] for job in jobs]
        if not jobs:
            return
        if not all(is_bigint(job_id) for job_id in ids) or len(set(ids)) != len(ids):
            raise ValueError("job ids must be distinct integers")
        taken = await write.conn.fetch(
            "SELECT id FROM jobs WHERE business = $1 AND id = ANY($2::bigint[]) ORDER BY id", self.business, ids
        )
        if taken:
            raise ValueError(f"job {taken[0]['id']} exists already")
        for job in jobs:
            token_kept = await write.conn.fetchval(
                "INSERT INTO tracking_tokens (token, business, job_id) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true",
                job["token"],
                self.business,
                job["id"],
            )
            if not token_kept:  # here, given twice, or another business's
                raise ValueError(f"job {job['id']}'s tracking token is taken")
            await write.conn.execute(
                """INSERT INTO jobs (business, id, token, status, customer_phone, reminder_due_at, updated_at, doc)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                self.business,
                job["id"],
                *job_columns(job),
                job,
            )
        # A later create_job allocates past the highest id imported.
        await write.conn.execute(
            """INSERT INTO job_counters (business, last_id) VALUES ($1, $2)
            ON CONFLICT (business) DO UPDATE SET last_id = GREATEST(job_counters.last_id, EXCLUDED.last_id)""",
            self.business,
            max(ids),
        )

    async def _check_messages(self, write: Write, messages: list[Message], imported: set[int]) -> None:
        wanted = {m["job_id"] for m in messages if m.get("job_id") is not None} - imported
        if wanted:
            if not all(is_bigint(job_id) for job_id in wanted):
                raise ValueError("a message names a job id that is no integer")
            found = await write.conn.fetch(
                "SELECT id FROM jobs WHERE business = $1 AND id = ANY($2::bigint[])", self.business, list(wanted)
            )
            missing = wanted - {row["id"] for row in found}
            if missing:
                raise ValueError(f"a message names job {min(missing)}, which is neither stored nor imported")
        for message in messages:
            sid = message.get("twilio_sid")
            if sid and not await write.claim_sid(sid):
                raise ValueError(f"a message with Twilio SID {sid} exists already")
