"""Texts with pictures, as the sender sends them (docs/pictures.md, "Inbound picture" 5 and "Outbound picture").

A queued row may name pictures still being fetched: a relay links them in its
body, an ARRIVED/DONE text to the customer carries them in `media` (an MMS).
Such a row has `media_wait_sid`, the MessageSid of the inbound text that
brought them, and waits (not counted as an attempt) until that text's fetch has
ended; then it is sent as far as the fetch went: a link to a picture given up
on reads "(picture unavailable)", and only kept pictures go out as MMS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.media import TEXT_LINK_SECONDS, replace_links
from store import Message

# How soon a held text looks again: half as long as it has waited so far, within these bounds. A
# picture is usually kept within a few tenths of a second (bench/bench_media.py), so the first looks
# come quickly, and a slow fetch costs only a few more looks (each one a store write).
MIN_HOLD_SECONDS = 0.05
MAX_HOLD_SECONDS = 1.0
MediaUrl = Callable[..., str]  # bot.media.PictureLinks.url(media_id, seconds=, now=)


def still_fetching(inbound: Message | None) -> bool:
    """Whether the inbound text a row waits for still has pictures to fetch.

    That text is stored in the same write as every row that waits for it (a relay, or a dispatcher's
    status text: handlers/twilio/moves.py), so a row whose text is not there (None) waits for nothing.
    """
    return bool(inbound and inbound.get("media_fetch"))


def hold_seconds(message: Message, now: datetime) -> float:
    """How long to hold a text whose pictures are still being fetched before it looks again."""
    waited = (now - datetime.fromisoformat(message["created_at"])).total_seconds()
    return min(MAX_HOLD_SECONDS, max(MIN_HOLD_SECONDS, waited / 2))


def with_fetched_media(message: Message, inbound: Message | None) -> Message:
    """`message` as its pictures' fetch left it: failed links replaced, only kept pictures in `media`.

    `inbound` None (no such text: nothing is known to be kept) sends it without pictures.
    """
    if not message.get("media_wait_sid"):
        return message
    inbound = inbound or {}
    failed = [item["id"] for item in inbound.get("media_failed") or []]
    kept = {item["id"]: item for item in inbound.get("media") or []}
    # The kept ones as the inbound row has them ({id, type, size}): the log shows what was sent.
    media = [kept[item["id"]] for item in message.get("media") or [] if item["id"] in kept]
    return {**message, "body": replace_links(message["body"], failed), "media": media, "media_wait_sid": None}


def media_links(message: Message, media_url: MediaUrl | None, now: float) -> list[str]:
    """The links Twilio fetches the row's pictures from (MediaUrl), good for TEXT_LINK_SECONDS."""
    ids: list[Any] = [item["id"] for item in message.get("media") or []]
    if ids and media_url is None:
        raise RuntimeError("this sender was given no way to link pictures (PictureLinks.url)")
    return [media_url(media_id, seconds=TEXT_LINK_SECONDS, now=now) for media_id in ids] if media_url else []
