"""The store's write-ahead journal: every write is one appended line, made durable by fdatasync.

    data/qdn.journal.000007      segments, oldest first; the last one is appended to

A write is acknowledged once its line is on disk. That costs one append and
one fdatasync -- the floor for any durable write -- instead of rewriting a
conversation file (temp file, fsync, rename, folder fsync). And one
fdatasync covers every line written before it, so writes that arrive while
one is in flight share the next ("group commit"): the disk's flush rate no
longer caps the number of writes a second.

The conversation files are brought up to date later, in the background
(`Partitions` checkpoints, store/tinydb/partitions.py), after which the segments they cover are deleted.

Crash safety:
- A line is `{"w": [[partition, table, doc_id, doc], ...]}`: every document a
  write sets, whole. Replaying a line twice gives the same state, so a crash
  at any moment of a checkpoint is repaired by replaying the segments again.
- A segment can end in a torn line: a kill or power cut mid-append, or an
  append that a full disk cut short before this process could cut it off
  (and a checkpoint then started the next segment). Such a line was never
  acknowledged, since a line is acknowledged only once it and all before it
  are synced. Whatever follows a segment's last whole line is cut off at
  start-up, with a warning giving the byte count, and kept beside the
  journal (`.torn`) for a person to look at. Only a damaged line with whole
  lines after it in the same segment is real damage, which stops start-up.
- An append that fails (a full disk) is cut off at once, so the segment ends
  in whole lines and the next write, once there is space, simply succeeds.
- Before a new segment is used, the old one is fdatasync'ed and the new
  one's folder entry fsync'ed, so a later sync never leaves an older line behind.
- After a failed fdatasync the kernel may have dropped the unsynced pages
  (and forgotten the error), so the journal refuses every later write
  (StoreError) until the store has reloaded itself from disk and rewritten
  what it read as files (`Partitions.recover`).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.errors import StoreCorrupt, StoreError
from store import codec
from store.files import fsync_dir

log = logging.getLogger("qdn.store")

Op = list[Any]  # [partition, table, doc_id, doc]


def encode(ops: list[Op]) -> bytes:
    return codec.dumps({"w": ops}) + b"\n"


def _parse(line: bytes) -> list[Op] | None:
    """The ops of one journal line, or None if it is not a whole, well-formed line."""
    try:
        ops = codec.loads(line)["w"]
    except (ValueError, KeyError, TypeError):
        return None
    return ops if isinstance(ops, list) else None


def _any_whole_line(data: bytes, end: int) -> bool:
    """Whether a well-formed line follows the line ending at `end` (-1: there is no end)."""
    while end >= 0:
        start, end = end + 1, data.find(b"\n", end + 1)
        if end >= 0 and _parse(data[start:end]) is not None:
            return True
    return False


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
            yield from self._read(segment)
        if segments:
            self._segment = segments[-1]
            self._fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND)
            self.active_size = self._segment.stat().st_size
        else:
            self._start_segment(1)

    def _read(self, segment: Path) -> Iterator[list[Op]]:
        data = segment.read_bytes()
        offset = 0
        while offset < len(data):
            end = data.find(b"\n", offset)
            ops = _parse(data[offset:end]) if end >= 0 else None
            if ops is None:
                if _any_whole_line(data, end):
                    raise StoreCorrupt(f"{segment} is damaged at byte {offset}; restore the data folder from a backup")
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
        log.warning("%s ended in a torn write (never acknowledged): cut off %d bytes, kept in %s",
                    segment.name, len(data) - offset, torn.name)  # fmt: skip

    def _start_segment(self, number: int) -> None:
        segment = self.base.with_name(f"{self.base.name}.{number:06d}")
        fd = os.open(segment, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fsync_dir(self.base.parent)
        except OSError:
            os.close(fd)
            segment.unlink(missing_ok=True)
            raise
        self._segment, self._fd, self.active_size = segment, fd, 0

    # -- writing ------------------------------------------------------------

    def append(self, ops: list[Op]) -> int:
        """Append one write (not yet durable); returns the position `sync` must reach for it."""
        if self.failed is not None:
            raise StoreError(f"the store's journal could not be synced ({self.failed}); it is being reloaded")
        assert self._fd is not None
        line = encode(ops)
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, "no space left on device (a short write)")
        except OSError as error:
            self._cut_failed_append(error)
            raise StoreError(f"the store could not write ({error.strerror or error}); nothing was saved") from None
        self.written += written
        self.active_size += written
        return self.written

    def _cut_failed_append(self, error: OSError) -> None:
        """Cut off what a failed append left, so the segment ends in whole lines and the next append can work."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self.active_size)  # shrinking needs no space, even on a full disk
        except OSError as cut_error:
            # The torn bytes stay, and a later line must not follow them: refuse writes until a
            # reload, which cuts the torn tail off (`replay`).
            self.failed = cut_error
        log.error("the store could not write to %s: %s", self._segment, error)

    def sync(self) -> None:
        """Make everything appended so far durable (called off the event loop)."""
        with self._sync_lock:
            target = self.written
            if self.synced >= target:
                return
            if self.failed is not None:
                raise StoreError(f"the store's journal could not be synced ({self.failed}); it is being reloaded")
            assert self._fd is not None
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self.failed = error
                raise StoreError(f"the store's journal could not be synced ({error})") from None
            self.synced = max(self.synced, target)

    def rotate(self) -> list[Path]:
        """Start a new segment; returns the finished ones (deleted by `drop` once checkpointed).

        The old segment stays the one appended to until the new one exists: a full
        disk that refuses the new file leaves the journal as it was.
        """
        with self._sync_lock:
            assert self._fd is not None and self._segment is not None
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self.failed = error
                raise StoreError(f"the store's journal could not be synced ({error})") from None
            self.synced = self.written
            finished = self.segments()
            old_fd = self._fd
            try:
                self._start_segment(int(self._segment.suffix[1:]) + 1)
            except OSError as error:
                raise StoreError(f"could not start a new journal segment ({error})") from None
            os.close(old_fd)
        return finished

    @staticmethod
    def drop(segments: list[Path]) -> None:
        for segment in segments:
            segment.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the segment being appended to; `replay` opens the journal again (positions go on counting)."""
        with self._sync_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            # Whatever was appended and not synced has been reported as failed to its writers; a
            # reader after a reload must not wait for it.
            self.synced = self.written
