"""The store's write-ahead journal: every write is one appended line, made durable by fdatasync.

    data/qdn.journal.000007      segments, oldest first; the last one is appended to

A write is acknowledged once its line is on disk. That costs one append and
one fdatasync -- the floor for any durable write -- instead of rewriting a
conversation file (temp file, fsync, rename, folder fsync). And one
fdatasync covers every line written before it, so writes that arrive while
one is in flight share the next ("group commit"): the disk's flush rate no
longer caps the number of writes a second.

The conversation files are brought up to date later, in the background
(`TinyDBCore.checkpoint`), after which the segments they cover are deleted.

Crash safety:
- A line is `{"w": [[partition, table, doc_id, doc], ...]}`: every document a
  write sets, whole. Replaying a line twice gives the same state, so a crash
  at any moment of a checkpoint is repaired by replaying the segments again.
- Only the last segment can end in a torn line (a kill or power cut mid-
  append); such a line was never acknowledged. It is cut off at start-up and
  its bytes kept beside the journal (`.torn`) for a person to look at.
- Before a new segment is used, the old one is fdatasync'ed and the new
  one's folder entry fsync'ed, so a later sync never leaves an older line behind.
- After a failed fdatasync the kernel may have dropped the unsynced pages,
  so the journal refuses every later write (StoreError) until a restart.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.errors import StoreCorrupt, StoreError
from store import codec
from store.atomic import fsync_dir

log = logging.getLogger("qdn.store")

Op = list[Any]  # [partition, table, doc_id, doc]


def encode(ops: list[Op]) -> bytes:
    return codec.dumps({"w": ops}) + b"\n"


class Journal:
    """Append-only segments named `<base>.<n>`; positions count bytes across all segments."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._fd: int | None = None
        self._segment: Path | None = None
        self._sync_lock = threading.Lock()  # one fdatasync at a time, never during a rotation
        self.written = 0  # bytes appended since open
        self.synced = 0  # bytes known to be on disk
        self.active_size = 0  # bytes in the segment being appended to
        self.failed: OSError | None = None

    # -- start-up -----------------------------------------------------------

    def segments(self) -> list[Path]:
        found = [p for p in self.base.parent.glob(self.base.name + ".*") if p.suffix[1:].isdigit()]
        return sorted(found, key=lambda p: int(p.suffix[1:]))

    def replay(self) -> Iterator[list[Op]]:
        """Every write in the journal, oldest first; then the journal is open for appends."""
        segments = self.segments()
        for segment in segments:
            yield from self._read(segment, last=segment == segments[-1])
        if segments:
            self._segment = segments[-1]
            self._fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND)
            self.active_size = self._segment.stat().st_size
        else:
            self._start_segment(1)

    def _read(self, segment: Path, *, last: bool) -> Iterator[list[Op]]:
        data = segment.read_bytes()
        offset = 0
        while offset < len(data):
            end = data.find(b"\n", offset)
            try:
                if end < 0:
                    raise ValueError("no end of line")
                ops = codec.loads(data[offset:end])["w"]
            except (ValueError, KeyError, TypeError):
                if not last:
                    raise StoreCorrupt(
                        f"{segment} is damaged at byte {offset}; restore the data folder from a backup"
                    ) from None
                self._cut_torn_tail(segment, data, offset)
                return
            yield ops
            offset = end + 1

    @staticmethod
    def _cut_torn_tail(segment: Path, data: bytes, offset: int) -> None:
        torn = segment.with_name(segment.name + ".torn")
        with open(torn, "ab") as keep:
            keep.write(data[offset:])
            keep.flush()
            os.fsync(keep.fileno())
        os.truncate(segment, offset)
        fd = os.open(segment, os.O_WRONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        log.warning("%s ended in a torn write (never acknowledged); %d bytes kept in %s",
                    segment.name, len(data) - offset, torn.name)  # fmt: skip

    def _start_segment(self, number: int) -> None:
        self._segment = self.base.with_name(f"{self.base.name}.{number:06d}")
        self._fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fsync_dir(self.base.parent)
        self.active_size = 0

    # -- writing ------------------------------------------------------------

    def append(self, ops: list[Op]) -> int:
        """Append one write (not yet durable); returns the position `sync` must reach for it."""
        if self.failed is not None:
            raise StoreError(f"the store's journal could not be synced ({self.failed}); restart the service")
        assert self._fd is not None
        line = encode(ops)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: a short append must not be followed by another line
            self.failed = OSError(f"short write to {self._segment}")
            raise StoreError(f"the store's journal is full ({self._segment}); free disk space and restart")
        self.written += written
        self.active_size += written
        return self.written

    def sync(self) -> None:
        """Make everything appended so far durable (called off the event loop)."""
        with self._sync_lock:
            target = self.written
            if self.synced >= target:
                return
            if self.failed is not None:
                raise StoreError(f"the store's journal could not be synced ({self.failed}); restart the service")
            assert self._fd is not None
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self.failed = error
                raise StoreError(f"the store's journal could not be synced ({error}); restart the service") from None
            self.synced = max(self.synced, target)

    def rotate(self) -> list[Path]:
        """Start a new segment; returns the finished ones (deleted by `drop` once checkpointed)."""
        with self._sync_lock:
            assert self._fd is not None and self._segment is not None
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self.failed = error
                raise StoreError(f"the store's journal could not be synced ({error}); restart the service") from None
            self.synced = self.written
            os.close(self._fd)
            finished = self.segments()
            self._start_segment(int(self._segment.suffix[1:]) + 1)
        return finished

    @staticmethod
    def drop(segments: list[Path]) -> None:
        for segment in segments:
            segment.unlink(missing_ok=True)

    def close(self) -> None:
        with self._sync_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
