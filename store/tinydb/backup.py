"""`qdn store backup DIR` for TinyDB: a consistent copy of a deployment, taken while the service runs or not.

    report = back_up(Path("data/qdn.json"), Path("/backups/qdn-2026-12-07"), secrets=[Path("data/secret_key")])

The backup folder is laid out as the data folder is (store/tinydb/store.py, deployment.py), so a
service started on it (DATABASE_URL=tinydb:////backups/qdn-2026-12-07/qdn.json), or on a data
folder it was copied into, finds everything: each store's metadata (its message-id key),
partition files, journal and pictures, the business registry with every business's store, and
the secrets the service generated (SECRET_KEY unseals the businesses' Twilio secrets and signs
picture links; the API and admin tokens keep dashboards working).

Why it is consistent without stopping the service, which holds the store's lock: in a TinyDB
store only three things ever change a file.
- A write appends one whole line to the journal's last segment (and never changes an earlier
  byte); it is acknowledged once that line is synced. The copy takes each segment up to its
  last whole line, so it holds every write acknowledged before it began, and of the writes in
  flight a prefix in journal order: each write wholly or not at all, as after a crash.
- A checkpoint rewrites partition files (temp file + rename), deletes the segments they now
  cover, and prunes the outbox's old files. It does so holding the store's FilesLock, which the
  copy holds too (waiting for a checkpoint under way to end): while the partition files and
  the journal are copied, no file is rewritten and no segment deleted. Writes go on meanwhile,
  into the journal, and the checkpoint after the copy catches up.
- A picture is one file linked into place -- never deleted -- before any text names it; it is
  replaced only whole (temp file + rename: its header naming the message an inbox upload went
  with), so a copy reads one version or the other, each whole. Pictures are listed after the
  rows are copied, so every picture a copied text names is in the copy (and perhaps one whose
  text came later, which nothing names).
The registry is replaced whole (temp file + rename) and read once, first: a business registered
after that is not in the copy, and every business it lists has its store already.

The copy is made in a hidden folder beside DIR, flushed to disk (one syncfs), and renamed to
DIR, so DIR never holds half a backup; a failed copy removes the hidden folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StoreCorrupt, StoreError
from store import codec
from store.files import fsync_dir, sync_filesystem
from store.tinydb.partitions import Partitions


class BackupFailed(StoreError):
    """No backup was made: DIR is not empty or not writable, there is no store, or a copy failed."""


@dataclass
class BackupReport:
    folder: Path
    businesses: list[str]  # the registered businesses copied, besides the default one
    files: int = 0
    bytes: int = 0
    secrets: tuple[str, ...] = ()  # the generated secrets' file names, copied beside the store

    def count(self, size: int) -> None:
        self.files += 1
        self.bytes += size


def check_target(into: Path) -> None:
    """Refuse a DIR that holds anything (a backup never mixes with other files) or names a file."""
    if into.is_dir():
        if any(into.iterdir()):
            raise BackupFailed(f"{into} is not empty; name a new folder for each backup (nothing was written)")
    elif into.exists():
        raise BackupFailed(f"{into} is a file, not a folder; name a new folder for the backup (nothing was written)")


def back_up(path: Path, into: Path, *, secrets: Iterable[Path] = ()) -> BackupReport:
    """Copy the deployment whose default store is `path` into the new or empty folder `into`,
    with the generated `secrets` (those that exist) beside it."""
    if not path.is_file():
        raise BackupFailed(f"there is no TinyDB store at {path}: nothing to back up (check DATABASE_URL)")
    check_target(into)
    try:
        staging = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}.", suffix=".partial"))
    except OSError as error:
        problem = error.strerror or error
        raise BackupFailed(f"cannot write the backup at {into} ({problem}); nothing was written") from None
    try:
        report = _copy_deployment(path, into, staging)
        for secret in secrets:
            if secret.is_file():
                shutil.copy2(secret, staging / secret.name)  # keeps its mode (0600)
                report.secrets += (secret.name,)
        if not sync_filesystem(staging):
            os.sync()
        check_target(into)  # still new or empty: rename replaces only an empty folder
        os.rename(staging, into)
        fsync_dir(into.parent)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):  # a full or failing backup disk, a file the copy may not read
            where = f" ({error.filename})" if error.filename else ""
            raise BackupFailed(f"the backup failed: {error.strerror or error}{where}; nothing was kept") from None
        raise
    return report


def _copy_deployment(path: Path, into: Path, staging: Path) -> BackupReport:
    registry_path = path.with_name(f"{path.stem}.businesses.json")
    try:
        registry: bytes | None = registry_path.read_bytes()  # read once: what is copied is what is listed
    except FileNotFoundError:
        registry = None  # one business: no registry yet
    slugs: list[str] = []
    if registry is not None:
        try:
            records = codec.loads(registry)["businesses"]
        except (codec.DecodeError, KeyError, TypeError):
            records = None
        if not isinstance(records, dict):
            raise StoreCorrupt(f"{registry_path} is not a QDN business registry; restore it or move it away")
        slugs = list(records)
    report = BackupReport(into, slugs)
    _copy_store(path, staging / path.name, report)
    if registry is not None:
        (staging / registry_path.name).write_bytes(registry)
        report.count(len(registry))
    for slug in slugs:
        relative = Path(f"{path.stem}.businesses") / slug / path.name
        store_path = path.parent / relative
        if not store_path.is_file():
            raise StoreCorrupt(f"the registry names business {slug!r}, but {store_path} is missing")
        (staging / relative).parent.mkdir(parents=True)
        _copy_store(store_path, staging / relative, report)
    return report


def _copy_store(path: Path, target: Path, report: BackupReport) -> None:
    """One store: metadata, partition files and journal under its files lock, then its pictures."""
    source, copy = Partitions(path), Partitions(target)
    source.files_lock.acquire()  # waits for a checkpoint under way to end
    try:
        _copy_file(source.path, copy.path, report)
        for folder, into in (
            (source.jobs_dir, copy.jobs_dir),
            (source.phones_dir, copy.phones_dir),
            (source.outbox_dir, copy.outbox_dir),
        ):
            into.mkdir()
            for file in folder.glob("*.json"):  # not the `.name.tmp` a crash may have left
                _copy_file(file, into / file.name, report)
        for segment in source.journal.segments():
            _copy_whole_lines(segment, copy.path.with_name(segment.name), report)
    finally:
        source.files_lock.close()
    copy.media_dir.mkdir()
    if source.media_dir.is_dir():
        for picture in source.media_dir.iterdir():
            if not picture.name.startswith("."):  # a save under way, not linked yet, is a `.id.tmp`
                _copy_file(picture, copy.media_dir / picture.name, report)


def _copy_file(source: Path, target: Path, report: BackupReport) -> None:
    shutil.copyfile(source, target)
    report.count(target.stat().st_size)


def _copy_whole_lines(segment: Path, target: Path, report: BackupReport) -> None:
    """A journal segment up to its last whole line: the one being appended to may end mid-line.
    (A segment is a few MB: a checkpoint starts a new one at 16 MB.)"""
    data = segment.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    target.write_bytes(whole)
    report.count(len(whole))
