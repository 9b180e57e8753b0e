"""What every backend checks of a picture at its door (Store.save_media, Store.load_media).

A media id comes back from URLs (`/media/{id}`, `/m/{business}/{id}...`) and names a file
on TinyDB: anything but the shape `bot.media.new_media_id()` makes is refused before it
reaches a path or a query, so no id can climb out of the media folder ("../x") or be
confused with the temp files beside the pictures (".x.tmp").
"""

from __future__ import annotations

import re

from bot.media import KEPT_TYPES, MAX_BYTES
from store.base import MediaFile

# new_media_id() is 22 URL-safe base64 characters; some room either side, never a dot or a slash.
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_media_id(value: object) -> bool:
    """Whether `value` could be a media id this service made."""
    return isinstance(value, str) and MEDIA_ID.fullmatch(value) is not None


def check_media(media: MediaFile) -> None:
    """ValueError saying what is wrong, before anything is written: a store keeps only what it could serve."""
    if not is_media_id(media.id):
        raise ValueError(f"media id {media.id!r} is not one new_media_id() makes")
    if media.content_type not in KEPT_TYPES:
        raise ValueError(f"media {media.id}: {media.content_type!r} is not a kept picture type")
    if not isinstance(media.data, bytes) or not media.data or len(media.data) > MAX_BYTES:
        raise ValueError(f"media {media.id}: its bytes must be 1 to {MAX_BYTES} bytes")
    for name in ("message_id", "created_at"):
        check_text(media.id, name, getattr(media, name))


def check_text(media_id: str, name: str, value: object) -> None:
    """ValueError unless `value` (a picture's message_id or created_at) is a non-empty text with no NUL."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ValueError(f"media {media_id}: {name} must be a non-empty text")
