"""Pictures served (SPEC "Pictures (MMS)"): GET /media/{id} (bearer) and GET /m/{business}/{link} (signed).

Pictures are put straight into a real TinyDB store (`Store.save_media`), as the fetcher keeps
them; what is tested here is what a dashboard, a dispatcher's phone or a customer's page gets
back: the bytes with the kept type and every header, and one identical 404 for anything that
does not open a picture -- missing, malformed, forged, altered, expired, another business's.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from bot.jobs import utc_now
from bot.media import JPEG, PNG, TEXT_LINK_SECONDS, LinkKeys, base36, link_path, new_media_id
from config.settings import Settings
from handlers.tenancy import Tenant
from store import MediaFile, Store
from tests.businesses import bearer, call, register_business, tenants_of
from tests.support import API_TOKEN
from tests.test_openapi import check
from tests.test_track_api import UNKNOWN_TOKEN, client, clock, public
from web.logging import redact, shown_target
from web.openapi import DOCUMENT

ACME = {"slug": "acme", "name": "Acme Hauling", "numbers": ["+13035550100"]}
MEDIA_CSP = "default-src 'none'; sandbox"
PICTURE_HEADERS = {  # on every answer of a picture's path, the picture's and the errors alike
    "x-robots-tag": "noindex",
    "x-content-type-options": "nosniff",
    "content-security-policy": MEDIA_CSP,
    "referrer-policy": "no-referrer",
}


# --- pictures -----------------------------------------------------------------------------------


def png(width: int = 48, height: int = 32, colour: Callable[[int, int], tuple[int, int, int]] | None = None) -> bytes:
    """A real PNG a browser can draw: RGB, `colour(x, y)` per pixel (a gradient by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    paint = colour or (lambda x, y: (40 + x * 4 % 200, 90 + y * 5 % 150, 160))
    rows = b"".join(b"\0" + b"".join(bytes(paint(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# The smallest JPEG header check_picture accepts: SOI, a SOF0 frame (8x8), EOI -- enough to serve.
TINY_JPEG = b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x08\x00\x08\x03\x01\x11\x00\x02\x11\x00\x03\x11\x00\xff\xd9"


def keep(client: TestClient, store: Store, data: bytes, content_type: str = PNG, message_id: str = "1001-1") -> str:
    """Keep a picture in `store` as the fetcher does; its new media id."""
    media_id = new_media_id()
    call(client, store.save_media, MediaFile(media_id, content_type, data, message_id, utc_now()))
    return media_id


def path_of(url: str) -> str:
    return urlsplit(url).path


def comparable(response: Any) -> tuple[int, bytes, dict[str, str]]:
    """Everything an answer says, but the date (and the length, which the body already covers)."""
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, response.content, headers


# --- fixtures -------------------------------------------------------------------------------------


# The app with the dashboard token and the miss limiter on a fake clock (`client`), and as a phone with no
# credentials (`public`, one address: it shares the limiter): the token endpoints' own fixtures.
__all__ = ["client", "clock", "public"]


def default_tenant(client: TestClient) -> Tenant:
    return tenants_of(client).default


@pytest.fixture
def picture(client: TestClient) -> tuple[str, bytes]:
    """A PNG the default business keeps: (its id, its bytes)."""
    data = png()
    return keep(client, default_tenant(client).services.store, data), data


def link(tenant: Tenant, media_id: str, seconds: int = TEXT_LINK_SECONDS) -> str:
    """The path of a signed link to `media_id` of `tenant`'s business, as texts and pages carry them."""
    return path_of(tenant.services.picture_links.url(media_id, seconds=seconds, now=time.time()))


def keys(settings: Settings) -> LinkKeys:
    return LinkKeys.from_secret(str(settings.secret_key))


@pytest.fixture
def missing(client: TestClient) -> Any:
    """The one 404: a picture id nobody keeps, asked for by its signed link (no login needed, none looked at)."""
    tenant = default_tenant(client)
    response = client.get(link(tenant, new_media_id()))
    assert response.status_code == 404
    return response


# --- a picture, and its headers --------------------------------------------------------------------


def assert_picture_headers(response: Any) -> None:
    for name, value in PICTURE_HEADERS.items():
        assert response.headers[name] == value, name


def max_age(response: Any) -> int:
    directives = [part.strip() for part in response.headers["cache-control"].split(",")]
    assert "private" in directives, directives
    (age,) = [int(part.split("=", 1)[1]) for part in directives if part.startswith("max-age=")]
    return age


def test_a_signed_link_opens_the_picture_with_every_header(public, picture):
    media_id, data = picture
    tenant = default_tenant(public)
    url = tenant.services.picture_links.url(media_id, seconds=3600, now=time.time())
    assert url.startswith("https://sms.example.test/m/default/")
    response = public.get(path_of(url))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"  # as kept: sniffed, no charset
    assert response.headers["content-disposition"].startswith("inline")
    assert_picture_headers(response)
    assert 3500 < max_age(response) <= 3600  # never longer than the link is good for
    assert "set-cookie" not in response.headers


def test_a_texts_week_long_link_may_be_kept_by_the_phone_no_longer_than_its_life(public, picture):
    media_id, _ = picture
    response = public.get(link(default_tenant(public), media_id, seconds=TEXT_LINK_SECONDS))
    assert response.status_code == 200
    assert TEXT_LINK_SECONDS - 100 < max_age(response) <= TEXT_LINK_SECONDS


def test_the_type_is_the_one_kept_whatever_the_link_or_the_client_says(public):
    tenant = default_tenant(public)
    media_id = keep(public, tenant.services.store, TINY_JPEG, JPEG)
    response = public.get(link(tenant, media_id), headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"].endswith('.jpg"')
    assert response.content == TINY_JPEG


def test_head_answers_like_get_without_the_bytes(public, picture):
    media_id, data = picture
    path = link(default_tenant(public), media_id)
    response = public.head(path)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["content-type"] == "image/png"
    assert_picture_headers(response)


def test_the_dashboard_opens_its_own_picture_with_its_token(client, picture):
    media_id, data = picture
    response = client.get(f"/media/{media_id}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("inline")
    assert 0 < max_age(response) <= 3600
    assert_picture_headers(response)


def test_the_dashboard_route_needs_the_token(public, picture):
    media_id, _ = picture
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_TOKEN}"}):
        response = public.get(f"/media/{media_id}", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["cache-control"] == "no-store"
        assert_picture_headers(response)


# --- one 404 for everything that is not a picture of this business ----------------------------------


def test_a_bearer_of_one_business_cannot_open_anothers_picture(client, picture, missing):
    ours, _ = picture
    acme_token = register_business(client, ACME)
    acme = tenants_of(client).get("acme")
    assert acme is not None
    theirs = keep(client, acme.services.store, png(8, 8))
    assert client.get(f"/media/{theirs}", headers=bearer(acme_token)).status_code == 200
    assert client.get(f"/media/{ours}", headers=bearer(API_TOKEN)).status_code == 200
    # Each business's token, the other's picture: the same 404 as a picture nobody keeps.
    assert comparable(client.get(f"/media/{theirs}", headers=bearer(API_TOKEN))) == comparable(missing)
    assert comparable(client.get(f"/media/{ours}", headers=bearer(acme_token))) == comparable(missing)


def test_a_link_opens_only_the_business_it_was_signed_for(client, picture, missing):
    ours, _ = picture
    register_business(client, ACME)
    acme = tenants_of(client).get("acme")
    assert acme is not None
    theirs = keep(client, acme.services.store, png(8, 8))
    client.headers.pop("Authorization")
    good = link(acme, theirs)
    assert good.startswith("/m/acme/")
    assert client.get(good).status_code == 200
    # The other business in the path, or a link signed by acme for the default business's picture.
    assert comparable(client.get(good.replace("/m/acme/", "/m/default/"))) == comparable(missing)
    signed_by_acme_for_ours = link(acme, ours)
    assert comparable(client.get(signed_by_acme_for_ours)) == comparable(missing)
    assert comparable(client.get(signed_by_acme_for_ours.replace("/m/acme/", "/m/default/"))) == comparable(missing)
    assert comparable(client.get(good.replace("/m/acme/", "/m/nobody/"))) == comparable(missing)


def test_an_expired_link_is_the_same_404(public, picture, missing):
    media_id, _ = picture
    settings = default_tenant(public).settings
    expired = link_path(keys(settings), "default", media_id, int(time.time()) - 1)
    assert comparable(public.get(expired)) == comparable(missing)
    assert public.get(link_path(keys(settings), "default", media_id, int(time.time()) + 60)).status_code == 200


def test_an_altered_link_is_the_same_404(public, picture, missing):
    media_id, _ = picture
    good = link(default_tenant(public), media_id)
    prefix, token = good.rsplit("/", 1)
    picture_id, expiry, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_id = new_media_id()
    later = base36(int(expiry, 36) + 86400)  # any other expiry: the signature covers it
    for altered in (
        f"{prefix}/{picture_id}.{expiry}.{flipped}",
        f"{prefix}/{other_id}.{expiry}.{signature}",
        f"{prefix}/{picture_id[:-1]}x.{expiry}.{signature}",
        f"{prefix}/{picture_id}.{later}.{signature}",
        f"{prefix}/{picture_id}.{expiry}.{signature}x",
        f"{prefix}/{picture_id}.{expiry}.{signature.upper()}",
    ):
        assert altered != good
        assert comparable(public.get(altered)) == comparable(missing), altered


@pytest.mark.parametrize(
    "path",
    [
        "/m/default",
        "/m/default/",
        "/m/",
        "/m/default/nope",
        "/m/default/a.b",
        "/m/default/a.b.c.d",
        "/m/default/..%2F..%2Fqdn.json.x.y",
        "/m/default/" + "a" * 300,
        "/m/DEFAULT/x.y.z",
        "/media/nope-not-an-id-at-all-0000",
        "/media/..%2Fqdn.json",
        "/media/" + "b" * 200,
        "/media/a.b",
    ],
)
def test_malformed_links_and_ids_get_the_same_404(client, path, missing):
    assert comparable(client.get(path)) == comparable(missing), path


def test_the_404_tells_nothing_and_is_kept_by_nobody(missing, picture):
    media_id, _ = picture
    assert missing.json() == {"error": {"code": "not_found", "message": missing.json()["error"]["message"]}}
    assert missing.headers["cache-control"] == "no-store"
    assert missing.headers["content-type"] == "application/json"
    assert_picture_headers(missing)
    assert media_id not in missing.text


def test_the_bearer_route_and_the_link_route_miss_alike(client, missing):
    assert comparable(client.get(f"/media/{new_media_id()}")) == comparable(missing)


def test_another_method_is_a_json_405_with_the_picture_headers(public, picture):
    media_id, _ = picture
    response = public.post(link(default_tenant(public), media_id))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["cache-control"] == "no-store"
    assert_picture_headers(response)


# --- links cannot be guessed at speed -----------------------------------------------------------------


def test_the_21st_bad_link_in_a_minute_is_slowed_down_like_a_tracking_token(public, clock, picture):
    media_id, data = picture
    good = link(default_tenant(public), media_id)
    prefix, _, token = good.rpartition("/")
    for n in range(20):
        assert public.get(f"{prefix}/{new_media_id()}.zz.{token.rsplit('.', 1)[1]}").status_code == 404, n
    slowed = public.get(f"{prefix}/{new_media_id()}.zz.x")
    assert slowed.status_code == 429
    assert slowed.json()["error"]["code"] == "rate_limited"
    assert slowed.headers["retry-after"] == "60"
    assert_picture_headers(slowed)
    # Meanwhile even a good link (and a tracking token) waits, as a good token does.
    assert public.get(good).status_code == 429
    assert public.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 429
    clock.now += 60
    opened = public.get(good)
    assert opened.status_code == 200
    assert opened.content == data


def test_bad_links_and_unknown_tracking_tokens_count_together(public, clock):
    for _ in range(10):
        assert public.get("/m/default/a.b.c").status_code == 404
    for _ in range(10):
        assert public.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404
    assert public.get("/m/default/a.b.c").status_code == 429
    assert public.get(f"/track/{UNKNOWN_TOKEN}").status_code == 429


def test_a_good_link_to_a_picture_not_kept_yet_is_not_a_guess(public, clock):
    tenant = default_tenant(public)
    waiting = link(tenant, new_media_id())  # a relay's link made before the fetch ended
    for _ in range(30):
        assert public.get(waiting).status_code == 404
    assert public.get("/m/default/a.b.c").status_code == 404  # the first miss, not the 31st


def test_the_dashboard_route_counts_no_misses(client, clock):
    for _ in range(30):
        assert client.get(f"/media/{new_media_id()}").status_code == 404
    assert client.get("/m/default/a.b.c").status_code == 404


def test_the_dashboard_route_answers_as_the_openapi_document_says(client, picture):
    media_id, _ = picture
    described = DOCUMENT["paths"]["/media/{media_id}"]["get"]["responses"]
    found = client.get(f"/media/{media_id}")
    assert found.headers["content-type"] in described["200"]["content"]
    check(client.get(f"/media/{new_media_id()}"), "/media/{media_id}", "get")
    check(client.get(f"/media/{media_id}", headers={"Authorization": "Bearer nope"}), "/media/{media_id}", "get")


# --- logs ----------------------------------------------------------------------------------------------


def test_logs_never_show_a_link_that_opens_a_picture(public, picture):
    """The access line's target (web/middleware.py) and every other log record (RedactingFilter) mask it."""
    media_id, _ = picture
    path = link(default_tenant(public), media_id)
    assert shown_target(path, "") == "/m/default/[link]"
    assert shown_target(path + "x", "v=1") == "/m/default/[link]?v=1"
    relay = f"[relay] Dana (1001): How much? Photo: https://sms.example.test{path} thanks"
    assert redact(relay) == "[relay] Dana (1001): How much? Photo: https://sms.example.test/m/default/[link] thanks"
    assert media_id not in redact(f"GET {path} 200")
