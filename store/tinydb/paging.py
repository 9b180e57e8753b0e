"""The TinyDB store's pages (Store.jobs_page and the rest): keyset positions over the in-memory orders.

A page reads what it shows and nothing more: job pages walk the job index
from the position down (or along the order of changes); a job's page reads
that one conversation file; a phone's page finds its rows in the PhoneLog
and reads only their files. So a page costs the same at 200k texts as at
1k (bench/bench_paging.py).

Positions (`Page.after`) are JSON lists only this module reads:
    jobs, newest first        [id]
    jobs changed since        [updated_at, id]
    a job's or phone's texts  [created_at, message id]
    phones with consent       [md5 of the phone]
Anything else is a ValidationError naming `cursor`. These are functions of
the core (same package), run under its mutex like its own methods.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from bot.consent import HISTORY as CONSENT_HISTORY
from bot.errors import NotFound, ValidationError
from store.base import Job, Message, Page
from store.files import read_json
from store.roles.consent import consent_order
from store.tinydb.indexes import phone_partition

if TYPE_CHECKING:
    from store.tinydb.documents import Documents

# With a status filter, a page sorts the matching ids when they are this few, and otherwise walks
# the ids down from the position (a frequent status matches often enough that the walk is short).
SORT_AT_MOST = 2048


def _bad_cursor() -> ValidationError:
    return ValidationError("cursor", "is not one this list gave; start again without it")


def _position(after: list[Any] | None, *types: type) -> list[Any] | None:
    """`after` if it is a list of exactly these types (bool is no int here), else a ValidationError."""
    if after is None:
        return None
    if not isinstance(after, list) or len(after) != len(types):
        raise _bad_cursor()
    for value, kind in zip(after, types, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _bad_cursor()
    return after


def _page(core: Documents, found: list[Job], limit: int, position: Any) -> Page:
    rows = found[:limit]
    for job in rows:
        core._saw(str(job["id"]))  # never show a job before its write is on disk
    return Page(rows, position(rows[-1]) if len(found) > limit else None)


def _wanted(job: Job, statuses: set[str] | None, phone: str | None) -> bool:
    return (statuses is None or job["status"] in statuses) and (phone is None or job["customer_phone"] == phone)


def jobs_page(
    core: Documents, statuses: Iterable[str] | None, phone: str | None, after: list[Any] | None, limit: int
) -> Page:
    position = _position(after, int)
    index, order = core.index, core.index.job_order
    below = min(position[0], order.highest + 1) if position else order.highest + 1  # a forged id walks no further
    wanted = set(statuses) if statuses else None
    ids: Iterable[int]
    if phone is not None:
        ids = sorted((i for i in index.by_phone.get(phone, ()) if i < below), reverse=True)
    elif wanted and sum(len(order.by_status.get(s, ())) for s in wanted) <= SORT_AT_MOST:
        ids = sorted((i for s in wanted for i in order.by_status.get(s, ()) if i < below), reverse=True)
    else:
        ids = range(below - 1, order.lowest - 1, -1)  # ids are dense: a sequence, and jobs are never deleted
    found = []
    for job_id in ids:
        job = index.jobs.get(job_id)
        if job is not None and _wanted(job, wanted, phone):
            found.append(job)
            if len(found) > limit:
                break
    return _page(core, found, limit, lambda job: [job["id"]])


def jobs_changed_page(
    core: Documents,
    since: str,
    statuses: Iterable[str] | None,
    phone: str | None,
    after: list[Any] | None,
    limit: int,
) -> Page:
    position = _position(after, str, int)
    changed = core.index.job_order.changed()
    start = bisect.bisect_left(changed, (since, 0))
    if position is not None:
        start = max(start, bisect.bisect_right(changed, (position[0], position[1])))
    wanted = set(statuses) if statuses else None
    found = []
    for _, job_id in _from(changed, start):
        job = core.index.jobs[job_id]
        if _wanted(job, wanted, phone):
            found.append(job)
            if len(found) > limit:
                break
    return _page(core, found, limit, lambda job: [job["updated_at"], job["id"]])


def _from(items: list[tuple[str, int]], start: int) -> Iterator[tuple[str, int]]:
    for at in range(start, len(items)):
        yield items[at]


def _message_position(core: Documents, after: list[Any] | None) -> tuple[str, str, int] | None:
    """(created_at, partition, doc id) after which a message page starts."""
    position = _position(after, str, str)
    if position is None:
        return None
    try:
        pid, doc_id = core.index.ids.split(position[1])
    except NotFound:
        raise _bad_cursor() from None
    return position[0], pid, doc_id


def _conversation(core: Documents, pid: str) -> dict[int, dict[str, Any]]:
    """A partition's messages by doc id: its file's, then the journal's over them (as _partition_messages)."""
    core._saw(pid)
    data = read_json(core._file(pid)) or {}
    docs = {int(doc_id): doc for doc_id, doc in data.get("messages", {}).items()}
    docs.update(core._overlay_docs(pid, "messages"))
    return docs


def _message_page(core: Documents, rows: list[Message], limit: int) -> Page:
    shown = rows[:limit]
    after = [shown[-1]["created_at"], shown[-1]["id"]] if len(rows) > limit else None
    return Page(shown, after)


def job_messages_page(core: Documents, job_id: int, after: list[Any] | None, limit: int) -> Page:
    core.get_job(job_id)
    pid = str(job_id)
    position = _message_position(core, after)
    if position is not None and position[1] != pid:
        raise _bad_cursor()
    # job_messages' order: by time, ties in the order written (doc ids).
    keyed = sorted(((doc["created_at"], doc_id), doc) for doc_id, doc in _conversation(core, pid).items())
    start = 0 if position is None else bisect.bisect_right(keyed, (position[0], position[2]), key=lambda kd: kd[0])
    make_id = core.index.ids.make
    rows = [{**doc, "id": make_id(pid, key[1])} for key, doc in keyed[start : start + limit + 1]]
    return _message_page(core, rows, limit)


def phone_messages_page(core: Documents, phone: str, after: list[Any] | None, limit: int) -> Page:
    keys = core.index.phone_log.after(phone, _message_position(core, after), limit + 1)
    files: dict[str, dict[int, dict[str, Any]]] = {}
    rows: list[Message] = []
    for _, pid, doc_id in keys:
        if pid not in files:
            files[pid] = _conversation(core, pid)
        doc = files[pid].get(doc_id)
        if doc is not None:  # (a write that failed after its doc id was taken leaves a key to nothing)
            rows.append({**doc, "id": core.index.ids.make(pid, doc_id)})
    core._saw(phone_partition(phone))
    return _message_page(core, rows, limit)


def consent_page(core: Documents, after: list[Any] | None, limit: int) -> Page:
    """Phones with a consent history, by digest (Store.consent_page): the states are in memory."""
    position = _position(after, str)
    keyed = sorted(
        (consent_order(phone), phone)
        for phone, state in core.index.phone_state.items()
        if isinstance(state.get(CONSENT_HISTORY), list)
    )
    start = bisect.bisect_right(keyed, (position[0], "\uffff")) if position else 0
    chosen = keyed[start : start + limit + 1]
    rows = []
    for _, phone in chosen[:limit]:
        core._saw(phone_partition(phone))  # never show a state before its write is on disk
        rows.append({"phone": phone, "state": dict(core.index.phone_state[phone])})
    return Page(rows, [chosen[limit - 1][0]] if len(chosen) > limit else None)


def phone_states(core: Documents, phones: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Store.phone_states: from memory."""
    found = {}
    for phone in set(phones):
        if phone in core.index.phone_state:
            core._saw(phone_partition(phone))
            found[phone] = dict(core.index.phone_state[phone])
    return found
