"""In-memory orders the TinyDB store's pages read (store/tinydb/paging.py), so a page never sorts history.

`JobOrder`: jobs by status and by last change (GET /jobs?updated_since).
`PhoneLog`: each phone's texts in `phone_messages` order (GET /messages?phone):
a dispatcher's texts are spread over thousands of job files, and a page must
read only the files its own rows are in.

Both are built by the start-up scan and kept up by every write (`_index`).
Lists sorted once are kept sorted by appending (new rows are nearly always
the latest) or by insertion; a list filled in any order is sorted on its
first read.
"""

from __future__ import annotations

import bisect
from typing import Any

LogKey = tuple[str, str, int]  # (created_at, partition, doc id): phone_messages' order (MessageIds.order)


class JobOrder:
    """Job ids by status, and (updated_at, id) in order, for the job pages."""

    def __init__(self) -> None:
        self.by_status: dict[str, set[int]] = {}
        self.highest = 0
        self.lowest = 0
        self._updated: dict[int, str] = {}
        self._changed: list[tuple[str, int]] = []
        self._sorted = True

    def put(self, old: dict[str, Any] | None, job: dict[str, Any]) -> None:
        job_id = job["id"]
        self.highest = max(self.highest, job_id)
        self.lowest = min(self.lowest or job_id, job_id)
        if old is not None:
            self.by_status.get(old["status"], set()).discard(job_id)
        self.by_status.setdefault(job["status"], set()).add(job_id)
        before = self._updated.get(job_id)
        if before == job["updated_at"]:
            return
        self._updated[job_id] = job["updated_at"]
        if not self._sorted:
            return
        if before is not None:
            where = bisect.bisect_left(self._changed, (before, job_id))
            if where < len(self._changed) and self._changed[where] == (before, job_id):
                del self._changed[where]
        key = (job["updated_at"], job_id)
        if not self._changed or self._changed[-1] <= key:
            self._changed.append(key)
        else:
            self._sorted = False  # e.g. the start-up scan, which meets files in no order

    def changed(self) -> list[tuple[str, int]]:
        """(updated_at, id) of every job, oldest change first."""
        if not self._sorted:
            self._changed = sorted((at, job_id) for job_id, at in self._updated.items())
            self._sorted = True
        return self._changed


class PhoneLog:
    """phone -> the keys of the texts to or from it (`phone` of the row), in `phone_messages` order."""

    def __init__(self) -> None:
        self._keys: dict[str, list[LogKey]] = {}
        self._unsorted: set[str] = set()
        # Partition -> highest doc id logged: a journal line replayed over the file it already
        # reached, or a text's later update, must not log the text twice.
        self._logged: dict[str, int] = {}

    def add_file(self, pid: str, docs: dict[str, dict[str, Any]]) -> None:
        """A conversation file's texts, at start-up (doc ids as the file spells them)."""
        highest = self._logged.get(pid, 0)
        for doc_id, doc in docs.items():
            number = int(doc_id)
            highest = max(highest, number)
            phone = doc.get("phone")
            if phone:
                self._keys.setdefault(phone, []).append((doc["created_at"], pid, number))
                self._unsorted.add(phone)
        self._logged[pid] = highest

    def add(self, pid: str, doc_id: int, doc: dict[str, Any]) -> None:
        """A text written (or replayed from the journal)."""
        if doc_id <= self._logged.get(pid, 0):
            return
        self._logged[pid] = doc_id
        phone = doc.get("phone")
        if not phone:
            return
        keys = self._keys.setdefault(phone, [])
        key = (doc["created_at"], pid, doc_id)
        if phone in self._unsorted or not keys or keys[-1] <= key:
            keys.append(key)
        else:  # stamped before a text already logged (a dispatcher's text after the status text it caused)
            bisect.insort(keys, key)

    def after(self, phone: str, key: LogKey | None, limit: int) -> list[LogKey]:
        """The keys of up to `limit` texts of `phone` after `key` (from the first if None)."""
        keys = self._keys.get(phone)
        if not keys:
            return []
        if phone in self._unsorted:
            keys.sort()
            self._unsorted.discard(phone)
        start = 0 if key is None else bisect.bisect_right(keys, key)
        return keys[start : start + limit]
