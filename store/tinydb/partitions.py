"""One TinyDB store's partitions: the files, the journal's overlay over them, every write's commit, checkpoints.

`Partitions` holds what the store keeps in memory -- its `Journal` and its `Indexes` (objects
of their own), the overlay of documents the journal holds beyond the files, the journal
positions reads wait for -- and the helpers every write and read goes through; it opens the
store (the start-up scan and replay), runs the checkpoint thread and recovers from a failed
sync. store/tinydb/documents.py reads and writes jobs, messages and phones over it (has-a).
See store/tinydb/store.py for the layout and why.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.errors import StoreCorrupt, StoreError
from bot.jobs import utc_now
from store import codec, events
from store.base import Job, Message, Once
from store.files import FilesLock, FolderLock, StagedFiles, read_json, write_atomically
from store.tinydb import outbox
from store.tinydb.indexes import Indexes, home
from store.tinydb.journal import Journal, Op

SCHEMA_VERSION = 1
IDLE_SECONDS = 2.0
log = logging.getLogger("qdn.store")

# A checkpoint starts when the journal's active segment passes this size (about 15,000 webhooks),
# or when writes pause for IDLE_SECONDS. It bounds the journal replayed at start-up, and the memory
# the journal's documents take until their files catch up. Under load, a bigger journal means fewer
# file rewrites per webhook (a conversation written twice is rewritten once), for more memory and
# a longer start-up after a crash: 38 MB replayed in 0.4 s and peaked at 258 MB (docs/performance.md).
CHECKPOINT_BYTES = 16 * 1024 * 1024

# partition id -> table -> doc id -> document: what the journal holds beyond the files.
Overlay = dict[str, dict[str, dict[int, dict[str, Any]]]]


class Partitions:
    """One store's files, journal, indexes and overlay. Every public method must be called holding `mutex`."""

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

    # -- opening ------------------------------------------------------------

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        # The scan allocates millions of short-lived objects and keeps ~100k: without the
        # collector running over and over meanwhile it takes half the time. Afterwards the
        # indexes are frozen out of the collector's sight, so a full collection does not walk
        # the whole history (tens of ms in the middle of a request with 200k texts).
        gc.disable()
        try:
            self.files_lock.open()  # now, so that a checkpoint never fails to open it (a full disk)
            self._open_locked()
        except BaseException:
            self.journal.close()
            self.files_lock.close()
            self._lock.release()
            raise
        finally:
            gc.enable()
        gc.freeze()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="tinydb-checkpoint", daemon=True)
        self._checkpointer.start()

    def _open_locked(self) -> None:
        data = read_json(self.path)
        if data is not None and (not isinstance(data, dict) or not isinstance(data.get("meta", {}).get("1"), dict)):
            raise StoreCorrupt(f"{self.path} is not a QDN store; move it away or fix DATABASE_URL")
        meta = (data or {}).get("meta", {}).get("1", {"schema": SCHEMA_VERSION})
        if "id_key" not in meta:  # the key behind phone-free message ids; made once, kept forever
            meta = {**meta, "id_key": secrets.token_hex(16)}
            write_atomically(self.path, codec.dumps({"meta": {"1": meta}}))
        self.index = Indexes(bytes.fromhex(meta["id_key"]))
        self.jobs_dir.mkdir(exist_ok=True)
        self.phones_dir.mkdir(exist_ok=True)
        self.outbox_dir.mkdir(exist_ok=True)
        self._remove_torn_temp_files()
        for folder, prefix in ((self.jobs_dir, ""), (self.phones_dir, "p"), (self.outbox_dir, outbox.PREFIX)):
            for file in folder.glob("*.json"):
                data = self._read_partition(file)
                if not prefix and not data.get("job", {}).get("1"):
                    raise StoreCorrupt(f"{file} holds no job; restore it or move it away")
                pid = prefix + file.stem
                put_message, make_id = self.index.put_message, self.index.ids.make
                for table, docs in data.items():
                    if table == "messages" and docs:  # the bulk of the scan: keep it tight
                        for doc_id, doc in docs.items():
                            put_message(make_id(pid, doc_id), doc)
                        self.index.last_doc[pid] = max(map(int, docs))
                        self.index.phone_log.add_file(pid, docs)
                        continue
                    for doc_id, doc in docs.items():
                        self._index(pid, table, int(doc_id), doc)
        for ops in self.journal.replay():
            self._apply(ops)

    def _remove_torn_temp_files(self) -> None:
        # A crash between mkstemp and os.replace leaves a temp file; the real
        # file (and the journal) still hold the last complete write.
        for folder in (self.path.parent, self.jobs_dir, self.phones_dir, self.outbox_dir):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _read_partition(file: Path, *, missing_ok: bool = False) -> dict[str, dict[str, Any]]:
        data = read_json(file)
        if data is None and missing_ok:  # a conversation's first checkpoint
            return {}
        if not isinstance(data, dict):
            raise StoreCorrupt(f"{file} is not a TinyDB file; restore it or move it away")
        return data

    def close(self) -> None:
        """Stop the checkpoint thread, bring every file up to date, release the folder."""
        self._closing = True
        self._wake.set()
        try:
            if self._checkpointer is not None:
                self.mutex.release()  # the checkpoint thread needs it to finish
                try:
                    self._checkpointer.join()
                finally:
                    self.mutex.acquire()
            with self.files_lock.held_if_free() as held:
                if held:  # else a backup is copying the files: the journal keeps it all, replayed at the next start
                    self._checkpoint_locked()
        finally:
            self.journal.close()
            self.files_lock.close()
            self._lock.release()

    def ping(self) -> None:
        if self.journal.failed is not None:
            raise StoreError(f"the journal could not be synced ({self.journal.failed})")
        if not self.path.exists():
            raise StoreError(f"{self.path} is missing")
        read_json(self.path)

    # -- checkpoints --------------------------------------------------------

    def _checkpoint_loop(self) -> None:
        failing = False  # the last checkpoint failed: its error is logged once, not every round
        while not self._closing:
            self._wake.wait(IDLE_SECONDS)
            self._wake.clear()
            # While `qdn store backup` copies the files (store/tinydb/backup.py), they stay as they are:
            # writes go on into the journal, and the next round after the copy catches up.
            with self.files_lock.held_if_free() as held:
                if held:
                    failing = self._checkpoint_round(failing)

    def _checkpoint_round(self, failing: bool) -> bool:
        """One round of the checkpoint thread, holding the files lock; returns whether it failed."""
        try:
            with self.mutex:
                if self._closing:
                    return failing
                if self.journal.failed is not None:
                    self._try_to_recover()
                    return failing
                idle = time.monotonic() - self._last_write >= IDLE_SECONDS
                if not (self.frozen or (self.live and (idle or self.journal.active_size >= CHECKPOINT_BYTES))):
                    return failing
                segments = self._freeze()
            self._write_frozen()
        except (StoreError, OSError) as error:  # e.g. a full disk; the journal keeps it all, so retry
            if not failing:
                log.error("checkpoint failed (%s); the journal keeps everything until a retry succeeds", error)
            return True
        if failing:
            log.warning("checkpoint succeeded again")
        with self.mutex:
            self._thaw(segments)
            self._prune_outbox()
        return False

    def _try_to_recover(self) -> None:
        try:
            self.recover()
        except (StoreError, OSError) as error:
            log.error("the store is still unusable (%s); trying again in %.0f s", error, IDLE_SECONDS)
        else:
            log.warning("the store reloaded itself from disk and takes writes again")

    def recover(self) -> None:
        """After a failed fdatasync: reload everything from disk, then take writes again.

        What was appended since the last good sync was reported as failed to its
        writers, but the kernel may or may not have kept it; either way the
        memory must match the disk, so the store reads itself anew, as at
        start-up. Lines read back from the page cache may never reach the disk
        (a failed writeback's pages are marked clean), so before any new write
        is taken everything is rewritten as files: temp file, fsync, rename.
        Call holding `mutex`; raises (and stays failed) while the disk refuses.
        """
        failure = self.journal.failed
        self.journal.close()
        self.live, self.frozen, self._covered, self.written_at = {}, {}, [], {}
        self._open_locked()  # replays the journal and opens it for appends again
        self.journal.failed = failure  # no write until what was read is safe in files
        self._checkpoint_locked()
        self.journal.failed = None

    def _freeze(self) -> list[Path]:
        """Start a checkpoint: what is written so far stops changing (a retry keeps the earlier freeze)."""
        if not self.frozen:
            self._covered = self.journal.rotate()
            self.frozen, self.live = self.live, {}
        return self._covered

    def _write_frozen(self) -> None:
        """Each changed partition file rewritten once; all of them made durable together."""
        staged = StagedFiles()
        try:
            for pid, tables in self.frozen.items():
                file = self._file(pid)
                data = self._read_partition(file, missing_ok=True)
                for table, docs in tables.items():
                    stored = data.setdefault(table, {})
                    for doc_id, doc in docs.items():
                        stored[str(doc_id)] = doc
                staged.write(file, codec.dumps(data))
            staged.commit()
        except BaseException:
            staged.discard()
            raise

    def _thaw(self, segments: list[Path]) -> None:
        self.frozen = {}
        self._covered = []
        self.journal.drop(segments)

    def _prune_outbox(self) -> None:
        """Once an hour: forget expired keys, and delete outbox days nothing needs (store/tinydb/outbox.py)."""
        now = utc_now()
        if now[:13] == self._pruned_at[:13]:
            return
        self._pruned_at = now
        busy = set(self.live) | set(self.frozen)
        for pid in self.index.outbox.prune(now, busy):
            self._file(pid).unlink(missing_ok=True)
            self.written_at.pop(pid, None)

    def _checkpoint_locked(self) -> None:
        while self.live or self.frozen:  # twice if an earlier checkpoint failed and left its freeze
            segments = self._freeze()
            self._write_frozen()
            self._thaw(segments)
