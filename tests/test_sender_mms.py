"""The sender and pictures (docs/pictures.md): relays held until their pictures are fetched, MMS out.

A real TinyDB store, the real sender and fetcher, Twilio's HTTP side through respx
(FakeTwilio takes the sends). The clock is frozen and moved by hand: nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import respx

from bot.jobs import iso_utc
from bot.media import TEXT_LINK_SECONDS, UNAVAILABLE, LinkKeys, PictureLinks, open_link, replace_links
from bot.messages import inbound_message, outbound_message, with_media
from config.settings import Settings, load_settings
from sender.media.fetch import MediaFetcher
from sender.mms import MAX_HOLD_SECONDS, MIN_HOLD_SECONDS, hold_seconds, with_fetched_media
from sender.pacing import Backoff
from sender.transports.twilio import TwilioTransport
from sender.worker import Sender, running
from store import Message, Store, open_store
from tests.support import CUSTOMER, DISPATCHER
from tests.test_media_fetch import backend, item, jpeg, media_url, twilio_media
from tests.twilio_fake import FROM_NUMBER, FakeTwilio, status_callback_url, twilio_environ

DEADLINE = 10  # seconds before a hung worker fails the test (never reached when things work)
MESSAGE_SID = "MM" + "a1" * 16  # the inbound text the pictures came with (tests.test_media_fetch's)


class FrozenClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


class World:
    def __init__(self, store: Store, settings: Settings, router: respx.MockRouter) -> None:
        self.store = store
        self.settings = settings
        self.router = router
        self.twilio = FakeTwilio(router)
        self.clock = FrozenClock()
        self.links = PictureLinks(settings.public_base_url, settings.business_slug, str(settings.secret_key))
        router.delete(url__regex=r".*").respond(204)  # Twilio's copies, deleted once kept

    def link(self, media_id: str) -> str:
        return self.links.url(media_id, seconds=TEXT_LINK_SECONDS, now=self.clock().timestamp())

    async def inbound(self, sender: str, items: list[dict[str, str]]) -> Message:
        row = inbound_message(kind="text", sid=MESSAGE_SID, sender=sender, to=FROM_NUMBER, body="", job_id=None,
                              now=iso_utc(self.clock()), num_media=str(len(items)), reply=None,
                              media_fetch=items)  # fmt: skip
        return await self.store.add_message(row)

    async def queue(self, to: str, body: str, media: list[dict[str, Any]], *, age: timedelta = timedelta(0)) -> Message:
        row = outbound_message(kind="relay", to=to, body=body, sender=FROM_NUMBER, now=iso_utc(self.clock() - age),
                               opted_out=False)  # fmt: skip
        return await self.store.add_message(with_media(row, media, wait_sid=MESSAGE_SID))

    async def send_due(self) -> None:
        """Run the sender until nothing is in flight or due now."""
        sender = Sender(self.store, TwilioTransport(self.settings), rate_per_second=1000, give_up_hours=24,
                        backoff=Backoff(base=0, cap=0), settle_seconds=0, now=self.clock,
                        media_url=self.links.url)  # fmt: skip
        async with running(sender):
            await asyncio.wait_for(sender.wait_idle(), DEADLINE)

    async def fetch_due(self) -> None:
        fetcher = MediaFetcher(self.store, self.settings, now=self.clock)
        try:
            await fetcher.run_due()
        finally:
            await fetcher.stop()

    def sent_form(self) -> list[tuple[str, str]]:
        (create,) = self.twilio.creates
        return parse_qsl(create.content.decode())


@pytest.fixture(params=["tinydb", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    yield from backend(request.param)


def scenario(tmp_path: Any, body: Callable[[World], Awaitable[None]], **overrides: str) -> None:
    settings = load_settings(twilio_environ(tmp_path, **overrides), env_file=None)

    async def main() -> None:
        store = await open_store(settings.database_url)
        try:
            await body(World(store, settings, router))
        finally:
            await store.close()

    with respx.mock(assert_all_called=False) as router:
        asyncio.run(main())


def test_a_relay_waits_for_its_pictures_then_goes_with_the_failed_link_replaced(tmp_path, database):
    async def body(w: World) -> None:
        good, gone = item(media_url(1)), item(media_url(2))
        twilio_media(w.router, media_url(1), jpeg())
        w.router.get(media_url(2)).respond(404)
        await w.inbound(CUSTOMER, [good, gone])
        kept_link = w.link(good["id"])
        text = f"[relay] Dana (1001): How much for this? Photos: {kept_link} {w.link(gone['id'])}"
        relay = await w.queue(DISPATCHER, text, [])

        await w.send_due()  # the fetch has not run: the relay is held, and that is no attempt
        held = await w.store.get_message(relay["id"])
        assert w.twilio.creates == [] and held["status"] == "pending" and not held.get("attempts")

        await w.fetch_due()
        w.clock.at += timedelta(seconds=1)
        await w.send_due()
        sent = await w.store.get_message(relay["id"])
        assert sent["status"] == "queued" and sent["media_wait_sid"] is None and sent["attempts"] == 1
        assert sent["body"] == f"[relay] Dana (1001): How much for this? Photos: {kept_link} {UNAVAILABLE}"
        assert w.twilio.bodies == [sent["body"]] and "MediaUrl" not in dict(w.sent_form())

    scenario(tmp_path, body, **database)


def test_a_dispatchers_photo_goes_to_the_customer_as_an_mms_once_kept(tmp_path, database):
    photo = jpeg()

    async def body(w: World) -> None:
        picture = item(media_url(1))
        twilio_media(w.router, media_url(1), photo)
        await w.inbound(DISPATCHER, [picture])
        done = await w.queue(CUSTOMER, "Your junk is gone. Thanks!", [{"id": picture["id"]}])
        await w.fetch_due()
        await w.send_due()

        assert sorted(w.sent_form()) == [
            ("Body", "Your junk is gone. Thanks!"),
            ("From", FROM_NUMBER),
            ("MediaUrl", w.link(picture["id"])),
            ("StatusCallback", status_callback_url(done["id"])),
            ("To", CUSTOMER),
        ]
        sent = await w.store.get_message(done["id"])
        assert sent["status"] == "queued"
        assert sent["media"] == [{"id": picture["id"], "type": "image/jpeg", "size": len(photo)}]
        # The link Twilio fetches opens that picture, for a week.
        link = urlsplit(w.link(picture["id"]))
        keys = LinkKeys.from_secret(str(w.settings.secret_key))
        week = w.clock().timestamp() + TEXT_LINK_SECONDS
        assert open_link(keys, "default", link.path.rsplit("/", 1)[1], week - 60) == picture["id"]
        assert open_link(keys, "default", link.path.rsplit("/", 1)[1], week + 1) is None

    scenario(tmp_path, body, **database)


def test_a_dispatchers_photo_that_could_not_be_kept_leaves_a_plain_text(tmp_path):
    async def body(w: World) -> None:
        picture = item(media_url(1))
        twilio_media(w.router, media_url(1), b"<html>not found</html>")
        await w.inbound(DISPATCHER, [picture])
        done = await w.queue(CUSTOMER, "Your junk is gone. Thanks!", [{"id": picture["id"]}])
        await w.fetch_due()
        await w.send_due()
        assert "MediaUrl" not in dict(w.sent_form())
        assert (await w.store.get_message(done["id"]))["media"] == []

    scenario(tmp_path, body)


def test_a_text_held_for_its_pictures_still_gives_up_after_send_give_up_hours(tmp_path):
    async def body(w: World) -> None:
        await w.inbound(CUSTOMER, [item(media_url(1))])  # never fetched
        relay = await w.queue(DISPATCHER, "[relay] Dana: Photo: https://x/m/default/a.b.c", [], age=timedelta(hours=25))
        await w.send_due()
        given_up = await w.store.get_message(relay["id"])
        assert given_up["status"] == "failed" and "not sent within 24 hours" in given_up["error_message"]
        assert w.twilio.creates == []

    scenario(tmp_path, body)


# -- the pure parts ---------------------------------------------------------------------


def test_only_the_links_of_the_failed_pictures_are_replaced():
    body = "Photos: https://s.test/m/default/AAA.k1.s1 https://s.test/m/default/BBB.k2.s2, see"
    assert replace_links(body, ["BBB"]) == f"Photos: https://s.test/m/default/AAA.k1.s1 {UNAVAILABLE}, see"
    assert replace_links(body, []) == body
    assert replace_links(body, ["AA"]) == body  # a prefix of an id is not the id
    assert replace_links("no links, /BBB. here", ["BBB"]) == "no links, /BBB. here"


def test_a_row_waiting_for_a_text_that_is_not_there_goes_without_pictures():
    row = {"body": "Done", "media": [{"id": "AAA"}], "media_wait_sid": MESSAGE_SID}
    assert with_fetched_media(row, None) == {"body": "Done", "media": [], "media_wait_sid": None}
    assert with_fetched_media({"body": "Hi", "media": [{"id": "AAA"}]}, None)["media"] == [{"id": "AAA"}]


def test_a_status_text_whose_dispatchers_text_is_not_stored_goes_at_once_without_pictures(tmp_path):
    """A status text is stored in the same write as the dispatcher's text that carried its picture
    (handlers/twilio/moves.py): a row whose text is missing has nothing to wait for."""

    async def body(w: World) -> None:
        done = await w.queue(CUSTOMER, "Your junk is gone. Thanks!", [{"id": "A" * 22}])
        await w.send_due()
        assert w.twilio.bodies == ["Your junk is gone. Thanks!"] and "MediaUrl" not in dict(w.sent_form())
        assert (await w.store.get_message(done["id"]))["media"] == []

    scenario(tmp_path, body)


def test_a_held_text_looks_again_soon_at_first_and_less_often_the_longer_it_waits():
    queued = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    row = {"created_at": iso_utc(queued)}
    looks = [hold_seconds(row, queued + timedelta(seconds=waited)) for waited in (0, 0.2, 1, 10)]
    assert looks == [MIN_HOLD_SECONDS, 0.1, 0.5, MAX_HOLD_SECONDS]
