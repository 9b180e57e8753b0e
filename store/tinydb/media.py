"""The TinyDB store's pictures: a file each in a folder beside the store's own, and the fetches due.

    data/qdn.media/<media id>      one picture: a line of JSON (its id, type, message, time), then its bytes

Each business is a store of its own (store/tinydb/deployment.py), so each has its own
folder, and one business's picture cannot be opened through another's store.

A picture and what is known of it are one file, so neither can be there without the
other. `MediaFolder.save` writes a temp file and fsyncs it, then *links* it into place --
a link, unlike a rename, never replaces a file: the first picture saved under an id stays
(two fetchers racing on an expired lease) -- and fsyncs the folder, all before it returns.
`set_message` (a picture the inbox kept before its reply was stored) renames a rewritten
file over it: readers see the old file or the new one, each whole.
A crash leaves at most a temp file, removed at the next start. Pictures are written and
read on the store's media threads, never the event loop (up to 5 MB each) nor the
conversation thread (a page's pictures must not hold up a webhook's reads).

The fetches due (`media_due_at` on messages, Store.due_media) are an index in memory
(`Indexes.media_due`), kept by every message write like the reminders' one: it holds only
the texts whose pictures are still to fetch, never the history.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import StoreCorrupt, StoreError
from store import codec
from store.base import MediaFile, Message
from store.files import fsync_dir
from store.media import check_media, check_text, is_media_id

if TYPE_CHECKING:
    from store.tinydb.documents import Documents

_HEADER_KEYS = ("id", "type", "message_id", "created_at")


class MediaFolder:
    """The pictures of one store. Call `open` once the store's folder lock is held."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> None:
        self.folder.mkdir(exist_ok=True)
        for tmp in self.folder.glob(".*.tmp"):  # a save a crash cut short: never linked, never acknowledged
            tmp.unlink(missing_ok=True)

    def save(self, media: MediaFile) -> None:
        """Keep `media` durably (ValueError if it is no picture a store keeps, StoreError if the disk refuses)."""
        check_media(media)
        path = self.folder / media.id
        try:
            if not path.exists():
                self._write_new(path, media)
            fsync_dir(self.folder)  # also when another save got there first: it may not have synced yet
        except OSError as error:  # a full disk, mostly: nothing half-written stays behind
            raise StoreError(f"the picture could not be saved ({error.strerror or error}); nothing was kept") from None

    def _write_new(self, path: Path, media: MediaFile, *, overwrite: bool = False) -> None:
        """`media` written whole and synced under a temp name, then linked into place (or, `overwrite`,
        renamed over the file there: readers see the old file or the new, never part of one)."""
        header = {"id": media.id, "type": media.content_type, "message_id": media.message_id,
                  "created_at": media.created_at}  # fmt: skip
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{media.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(codec.dumps(header) + b"\n")  # compact JSON: never a newline inside
                handle.write(media.data)
                handle.flush()
                os.fsync(handle.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                with contextlib.suppress(FileExistsError):  # a racing save of the same id was first: it stays
                    os.link(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)  # linked or not, the temp name goes

    def set_message(self, media_id: str, message_id: str) -> None:
        """The kept picture rewritten naming `message_id` (Store.set_media_message); nothing for an unknown id."""
        check_text(media_id, "message_id", message_id)
        kept = self.load(media_id)
        if kept is None or kept.message_id == message_id:
            return
        try:
            self._write_new(self.folder / media_id, replace(kept, message_id=message_id), overwrite=True)
            fsync_dir(self.folder)
        except OSError as error:  # a full disk: the picture stays as it was
            raise StoreError(f"the picture could not be saved ({error.strerror or error}); it is unchanged") from None

    def load(self, media_id: str) -> MediaFile | None:
        if not is_media_id(media_id):
            return None
        path = self.folder / media_id
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"the picture could not be read ({error.strerror or error})") from None
        line, newline, data = raw.partition(b"\n")
        try:
            header = codec.loads(line) if newline else None
        except codec.DecodeError:
            header = None
        if not isinstance(header, dict) or not all(isinstance(header.get(key), str) for key in _HEADER_KEYS):
            raise StoreCorrupt(f"{path} is not a picture this store wrote; restore it or move it away")
        if header["id"] != media_id:  # a case-insensitive file system finds "ABC" for "abc": not the same id
            return None
        return MediaFile(media_id, header["type"], data, header["message_id"], header["created_at"])


# -- the fetches due (Store.due_media); call holding the core's mutex ------------------------------


def due_media(core: Documents, now: str, limit: int) -> list[Message]:
    ids = core.index.ids
    due = [(at, ids.split(message_id), message_id) for message_id, at in core.index.media_due.items() if at <= now]
    return [core.get_message(message_id) for *_, message_id in heapq.nsmallest(max(limit, 0), due)]


def next_media_due(core: Documents) -> str | None:
    return min(core.index.media_due.values(), default=None)
