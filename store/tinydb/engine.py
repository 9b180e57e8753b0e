"""The synchronous TinyDB store: opening (the start-up scan and replay) and checkpoints.

`TinyDBCore` is built in layers: store/tinydb/partitions.py (state, the journal overlay,
commits), store/tinydb/documents.py (jobs, messages, the send queue, reminders, phones)
and this module (opening, closing, ping, the checkpoint thread, recovery). See
store/tinydb/store.py for the layout and why; `TinyDBStore` there is the async face that
callers use.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from bot.errors import StoreCorrupt, StoreError
from bot.jobs import utc_now
from store import codec
from store.files import StagedFiles, read_json, write_atomically
from store.tinydb import outbox
from store.tinydb.documents import Documents
from store.tinydb.indexes import Indexes
from store.tinydb.partitions import CHECKPOINT_BYTES

SCHEMA_VERSION = 1
IDLE_SECONDS = 2.0
log = logging.getLogger("qdn.store")


class TinyDBCore(Documents):
    """The synchronous store. Every public method must be called holding `mutex` (`TinyDBStore` does)."""

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
