"""The pure picture rules (bot/media.py, bot/media_sources.py): what is a picture, which links open, where from.

No store, no HTTP: the bytes and URLs a forged webhook or a hostile server could
hand the service, and what each rule makes of them.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from bot.media import (
    GIF,
    HEIC,
    HEIF,
    JPEG,
    MAX_BYTES,
    PNG,
    WEBP,
    LinkKeys,
    NotAPicture,
    base36,
    check_picture,
    link_path,
    open_link,
    sniff,
)
from bot.media_sources import fetch_origins, is_media_redirect, is_media_url

KEY = "k" * 40
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages/MM" + "2" * 32 + "/Media/ME" + "3" * 32


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def jpeg_header(width: int, height: int, *, fill: bool = False) -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + (b"\xff" if fill else b"") + sof + b"\xff\xd9"


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heif(brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x00\x00mif1" + b"\x00" * 64


# -- what is a picture -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (jpeg_header(640, 480), JPEG),
        (png_header(2, 2), PNG),
        (b"GIF89a" + struct.pack("<HH", 10, 10) + b"\x00" * 8, GIF),
        (b"GIF87a" + struct.pack("<HH", 10, 10) + b"\x00" * 8, GIF),
        (webp(b"VP8X", b"\x00" * 4 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")), WEBP),
        (heif(b"heic"), HEIC),
        (heif(b"hevx"), HEIC),
        (heif(b"mif1"), HEIF),
    ],
)
def test_each_kept_type_is_known_by_its_bytes(data, kind):
    assert sniff(data[:16]) == kind
    assert check_picture(data) == kind


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty body"),
        (b"<!DOCTYPE html><html>Not Found</html>", "not a JPEG, PNG"),
        (b"%PDF-1.7\n" + b"\x00" * 32, "not a JPEG, PNG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a JPEG, PNG"),  # script inside an image: never kept
        (struct.pack(">I", 24) + b"ftypisom" + b"\x00" * 32, "not a JPEG, PNG"),  # an MP4, not a HEIF
        (b"\xff\xd8\xff" + b"\x00" * (MAX_BYTES - 2), "larger than 5 MB"),
        (png_header(100_000, 100_000), "more than 50,000,000"),  # a bomb: refused by its header
        (jpeg_header(60_000, 60_000), "more than 50,000,000"),
        (b"GIF89a" + struct.pack("<HH", 65_535, 65_535), "more than 50,000,000"),
        (webp(b"VP8L", b"\x2f" + (0x3FFF | 0x3FFF << 14).to_bytes(4, "little")), "more than 50,000,000"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "no frame size"),  # a JPEG cut short before its frame header
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", "cut short"),
    ],
)
def test_what_is_not_a_picture_or_too_big_is_refused_saying_why(data, reason):
    with pytest.raises(NotAPicture, match=reason):
        check_picture(data)


def test_a_jpeg_with_fill_bytes_before_its_frame_is_still_read_from_the_header():
    assert check_picture(jpeg_header(4000, 3000, fill=True)) == JPEG
    with pytest.raises(NotAPicture, match="more than"):
        check_picture(jpeg_header(10_000, 6_000, fill=True))


# -- links ------------------------------------------------------------------------------


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def test_a_link_opens_its_picture_for_its_business_until_it_expires():
    keys = LinkKeys.from_secret(KEY)
    path = link_path(keys, "acme", "AbCdEfGhIjKlMnOpQrStUv", 2_000_000_000)
    assert path.startswith("/m/acme/AbCdEfGhIjKlMnOpQrStUv." + base36(2_000_000_000) + ".")
    assert open_link(keys, "acme", token_of(path), 1_999_999_999) == "AbCdEfGhIjKlMnOpQrStUv"
    assert open_link(keys, "acme", token_of(path), 2_000_000_000) is None  # expired at that second
    assert open_link(keys, "bolt", token_of(path), 1_000) is None  # another business's name: nothing


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("AbCd", "AbCe", 1),  # another id
        lambda t: ".".join([t.split(".")[0], base36(3_000_000_000), t.split(".")[2]]),  # a later expiry
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: t + ".x",
        lambda t: t.replace(".", "", 1),
        lambda t: "..",
        lambda t: "a.zz!.b",
        lambda t: "a" * 60 + "." + "b" * 60 + ".c",
    ],
)
def test_an_altered_or_malformed_link_opens_nothing(change):
    keys = LinkKeys.from_secret(KEY)
    token = token_of(link_path(keys, "default", "AbCdEfGhIjKlMnOpQrStUv", 2_000_000_000))
    assert open_link(keys, "default", change(token), 1_000) is None


def test_links_made_before_secret_key_rotation_still_open_and_new_ones_use_the_new_key():
    old = LinkKeys.from_secret(KEY)
    rotated = LinkKeys.from_secret("n" * 40 + "," + KEY)  # the new key first, the old one kept
    before = token_of(link_path(old, "default", "AbCdEfGhIjKlMnOpQrStUv", 2_000_000_000))
    after = token_of(link_path(rotated, "default", "AbCdEfGhIjKlMnOpQrStUv", 2_000_000_000))
    assert open_link(rotated, "default", before, 1_000) == "AbCdEfGhIjKlMnOpQrStUv"
    assert open_link(old, "default", after, 1_000) is None  # signed with the new key
    assert open_link(LinkKeys.from_secret("n" * 40), "default", before, 1_000) is None  # the old key dropped


# -- where pictures may come from -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (MEDIA, True),
        (MEDIA.replace("https://", "http://"), False),
        (MEDIA.replace("api.twilio.com", "api.twilio.com:8443"), False),
        (MEDIA.replace("api.twilio.com", "user:pw@api.twilio.com"), False),
        (MEDIA.replace("api.twilio.com", "api.twilio.com.evil.test"), False),
        (MEDIA.rsplit("/Media/", 1)[0] + ".json", False),  # Twilio's API, but not a picture
        (MEDIA + "/../../../../Calls.json", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("not a url", False),
    ],
)
def test_a_webhooks_picture_is_fetched_only_from_a_twilio_media_resource(url, allowed):
    assert is_media_url(url) is allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC1/abc", True),
        ("https://mms.twiliocdn.com/AC1/abc?Expires=1", True),
        ("https://api.twilio.com/2010-04-01/whatever", True),
        ("http://mms.twiliocdn.com/AC1/abc", False),  # not https
        ("https://s3-external-1.amazonaws.com/some-other-bucket/x", False),
        ("https://evil.test/media.twiliocdn.com/x", False),
        ("https://twiliocdn.com.evil.test/x", False),
        ("http://127.0.0.1:8000/x", False),
    ],
)
def test_a_redirect_is_followed_only_to_twilios_media_store(url, allowed):
    assert is_media_redirect(url) is allowed


def test_a_local_twilio_is_allowed_and_loopback_only_in_local_use():
    local = "http://127.0.0.1:8123/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    loopback = {"127.0.0.1", "localhost", "::1"}
    live = fetch_origins(local, api_base_url=None, local_use=False, loopback_hosts=loopback)
    assert not is_media_url(local, live)
    assert is_media_url(local, fetch_origins(local, api_base_url=None, local_use=True, loopback_hosts=loopback))
    mock = fetch_origins(local, api_base_url="http://127.0.0.1:8123", local_use=False, loopback_hosts=loopback)
    assert is_media_url(local, mock) and is_media_redirect("http://127.0.0.1:8123/media-host/x", mock)
    remote = "http://10.0.0.5/x"  # in local use too, only loopback: never the local network
    assert not is_media_url(remote, fetch_origins(remote, api_base_url=None, local_use=True, loopback_hosts=loopback))
