"""Pictures (SPEC "Pictures (MMS)"): what may be kept, what a picture is, and its private links.

Pure rules, no I/O: the webhook (handlers/twilio/receive.py) names the pictures a text
carries, the sender's fetcher (sender/media/fetch.py) checks the bytes it got
against these rules, and links are signed and opened here.

- A picture is kept only if its bytes say it is one of KEPT_TYPES (`sniff`):
  the Content-Type Twilio (or anyone) declares is never trusted.
- A picture is never decoded to check it: `dimensions` reads its header only,
  so a small file announcing a 100k x 100k image (a decompression bomb for
  whoever displays it) is refused without allocating its pixels.
- A link is `/m/{business}/{media id}.{expiry}.{signature}`: the media id is
  random (128 bits), the expiry a Unix time in base 36, the signature an HMAC
  over all three under SECRET_KEY. A forged, altered or expired link opens
  nothing, and a link made for one business never opens another's picture.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

MAX_BYTES = 5 * 1024 * 1024  # per picture
MAX_PER_TEXT = 10  # Twilio's own limit on an MMS
MAX_PIXELS = 50_000_000  # 50 megapixels: past any phone camera; more is a bomb, not a photo

JPEG, PNG, GIF, WEBP, HEIC, HEIF = "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"
KEPT_TYPES = (JPEG, PNG, GIF, HEIC, HEIF, WEBP)
EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp", HEIC: "heic", HEIF: "heif"}

# How long a link stays good: in a text it must outlive the day's work (and Twilio's own fetch
# of an MMS we send); on a page it is made afresh at every load.
TEXT_LINK_SECONDS = 7 * 24 * 3600
PAGE_LINK_SECONDS = 24 * 3600

# ISO-BMFF brands (the `ftyp` box) of HEIF images: HEVC-coded ones are "HEIC" to phones and browsers.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}


def new_media_id() -> str:
    """A fresh media id: 128 random bits, URL-safe, 22 characters."""
    return secrets.token_urlsafe(16)


def sniff(head: bytes) -> str | None:
    """The picture type the first bytes show (12 are enough), or None if they are not a kept picture."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return HEIC
        if brand in _HEIF_BRANDS:
            return HEIF
    return None


class NotAPicture(ValueError):
    """The bytes are not a picture this service keeps; the message says why (for the log)."""


def check_picture(data: bytes) -> str:
    """The sniffed type of `data` if it may be kept, else NotAPicture saying why.

    Checks the size, the type from the bytes, and (where the header says) the pixel count.
    """
    if not data:
        raise NotAPicture("empty body")
    if len(data) > MAX_BYTES:
        raise NotAPicture(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    kind = sniff(data[:16])
    if kind is None:
        raise NotAPicture("not a JPEG, PNG, GIF, WebP or HEIC/HEIF picture")
    size = dimensions(kind, data)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise NotAPicture(f"{size[0]} x {size[1]} pixels is more than {MAX_PIXELS:,}")
    return kind


def dimensions(kind: str, data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header alone, or None where this type's header does not say simply.

    HEIC/HEIF keep theirs deep in the box tree; they are held to MAX_BYTES only.
    """
    try:
        if kind == PNG and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if kind == GIF:
            return struct.unpack("<HH", data[6:10])
        if kind == JPEG:
            return _jpeg_dimensions(data)
        if kind == WEBP:
            return _webp_dimensions(data)
    except struct.error:
        raise NotAPicture("its header is cut short") from None
    return None


# JPEG start-of-frame markers (baseline, progressive, lossless ...): not DHT (C4), JPG (C8) or DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise NotAPicture("its JPEG header is damaged")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers with no length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or length < 2:  # the scan starts (or a bad length): no frame header came first
            break
        at += 2 + length
    raise NotAPicture("its JPEG header has no frame size")


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


# -- private links -----------------------------------------------------------------


@dataclass(frozen=True)
class LinkKeys:
    """The keys links are signed with: the first of SECRET_KEY's comma-separated keys signs, any opens."""

    keys: tuple[bytes, ...]

    @classmethod
    def from_secret(cls, secret_key: str) -> LinkKeys:
        raw = [key.strip() for key in secret_key.split(",") if key.strip()]
        if not raw:
            raise ValueError("SECRET_KEY is empty: media links cannot be signed")
        # A key of its own, derived: a media link's signature says nothing about the Fernet key.
        return cls(tuple(hashlib.sha256(b"qdn media link\0" + key.encode()).digest() for key in raw))


def _signature(key: bytes, business: str, media_id: str, expiry: str) -> str:
    mac = hmac.new(key, f"{business}\0{media_id}\0{expiry}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def link_path(keys: LinkKeys, business: str, media_id: str, expires_at: int) -> str:
    """The path of a link that opens `media_id` of `business` until `expires_at` (Unix seconds)."""
    expiry = base36(expires_at)
    return f"/m/{business}/{media_id}.{expiry}.{_signature(keys.keys[0], business, media_id, expiry)}"


def open_link(keys: LinkKeys, business: str, token: str, now: float) -> str | None:
    """The media id a link's last part (`{id}.{expiry}.{signature}`) opens for `business` at `now`, else None.

    None alike for a malformed, forged, altered or expired link: the caller answers one 404 for all.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 100:
        return None
    media_id, expiry, signature = parts
    try:
        expires_at = int(expiry, 36)
    except ValueError:
        return None
    valid = any(
        hmac.compare_digest(_signature(key, business, media_id, expiry), signature) for key in keys.keys
    )  # fmt: skip
    if not valid or expires_at <= now:
        return None
    return media_id


class PictureLinks:
    """One business's private picture links, made and opened under SECRET_KEY.

    Built once per business's settings (handlers/services.py `Services.picture_links`, and
    sender/business_loops.py for the texts it sends), so the keys are derived once, not per link.
    """

    def __init__(self, base_url: str, business: str, secret_key: str) -> None:
        self.base_url = base_url  # PUBLIC_BASE_URL
        self.business = business
        self._secret_key = secret_key

    @cached_property
    def keys(self) -> LinkKeys:
        """ValueError if SECRET_KEY is empty: then no link can be made, nor opened."""
        return LinkKeys.from_secret(self._secret_key)

    def url(self, media_id: str, *, seconds: int, now: float) -> str:
        """A link to one of this business's pictures, good for `seconds` after `now` (Unix time)."""
        return self.base_url + link_path(self.keys, self.business, media_id, int(now) + seconds)


def base36(number: int) -> str:
    """`number` (not negative) in base 36, lower case: how a link spells its expiry."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


# -- links in a text whose picture could not be kept ---------------------------------

UNAVAILABLE = "(picture unavailable)"  # GSM-7, like the rest of a relay
_URL = re.compile(r"https?://\S*[^\s.,;:!?)]")  # a sentence's punctuation after a link is not part of it


def replace_links(body: str, media_ids: Iterable[str], replacement: str = UNAVAILABLE) -> str:
    """`body` with each link to one of `media_ids` (a URL with `/{id}.` in its path) made `replacement`.

    A relay names its pictures before they are fetched (docs/pictures.md); one that was given
    up on must not leave the dispatcher a link that opens nothing.
    """
    marks = tuple(f"/{media_id}." for media_id in media_ids if media_id)
    if not marks:
        return body

    def replaced(link: re.Match[str]) -> str:
        path = link.group().split("?", 1)[0].split("#", 1)[0]  # the origin never holds "/{id}."
        return replacement if any(mark in path for mark in marks) else link.group()

    return _URL.sub(replaced, body)
