"""The TinyDB core's state and partitions: the journal's overlay over the files, and every write's commit.

`Partitions` holds what the core keeps in memory (indexes, the overlay of documents the
journal holds beyond the files, the journal positions reads wait for) and the helpers every
write and read goes through. store/tinydb/documents.py builds jobs, messages and phones on it;
store/tinydb/engine.py adds opening and checkpoints (`TinyDBCore`). See store/tinydb/store.py
for the layout and why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.jobs import utc_now
from store import events
from store.base import Job, Message, Once
from store.files import FilesLock, FolderLock, read_json
from store.tinydb import outbox
from store.tinydb.indexes import Indexes, home
from store.tinydb.journal import Journal, Op

# A checkpoint starts when the journal's active segment passes this size (about 15,000 webhooks),
# or when writes pause for IDLE_SECONDS (engine.py). It bounds the journal replayed at start-up, and the memory
# the journal's documents take until their files catch up. Under load, a bigger journal means fewer
# file rewrites per webhook (a conversation written twice is rewritten once), for more memory and
# a longer start-up after a crash: 38 MB replayed in 0.4 s and peaked at 258 MB (docs/performance.md).
CHECKPOINT_BYTES = 16 * 1024 * 1024

# partition id -> table -> doc id -> document: what the journal holds beyond the files.
Overlay = dict[str, dict[str, dict[int, dict[str, Any]]]]


class Partitions:
    """The core's state and partition helpers (store/tinydb/engine.py: `TinyDBCore` is the whole)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jobs_dir = path.with_name(path.stem + ".jobs")
        self.phones_dir = path.with_name(path.stem + ".phones")
        self.outbox_dir = path.with_name(path.stem + ".outbox")  # events and idempotency keys (store/tinydb/outbox.py)
        self.media_dir = path.with_name(path.stem + ".media")  # pictures (store/tinydb/media.py)
        self.events_enabled = False  # Store.enable_events: writes queue their dashboard events
        self._pruned_at = ""  # when the outbox was last pruned (ISO UTC)
        self.journal = Journal(path.with_name(path.stem + ".journal"))
        self.mutex = threading.Lock()
        self._lock = FolderLock(path.with_name(path.name + ".lock"))
        # Held by each checkpoint as it rewrites files, and by `qdn store backup` as it copies them.
        self.files_lock = FilesLock(path.with_name(path.name + ".files.lock"))
        self.index: Indexes  # made once the store's metadata (and its id key) is read
        # Journal position of each partition's last write, and the highest such position the
        # current call read or wrote: a read need only wait for the fdatasync that covers what it
        # saw, not for other conversations' writes in flight. One entry per partition ever written.
        self.written_at: dict[str, int] = {}
        self.seen = 0
        self.live: Overlay = {}  # written since the last checkpoint began
        self.frozen: Overlay = {}  # being written to the files by the running checkpoint
        self._covered: list[Path] = []  # journal segments the frozen overlay came from
        self._wake = threading.Event()
        self._closing = False
        self._last_write = time.monotonic()
        self._checkpointer: threading.Thread | None = None

    # -- partitions ---------------------------------------------------------

    def _file(self, pid: str) -> Path:
        if pid.startswith("p"):
            return self.phones_dir / f"{pid[1:]}.json"
        if pid.startswith(outbox.PREFIX):
            return self.outbox_dir / f"{pid[1:]}.json"
        return self.jobs_dir / f"{pid}.json"

    def _index(self, pid: str, table: str, doc_id: int, doc: dict[str, Any]) -> None:
        if table == "messages":
            self.index.put_message(self.index.ids.make(pid, doc_id), doc)
            self.index.last_doc[pid] = max(doc_id, self.index.last_doc.get(pid, 0))
            self.index.phone_log.add(pid, doc_id, doc)
        elif table == "job":
            self.index.put_job(doc)
        elif table == "state":
            self.index.put_phone_state("+" + pid[1:], doc)
        elif table in ("events", "keys"):
            self.index.outbox.put(pid, table, doc_id, doc)

    def _outbox_ops(
        self,
        once: Once | None = None,
        result: Any = None,
        *,
        new: Iterable[Message] = (),
        job: tuple[Job, Job] | None = None,
        message: tuple[Message, Message] | None = None,
    ) -> list[Op]:
        """The dashboard events a write causes (store/events.py) and `once`'s key, to commit with it."""
        queued: list[dict[str, Any]] = []
        if self.events_enabled:
            now = utc_now()
            queued = events.for_new_messages(new, now)
            if job is not None:
                queued += events.for_job_change(*job, now)
            if message is not None:
                queued += events.for_message_change(*message, now)
        return self.index.outbox.ops(queued, once, result) if queued or once else []

    def _saw(self, pid: str) -> None:
        """The current call's answer depends on partition `pid`."""
        self.seen = max(self.seen, self.written_at.get(pid, 0))

    def _apply(self, ops: list[Op]) -> None:
        for pid, table, doc_id, doc in ops:
            self.live.setdefault(pid, {}).setdefault(table, {})[doc_id] = doc
            self._index(pid, table, doc_id, doc)

    def _commit(self, ops: list[Op]) -> None:
        """One atomic write: journaled (durable once the journal syncs), then visible."""
        position = self.journal.append(ops)
        for op in ops:
            self.written_at[op[0]] = position
        self.seen = position
        self._apply(ops)
        self._last_write = time.monotonic()
        if self.journal.active_size >= CHECKPOINT_BYTES:
            self._wake.set()

    def _message_ops(self, messages: Iterable[Message], now: str) -> tuple[list[Op], list[Message]]:
        ops, stored = [], []
        for message in messages:
            pid = home(message)
            doc_id = self.index.last_doc.get(pid, 0) + 1
            self.index.last_doc[pid] = doc_id
            doc = {**message, "created_at": message.get("created_at") or now, "updated_at": now}
            doc.pop("id", None)
            ops.append([pid, "messages", doc_id, doc])
            stored.append({**doc, "id": self.index.ids.make(pid, doc_id)})
        return ops, stored

    def _overlay_docs(self, pid: str, table: str) -> dict[int, dict[str, Any]]:
        docs = dict(self.frozen.get(pid, {}).get(table, {}))
        docs.update(self.live.get(pid, {}).get(table, {}))
        return docs

    def _partition_messages(self, pid: str) -> list[Message]:
        """Every message of a partition: the file's, then the journal's over them."""
        self._saw(pid)
        data = read_json(self._file(pid)) or {}
        docs = {int(doc_id): doc for doc_id, doc in data.get("messages", {}).items()}
        docs.update(self._overlay_docs(pid, "messages"))
        make_id = self.index.ids.make
        return [{**doc, "id": make_id(pid, doc_id)} for doc_id, doc in sorted(docs.items())]
