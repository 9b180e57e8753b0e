"""The picture fetcher (sender/media/fetch.py): Twilio's HTTP side through respx, a real TinyDB store.

Every test queues an inbound text with pictures to fetch, as the webhook stores it,
runs the fetcher over what is due (`run_due`: no loop, no clock, nothing timed), and
reads back the row and the pictures kept. Backoff is zero where retries are the point.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from bot.errors import StoreUnavailable
from bot.jobs import iso_utc
from bot.media import MAX_BYTES, new_media_id
from bot.messages import inbound_message
from bot.notifications import Notifier
from bot.templates import load_templates
from config.settings import Settings, load_settings
from sender.business_loops import BusinessLoops
from sender.media import fetch as media_fetch
from sender.media.fetch import MediaFetcher
from sender.media.rows import MAX_TRIES, Outcome, claimed, handed_back, settled
from sender.pacing import Backoff
from store import Message, Store, open_store
from tests.pg import fresh_database, require_postgres
from tests.support import CUSTOMER, base_environ
from tests.twilio_fake import ACCOUNT_SID, API_KEY, API_SECRET, AUTH_TOKEN, FROM_NUMBER, basic_auth, twilio_environ

MESSAGE_SID = "MM" + "a1" * 16
CDN = "https://mms.twiliocdn.com"
LOCAL_TWILIO = "http://127.0.0.1:4010"
DEADLINE = 10  # seconds before a hung loop fails the test (never reached when things work)


# -- small real pictures, made here ---------------------------------------------------


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG of `width` x `height` (its header says so; the pixels are only a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x80" * 3 * min(width, 4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A JPEG's header as a camera writes it (JFIF, then the frame size), then a stand-in scan."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + frame + b"\xff\xda" + b"\x00" * 200 + b"\xff\xd9"


# -- the world: a store, the fetcher, Twilio's media ----------------------------------


def media_url(n: int, origin: str = "https://api.twilio.com") -> str:
    return f"{origin}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{MESSAGE_SID}/Media/ME{n:032x}"


def item(url: str, declared: str = "image/jpeg") -> dict[str, str]:
    return {"id": new_media_id(), "url": url, "type": declared}


def twilio_media(router: respx.MockRouter, url: str, body: bytes, **headers: str) -> tuple[respx.Route, respx.Route]:
    """Twilio's way: the Media resource answers 307 to a pre-signed CDN link, which serves the bytes."""
    cdn = f"{CDN}/{ACCOUNT_SID}/{url.rsplit('/', 1)[1].lower()}?Expires=1&Signature=x"
    api = router.get(url).respond(307, headers={"Location": cdn})
    bytes_route = router.get(cdn).respond(200, content=body, headers={"Content-Type": "image/jpeg", **headers})
    return api, bytes_route


async def queue_inbound(store: Store, items: list[dict[str, str]]) -> Message:
    row = inbound_message(kind="text", sid=MESSAGE_SID, sender=CUSTOMER, to=FROM_NUMBER, body="How much for this?",
                          now=iso_utc(datetime.now(UTC)), job_id=None, num_media=str(len(items)), reply=None,
                          media_fetch=items)  # fmt: skip
    return await store.add_message(row)


Body = Callable[[Store, Settings, respx.MockRouter], Awaitable[None]]


def scenario(body: Body, environ: dict[str, str]) -> None:
    """Run `body(store, settings, router)` on a fresh store, with every HTTP request mocked."""
    settings = load_settings(environ, env_file=None)

    async def main() -> None:
        store = await open_store(settings.database_url)
        try:
            await body(store, settings, router)
        finally:
            await store.close()

    with respx.mock(assert_all_called=False) as router:
        asyncio.run(main())


async def fetch_all(store: Store, settings: Settings, row: Message, backoff: Backoff | None = None) -> Message:
    """Run the fetcher over everything due; the row afterwards."""
    fetcher = MediaFetcher(store, settings, backoff=backoff or Backoff(base=0, cap=0))
    try:
        await fetcher.run_due()
    finally:
        await fetcher.stop()
    return await store.get_message(row["id"])


def live(tmp_path: Any, **overrides: str) -> dict[str, str]:
    return twilio_environ(tmp_path, **overrides)


def backend(name: str) -> Iterator[dict[str, str]]:
    """Settings overrides naming a store of the backend `name` (TinyDB: the test's own folder)."""
    if name == "tinydb":
        yield {}
        return
    require_postgres()
    with fresh_database("media") as url:
        yield {"DATABASE_URL": url}


@pytest.fixture(params=["tinydb", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    yield from backend(request.param)


# -- a picture kept ---------------------------------------------------------------------


def test_pictures_are_fetched_with_basic_auth_through_twilios_redirect_kept_and_deleted_at_twilio(tmp_path, database):
    photo, screenshot = jpeg(), png()

    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        first, second = item(media_url(1)), item(media_url(2), declared="image/png")
        api1, cdn1 = twilio_media(router, media_url(1), photo)
        api2, _ = twilio_media(router, media_url(2), screenshot)
        deletes = router.delete(url__regex=r"https://api\.twilio\.com/.*/Media/ME[0-9a-f]+\.json").respond(204)
        row = await fetch_all(store, settings, await queue_inbound(store, [first, second]))

        assert row["media"] == [
            {"id": first["id"], "type": "image/jpeg", "size": len(photo)},
            {"id": second["id"], "type": "image/png", "size": len(screenshot)},
        ]
        assert (row["media_fetch"], row["media_failed"], row["media_due_at"], row["media_attempts"]) == (
            [],
            [],
            None,
            1,
        )
        kept = await store.load_media(first["id"])
        assert kept is not None and kept.data == photo and kept.content_type == "image/jpeg"
        assert kept.message_id == row["id"]
        # The credentials go to Twilio's API only, never to the CDN host it redirects to.
        assert api1.calls.last.request.headers["authorization"] == basic_auth(API_KEY, API_SECRET)
        assert "authorization" not in cdn1.calls.last.request.headers
        assert api2.call_count == 1
        # Twilio's copy goes once ours is safe: DELETE on each Media resource, through the SDK.
        assert sorted(str(call.request.url) for call in deletes.calls) == [
            media_url(1) + ".json",
            media_url(2) + ".json",
        ]
        assert deletes.calls.last.request.headers["authorization"] == basic_auth(API_KEY, API_SECRET)

    scenario(body, live(tmp_path, **database))


def test_with_delete_twilio_media_off_twilios_copy_stays(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        twilio_media(router, media_url(1), jpeg())
        deletes = router.delete(url__regex=r".*").respond(204)
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1))]))
        assert len(row["media"]) == 1 and not deletes.called

    scenario(body, live(tmp_path, DELETE_TWILIO_MEDIA="false"))


def test_without_an_api_key_the_account_sid_and_auth_token_fetch_and_a_failed_delete_is_only_logged(tmp_path, caplog):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        api, _ = twilio_media(router, media_url(1), jpeg())
        router.delete(url__regex=r".*").respond(500, json={"code": 20500, "message": "Internal", "status": 500})
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1))]))
        assert len(row["media"]) == 1
        assert api.calls.last.request.headers["authorization"] == basic_auth(ACCOUNT_SID, AUTH_TOKEN)

    with caplog.at_level(logging.WARNING, logger="qdn.media"):
        scenario(body, live(tmp_path, TWILIO_API_KEY="", TWILIO_API_SECRET=""))
    assert any("not deleted: HTTP 500" in r.getMessage() for r in caplog.records)


def test_a_local_twilio_at_twilio_api_base_url_serves_and_deletes_its_pictures(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        url = media_url(1, LOCAL_TWILIO)
        router.get(url).respond(307, headers={"Location": "/media-host/ME1"})  # its own "media host"
        router.get(f"{LOCAL_TWILIO}/media-host/ME1").respond(200, content=png())
        deletes = router.delete(url + ".json").respond(204)
        row = await fetch_all(store, settings, await queue_inbound(store, [item(url)]))
        assert row["media"][0]["type"] == "image/png" and deletes.call_count == 1

    scenario(body, live(tmp_path, TWILIO_API_BASE_URL=LOCAL_TWILIO))


def test_in_local_use_the_simulators_loopback_picture_is_fetched_and_nothing_is_deleted(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        url = "http://127.0.0.1:8000/chat/photos/abc"
        served = router.get(url).respond(200, content=jpeg())
        deletes = router.delete(url__regex=r".*").respond(204)
        row = await fetch_all(store, settings, await queue_inbound(store, [item(url)]))
        assert row["media"][0]["type"] == "image/jpeg" and not deletes.called
        assert "authorization" not in served.calls.last.request.headers  # no Twilio settings: none to send

    scenario(body, base_environ(tmp_path))


def test_in_local_use_a_twilio_picture_is_given_up_at_once_with_no_credentials_to_fetch_it(tmp_path):
    """No Twilio settings, no way in: no try can succeed, so none holds the relays back for minutes."""

    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        anything = router.route().respond(200, content=jpeg())
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1))]))
        assert row["media"] == [] and row["media_fetch"] == [] and row["media_due_at"] is None
        assert "no Twilio credentials" in error_of(row) and not anything.called

    scenario(body, base_environ(tmp_path))


def test_a_type_declared_wrongly_is_kept_as_the_bytes_say(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        twilio_media(router, media_url(1), jpeg(), **{"Content-Type": "image/gif"})
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1), declared="image/png")]))
        assert row["media"][0]["type"] == "image/jpeg"
        kept = await store.load_media(row["media"][0]["id"])
        assert kept is not None and kept.content_type == "image/jpeg"

    scenario(body, live(tmp_path))


# -- bad input: given up at once, or never requested ---------------------------------------


def failed_once(tmp_path: Any, serve: Callable[[respx.MockRouter], object], url: str = media_url(1)) -> Message:
    """The row after one fetch of a single picture Twilio serves as `serve` sets up."""
    rows: list[Message] = []

    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        serve(router)
        rows.append(await fetch_all(store, settings, await queue_inbound(store, [item(url)])))

    scenario(body, live(tmp_path))
    (row,) = rows
    assert row["media"] == [] and row["media_fetch"] == [] and row["media_due_at"] is None
    assert row["media_attempts"] == 1  # permanent: never tried again
    return row


def error_of(row: Message) -> str:
    (failed,) = row["media_failed"]
    return failed["error"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/2010-04-01/Accounts/AC/Messages/MM/Media/ME",
        "http://127.0.0.1:8000/chat/photos/abc",  # loopback is the simulator's, in local use only
        "https://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT_SID + "/Messages.json",  # Twilio's, not media
    ],
)
def test_a_url_that_is_not_a_twilio_media_resource_is_never_requested(tmp_path, url):
    routes: list[respx.Route] = []
    row = failed_once(tmp_path, lambda router: routes.append(router.route().respond(200, content=jpeg())), url)
    assert "not a Twilio media URL" in error_of(row)
    assert not routes[0].called


def test_a_redirect_to_an_internal_host_is_not_followed(tmp_path):
    internal: list[respx.Route] = []

    def serve(router: respx.MockRouter) -> None:
        router.get(media_url(1)).respond(307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        internal.append(router.get(url__startswith="http://169.254.169.254").respond(200, content=jpeg()))

    assert "redirected off Twilio's media hosts" in error_of(failed_once(tmp_path, serve))
    assert not internal[0].called


def test_a_redirect_loop_ends_after_three_redirects(tmp_path):
    routes: list[respx.Route] = []

    def serve(router: respx.MockRouter) -> None:
        routes.append(router.get(media_url(1)).respond(307, headers={"Location": media_url(1)}))

    assert error_of(failed_once(tmp_path, serve)) == "more than 3 redirects"
    assert routes[0].call_count == 4


def test_a_404_is_given_up_at_once(tmp_path):
    row = failed_once(tmp_path, lambda router: router.get(media_url(1)).respond(404, json={"code": 20404}))
    assert error_of(row) == "HTTP 404 from Twilio"


def test_an_html_page_is_not_a_picture(tmp_path):
    page = b"<!doctype html><html><body>Sign in</body></html>"
    row = failed_once(
        tmp_path, lambda router: twilio_media(router, media_url(1), page, **{"Content-Type": "image/jpeg"})
    )
    assert "not a JPEG, PNG, GIF, WebP or HEIC/HEIF picture" in error_of(row)


def test_a_decompression_bomb_is_refused_by_its_header(tmp_path):
    bomb = png(100_000, 100_000)  # a few dozen bytes announcing 10 billion pixels
    assert len(bomb) < 200
    row = failed_once(tmp_path, lambda router: twilio_media(router, media_url(1), bomb))
    assert "100000 x 100000 pixels" in error_of(row)


class FiftyMegabytes(httpx.AsyncByteStream):
    """A 50 MB JPEG-looking body, in 64 KB chunks, counting what was read of it."""

    total = 50 * 1024 * 1024

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            piece = (jpeg() if self.sent == 0 else b"") + b"\x00" * 65536
            self.sent += len(piece)
            yield piece


def test_a_50_mb_body_is_read_only_up_to_the_limit(tmp_path):
    stream = FiftyMegabytes()
    row = failed_once(tmp_path, lambda router: twilio_media(router, media_url(1), b"")[1].mock(
        return_value=httpx.Response(200, stream=stream)))  # fmt: skip
    assert error_of(row) == "larger than 5 MB"
    assert MAX_BYTES < stream.sent < MAX_BYTES + 256 * 1024 < stream.total


def test_a_declared_length_past_the_limit_is_refused_unread(tmp_path):
    stream = FiftyMegabytes()
    row = failed_once(tmp_path, lambda router: twilio_media(router, media_url(1), b"")[1].mock(
        return_value=httpx.Response(200, stream=stream, headers={"Content-Length": str(stream.total)})))  # fmt: skip
    assert error_of(row) == "larger than 5 MB" and stream.sent == 0


def test_at_most_ten_pictures_of_one_text_are_fetched(tmp_path, database):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        served = router.get(url__regex=r"https://api\.twilio\.com/.*/Media/ME[0-9a-f]+$").respond(200, content=png())
        router.delete(url__regex=r".*").respond(204)
        items = [item(media_url(n)) for n in range(11)]
        row = await fetch_all(store, settings, await queue_inbound(store, items))
        assert [m["id"] for m in row["media"]] == [i["id"] for i in items[:10]]
        assert row["media_failed"] == [{"id": items[10]["id"], "error": "more than 10 pictures in one text"}]
        assert served.call_count == 10 and media_url(10) not in {str(c.request.url) for c in served.calls}

    scenario(body, live(tmp_path, **database))


# -- retries ------------------------------------------------------------------------------


def test_a_timeout_is_retried_and_the_picture_kept_on_the_next_try(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        api, _ = twilio_media(router, media_url(1), jpeg())
        api.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(307, headers={"Location": api_cdn(api)})]
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1))]))
        assert len(row["media"]) == 1 and row["media_failed"] == [] and row["media_attempts"] == 2

    def api_cdn(api: respx.Route) -> str:
        return str(api.return_value.headers["location"])  # type: ignore[union-attr]

    scenario(body, live(tmp_path))


def test_a_retryable_failure_stays_to_fetch_after_a_backoff(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        router.get(media_url(1)).respond(503)
        queued = await queue_inbound(store, [item(media_url(1))])
        row = await fetch_all(store, settings, queued, backoff=Backoff(base=30, cap=30))
        assert row["media_fetch"] == queued["media_fetch"] and row["media_failed"] == []
        assert row["media_attempts"] == 1 and row["media_due_at"] > iso_utc(datetime.now(UTC))
        assert await store.due_media(iso_utc(datetime.now(UTC)), 10) == []

    scenario(body, live(tmp_path))


def test_a_picture_that_keeps_failing_is_given_up_after_five_tries(tmp_path, database):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        api = router.get(media_url(1)).respond(503)
        row = await fetch_all(store, settings, await queue_inbound(store, [item(media_url(1))]))
        assert api.call_count == MAX_TRIES == row["media_attempts"]
        assert error_of(row) == f"HTTP 503 from Twilio (gave up after {MAX_TRIES} tries)"
        assert row["media_fetch"] == [] and row["media_due_at"] is None

    scenario(body, live(tmp_path, **database))


def test_two_fetchers_on_one_row_fetch_it_once(tmp_path, database):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        api, _ = twilio_media(router, media_url(1), jpeg())
        router.delete(url__regex=r".*").respond(204)
        row = await queue_inbound(store, [item(media_url(1))])
        one, two = MediaFetcher(store, settings), MediaFetcher(store, settings)
        results = await asyncio.gather(one.fetch_row(row), two.fetch_row(row))
        await one.stop()
        await two.stop()
        assert sorted(result is None for result in results) == [False, True] and api.call_count == 1

    scenario(body, live(tmp_path, **database))


def test_a_fetch_slower_than_its_lease_stays_with_its_living_fetcher(tmp_path, database, monkeypatch):
    monkeypatch.setattr(media_fetch, "LEASE_SECONDS", 1.0)  # renewed every 0.25 s; the fetch takes 3 s

    async def slow_cdn(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3.0)
        return httpx.Response(200, content=jpeg(), headers={"Content-Type": "image/jpeg"})

    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        api, cdn = twilio_media(router, media_url(1), b"")
        cdn.side_effect = slow_cdn
        router.delete(url__regex=r".*").respond(204)
        row = await queue_inbound(store, [item(media_url(1))])
        one, two = MediaFetcher(store, settings), MediaFetcher(store, settings)
        slow = asyncio.create_task(one.fetch_row(row))
        taken_over = []
        while not slow.done():  # another fetcher keeps trying, past the first lease and beyond
            await asyncio.sleep(0.3)
            taken_over.append(await two.fetch_row(await store.get_message(row["id"])))
        settled_row = await slow
        await one.stop()
        await two.stop()
        assert [taken for taken in taken_over if taken is not None] == [] and api.call_count == 1
        assert settled_row is not None and len(settled_row["media"]) == 1 and not settled_row["media_fetch"]

    scenario(body, live(tmp_path, **database))


def test_a_claim_a_settle_or_a_hand_back_after_the_claim_was_lost_writes_nothing():
    lease, theirs, now = "2026-01-01T00:02:00.000Z", "2026-01-01T00:02:30.000Z", "2026-01-01T00:00:00.000Z"
    row = {"media_due_at": theirs, "media_fetch": [{"id": "a"}], "media_attempts": 1}
    assert claimed(row, now, lease) is None  # another fetcher's lease has not run out
    assert settled(row, lease, {"a": Outcome("kept", content_type="image/png")}, now) is None
    assert handed_back(row, lease, now) is None
    assert claimed({**row, "media_due_at": now}, now, lease) == {**row, "media_due_at": lease, "media_attempts": 2}


def test_a_row_due_with_nothing_to_fetch_is_cleared_rather_than_claimed_again_and_again():
    assert claimed({"media_due_at": "2026-01-01T00:00:00.000Z", "media_fetch": []}, "2026-01-02", "x") == {
        "media_due_at": None,
        "media_fetch": [],
    }


# -- the loop, as `qdn serve` and `qdn send` run it -----------------------------------------


def test_each_business_runs_a_fetcher_beside_its_sender(tmp_path, database):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        twilio_media(router, media_url(1), jpeg())
        router.delete(url__regex=r".*").respond(204)
        loops = BusinessLoops()
        await loops.run("default", store, settings, Notifier.for_business(settings, load_templates(None)))
        try:
            row = await queue_inbound(store, [item(media_url(1))])
            async with asyncio.timeout(DEADLINE):
                while (await store.get_message(row["id"]))["media_fetch"]:
                    await asyncio.sleep(0.05)
        finally:
            await loops.stop_all()
        assert len((await store.get_message(row["id"]))["media"]) == 1

    scenario(body, live(tmp_path, **database))


def test_a_stop_cuts_a_hung_fetch_short_and_hands_its_row_back(tmp_path):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        asked = asyncio.Event()

        async def hang(request: httpx.Request) -> httpx.Response:
            asked.set()
            await asyncio.Event().wait()  # Twilio never answers (until the stop cancels it)
            raise AssertionError("unreachable")

        router.get(media_url(1)).mock(side_effect=hang)
        row = await queue_inbound(store, [item(media_url(1))])
        fetcher = MediaFetcher(store, settings, poll_seconds=0.05)
        fetcher.stop_grace_seconds = 0
        await fetcher.start()
        try:
            await asyncio.wait_for(asked.wait(), DEADLINE)
        finally:
            await fetcher.stop()
        back = await store.get_message(row["id"])
        assert back["media_fetch"] == row["media_fetch"] and back["media_attempts"] == 1
        assert back["media_due_at"] <= iso_utc(datetime.now(UTC))  # due again now, not after the lease

    scenario(body, live(tmp_path))


class AwayOnce:
    """A store whose database is away for the first look at the pictures due."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.looks = 0

    async def next_media_due(self) -> str | None:
        self.looks += 1
        if self.looks == 1:
            raise StoreUnavailable("PostgreSQL is unavailable (ConnectionRefusedError)")
        return await self.store.next_media_due()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_database_away_is_one_warning_line_and_the_fetcher_carries_on(tmp_path, caplog):
    async def body(store: Store, settings: Settings, router: respx.MockRouter) -> None:
        away = AwayOnce(store)
        fetcher = MediaFetcher(away, settings, poll_seconds=0.05)  # type: ignore[arg-type]
        fetcher.away_pause_seconds = 0.05
        await fetcher.start()
        try:
            async with asyncio.timeout(DEADLINE):
                while away.looks < 3:
                    await asyncio.sleep(0.05)
        finally:
            await fetcher.stop()

    with caplog.at_level(logging.INFO, logger="qdn.media"):
        scenario(body, live(tmp_path))
    lines = [r for r in caplog.records if r.name == "qdn.media"]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("WARNING", "media fetcher: PostgreSQL is unavailable (ConnectionRefusedError); trying again")
    ]
    assert all(r.exc_info is None for r in lines)
