"""Crash-safe file primitives under the TinyDB store.

TinyDB's own JSONStorage rewrites the file in place (seek, write, truncate),
so a crash mid-write leaves half a file. Here a file is replaced by writing a
temp file, flushing it, `os.replace`-ing it over the old one and fsyncing the
folder, so a reader sees either the old state or the new one, never a mix:
one file at a time (`write_atomically`) or many for one flush (`StagedFiles`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.errors import StoreCorrupt, StoreLocked
from store import codec


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive power loss."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, content: str | bytes, *, sync_folder: bool = True) -> None:
    """Replace `path` with `content` (text as UTF-8): all of it or none of it, even after a crash.

    With sync_folder=False the rename is not yet durable: the caller fsyncs the
    folder once after several files (the store's checkpoint does).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode() if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_folder:
        fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    """The parsed content of `path`, or None when it does not exist.

    An empty or unparsable file raises StoreCorrupt naming it: it is never
    treated as an empty database, which would throw away what it held.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data.strip():
        raise StoreCorrupt(f"{path} is empty; restore it from a backup or move it away")
    try:
        return codec.loads(data)
    except codec.DecodeError as error:
        raise StoreCorrupt(f"{path} does not parse as JSON ({error}); restore it or move it away") from None


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError, TypeError):  # not Linux/glibc: fsync file by file instead
        return None


_syncfs = _load_syncfs()


def sync_filesystem(folder: Path) -> bool:
    """Flush everything written to `folder`'s filesystem, with one syncfs(2); False where there is none."""
    if _syncfs is None:
        return False
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs: {os.strerror(error)}")
    finally:
        os.close(fd)
    return True


class StagedFiles:
    """Replace many files at once, durably, for the price of one flush.

        staged = StagedFiles()
        staged.write(path, data)      # written beside `path` as .<name>.tmp, not yet synced
        staged.commit()               # one syncfs(2), then each renamed over its file, folders fsync'ed

    A crash before `commit` renames leaves the old files (and temp files, which
    the store removes at start-up); after it, each file is wholly old or new.
    Temp names are fixed, so only the process holding the store's FolderLock
    may use this. syncfs flushes the whole filesystem -- one journal commit
    instead of one per file -- and where it is missing each file is fsync'ed.
    """

    def __init__(self) -> None:
        self._pairs: list[tuple[Path, Path]] = []

    def write(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        self._pairs.append((tmp, path))

    def commit(self) -> None:
        if not self._pairs:
            return
        self._sync()
        for tmp, path in self._pairs:
            os.replace(tmp, path)
        for folder in {path.parent for _, path in self._pairs}:
            fsync_dir(folder)
        self._pairs = []

    def _sync(self) -> None:
        if sync_filesystem(self._pairs[0][0].parent):
            return
        for tmp, _ in self._pairs:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def discard(self) -> None:
        for tmp, _ in self._pairs:
            tmp.unlink(missing_ok=True)
        self._pairs = []


class FolderLock:
    """An exclusive, non-blocking flock: one process per data folder.

    The kernel drops the lock when the process dies, even by SIGKILL, so a
    crash never leaves a stale lock behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.path.read_text().strip() or "another process"
            raise StoreLocked(
                f"the data at {self.path.parent} is in use by process {holder}; "
                "stop it first, or point DATABASE_URL elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class FilesLock:
    """A blocking flock beside a store, that the service and `qdn store backup` share.

    The service's checkpoint takes it (without waiting) around each rewrite of the store's files, and
    a backup takes it (waiting for a checkpoint under way) while it copies them: so the files a backup
    reads stay as they are meanwhile, whichever process runs the service (store/tinydb/backup.py).
    Unlike FolderLock it keeps no process id: several processes take it in turn. The file stays open
    from the first `acquire` (or `open`) to `close`, so taking it again never needs a new file handle
    (a full disk, a process out of them).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock: wait for it, or (wait=False) return False at once if someone holds it."""
        self.open()
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the lock if held, and the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def held_if_free(self) -> Iterator[bool]:
        """`with lock.held_if_free() as held:` -- held (True) for the block, or False if someone else holds it."""
        held = self.acquire(wait=False)
        try:
            yield held
        finally:
            if held:
                self.release()
