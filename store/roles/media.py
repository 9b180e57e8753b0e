"""Pictures (SPEC "Pictures (MMS)"): their bytes, and the fetches due (store_contract/test_media.py).

A picture texted in is named by the inbound row's `media_fetch` items (Twilio's URL, the type
Twilio declared, and the media id chosen at once by the webhook) and fetched later by the
sender's fetcher (sender/media/fetch.py) -- durable work like a send. The inbound row carries
when it is due (`media_due_at`); a fetcher claims it with `update_message` (moving
`media_due_at` a lease ahead, as reminders are claimed through `update_job`), keeps the bytes
with `save_media`, then moves the items to the row's public `media` (or `media_failed`) and
clears `media_due_at` in one more `update_message`. The bytes live in the store's media area:
TinyDB, files in a folder beside its own; PostgreSQL, a table. (The rules a picture must meet
are store/media.py's.)
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from store.records import Message


@dataclass(frozen=True)
class MediaFile:
    """A picture as kept: its bytes and what was learnt of them (`content_type` sniffed from the bytes)."""

    id: str  # bot.media.new_media_id(): random, unguessable
    content_type: str  # one of bot.media.KEPT_TYPES
    data: bytes
    message_id: str  # the message that brought it (or that first sent it)
    created_at: str

    @property
    def size(self) -> int:
        return len(self.data)


class Pictures(ABC):
    """Pictures kept by id, and the inbound texts whose pictures are still to fetch."""

    @abstractmethod
    async def save_media(self, media: MediaFile) -> None:
        """Keep a picture's bytes durably (on disk / committed) before returning.

        Saving the same id again with the same bytes is harmless (two fetchers racing on an
        expired lease); the first one saved stays. ValueError, keeping nothing, for an id
        new_media_id() could not have made, a type not in bot.media.KEPT_TYPES, no bytes or
        more than bot.media.MAX_BYTES (store/media.py); StoreError, keeping nothing, if the
        store cannot write (a full disk).
        """

    @abstractmethod
    async def load_media(self, media_id: str) -> MediaFile | None:
        """The picture kept under this id, None for any id this store does not hold (or malformed)."""

    @abstractmethod
    async def set_media_message(self, media_id: str, message_id: str) -> None:
        """Name the message a kept picture belongs to: one kept before its message was stored (the
        inbox's upload is kept first, so no text is ever queued naming a picture not yet kept).

        Durable before returning; nothing for an id this store does not hold; ValueError, changing
        nothing, for a `message_id` that is empty or holds a NUL (as save_media refuses)."""

    @abstractmethod
    async def due_media(self, now: str, limit: int) -> list[Message]:
        """Up to `limit` messages whose `media_due_at` is at or before `now` (ISO UTC), earliest first."""

    async def wait_for_media(self, timeout: float) -> bool:
        """Until a write makes a picture fetch due (True) or `timeout` seconds pass (False).

        TinyDB wakes its fetcher in this process at once; this default just waits out the
        timeout, so a backend without a wake-up is polled (PostgreSQL: every second).
        """
        await asyncio.sleep(timeout)
        return False

    @abstractmethod
    async def next_media_due(self) -> str | None:
        """The earliest `media_due_at` of any message (ISO UTC), None if no fetch waits."""
