"""Dashboard pages on PostgreSQL: keyset positions, each page one index range scan.

Positions (`Page.after`) are the same JSON lists as the TinyDB backend's
(store/tinydb/paging.py), so a client cannot tell the backends apart:
    jobs, newest first        [id]                      WHERE id < $id ORDER BY id DESC
    jobs changed since        [updated_at, id]          WHERE (updated_at, id) > (...) ORDER BY updated_at, id
    a job's or phone's texts  [created_at, message id]  WHERE (created_at, seq) > (...) ORDER BY created_at, seq
    phones with consent       [md5(phone)]              WHERE md5(phone) > $digest ORDER BY md5(phone)
Anything else is a ValidationError naming `cursor`. A page reads `limit + 1` rows to know
whether another follows; its cost does not grow with the history behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.errors import ValidationError
from store.base import Page
from store.postgres.rows import BIGINT_MAX, message_of, message_seq, searchable
from store.postgres.scope import BusinessScope


def bad_cursor() -> ValidationError:
    return ValidationError("cursor", "is not one this list gave; start again without it")


def _position(after: list[Any] | None, *types: type) -> list[Any] | None:
    """`after` if it is a list of exactly these types (bool is no int here), else a ValidationError."""
    if after is None:
        return None
    if not isinstance(after, list) or len(after) != len(types):
        raise bad_cursor()
    for value, kind in zip(after, types, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not searchable(value)):
            raise bad_cursor()
    return after


class _Query:
    """A job query's conditions, built from what is asked (a plan per shape, each using its index)."""

    def __init__(self, business: str) -> None:
        self.where = ["business = $1"]
        self.args: list[Any] = [business]

    def add(self, condition: str, *values: Any) -> None:
        """`condition` with `$` for each value's placeholder, in order."""
        for value in values:
            self.args.append(value)
            condition = condition.replace("$?", f"${len(self.args)}", 1)
        self.where.append(condition)

    def filter(self, statuses: Iterable[str] | None, phone: str | None) -> _Query:
        if statuses is not None:
            wanted = list(statuses)
            if wanted:  # none given: no filter, as TinyDB reads an empty list
                self.add("status = ANY($?::text[])", wanted)
        if phone is not None:
            self.add("customer_phone = $?", phone if searchable(phone) else "")
        return self

    def sql(self, order: str, limit: int) -> str:
        self.args.append(limit)
        where = " AND ".join(self.where)  # this module's conditions; every value is a $n parameter
        return f"SELECT doc FROM jobs WHERE {where} ORDER BY {order} LIMIT ${len(self.args)}"  # noqa: S608


class PagingStore(BusinessScope):
    """Keyset pages (methods of PostgresStore)."""

    async def _jobs(self, query: _Query, order: str, limit: int) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(query.sql(order, limit), *query.args)
        return [row["doc"] for row in rows]

    async def list_jobs(self, *, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Any]:
        query = _Query(self.business).filter(statuses, phone)
        return await self._jobs(query, "id DESC", BIGINT_MAX)

    async def jobs_page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        position = _position(after, int)
        query = _Query(self.business).filter(statuses, phone)
        if position is not None:  # a forged id past every job starts at the newest
            query.add("id < $?", max(min(position[0], BIGINT_MAX), -BIGINT_MAX))
        found = await self._jobs(query, "id DESC", limit + 1)
        rows = found[:limit]
        return Page(rows, [rows[-1]["id"]] if len(found) > limit else None)

    async def jobs_changed_page(
        self,
        since: str,
        *,
        statuses: Iterable[str] | None = None,
        phone: str | None = None,
        after: list[Any] | None = None,
        limit: int,
    ) -> Page:
        position = _position(after, str, int)
        query = _Query(self.business).filter(statuses, phone)
        query.add("updated_at >= $?", since if searchable(since) else "")
        if position is not None:
            query.add("(updated_at, id) > ($?, $?)", position[0], max(min(position[1], BIGINT_MAX), -BIGINT_MAX))
        found = await self._jobs(query, "updated_at, id", limit + 1)
        rows = found[:limit]
        return Page(rows, [rows[-1]["updated_at"], rows[-1]["id"]] if len(found) > limit else None)

    async def _messages_page(self, where: str, value: Any, after: list[Any] | None, limit: int) -> Page:
        """A page of the messages `where` ($2 = `value`) selects, in conversation order."""
        position = _position(after, str, str)
        args: list[Any] = [self.business, value]
        condition = ""
        if position is not None:
            seq = message_seq(position[1])
            if seq is None:
                raise bad_cursor()
            args += [position[0], seq]
            condition = " AND (created_at, seq) > ($3, $4)"
        args.append(limit + 1)
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"""SELECT seq, doc FROM messages WHERE business = $1 AND {where}{condition}
                ORDER BY created_at, seq LIMIT ${len(args)}""",  # noqa: S608
                *args,
            )
        found = [message_of(row) for row in rows]
        shown = found[:limit]
        return Page(shown, [shown[-1]["created_at"], shown[-1]["id"]] if len(found) > limit else None)

    async def job_messages_page(self, job_id: int, *, after: list[Any] | None = None, limit: int) -> Page:
        await self._job_doc(job_id)  # NotFound
        return await self._messages_page("job_id = $2", job_id, after, limit)

    async def phone_messages_page(self, phone: str, *, after: list[Any] | None = None, limit: int) -> Page:
        return await self._messages_page("phone = $2", phone if searchable(phone) else "", after, limit)

    async def consent_page(self, *, after: list[Any] | None = None, limit: int) -> Page:
        """Phones with a consent history, by md5(phone) (migration 0006's index), as TinyDB lists them."""
        position = _position(after, str)
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                """SELECT phone, state, md5(phone) COLLATE "C" AS digest FROM phones
                WHERE business = $1 AND json_typeof(state->'consent') = 'array' AND md5(phone) COLLATE "C" > $2
                ORDER BY md5(phone) COLLATE "C" LIMIT $3""",
                self.business,
                position[0] if position else "",
                limit + 1,
            )
        shown = rows[:limit]
        page = [{"phone": row["phone"], "state": row["state"]} for row in shown]
        return Page(page, [shown[-1]["digest"]] if len(rows) > limit else None)

    async def phone_states(self, phones: Iterable[str]) -> dict[str, Any]:
        wanted = sorted({phone for phone in phones if searchable(phone)})
        if not wanted:
            return {}
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT phone, state FROM phones WHERE business = $1 AND phone = ANY($2::text[])", self.business, wanted
            )
        return {row["phone"]: row["state"] for row in rows}
