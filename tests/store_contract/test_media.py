"""Pictures (SPEC "Pictures (MMS)"): what every backend must keep, find and refuse (Store.save_media ...).

The bytes: kept whole under their media id, the first save of an id staying, found again after a
restart, never through another business's store, and nothing kept for bad input. The fetches due:
messages carrying `media_due_at`, earliest first, claimed (moved a lease ahead) and settled
(cleared) through `update_message`, as sender/media/fetch.py does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.media import MAX_BYTES, new_media_id
from store import MediaFile, Message, Store, open_deployment, open_store
from store.records import MessageRecord
from tests.store_contract.support import CUSTOMER, OTHER, add_job, assert_declared, inbound, run

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4 + b"\n\r\n\x00\xff\xd9"  # newlines, NULs
AT = "2024-11-27T18:32:40.123Z"
EARLY, NOW, LEASE_END, LATER = (f"2024-11-27T18:{minute}:00.000Z" for minute in (30, 33, 35, 50))
# Ids new_media_id() never makes: too short or long, a path, a temp file's name, other characters, no text.
BAD_IDS: list[Any] = [
    *("", "short", "x" * 65),
    *("../qdn.json", "..", "a/b" * 8, ".abcdefghijklmnopq.tmp"),
    *("abcdefghijklmnop\x00", "abcdefghijklmnopé", "abcdefghijklmnop\n", " abcdefghijklmnop", "abcdefghijklmnop."),
    12345678901234567,
]


def picture(data: bytes = PNG, *, media_id: str | None = None, content_type: str = "image/png") -> MediaFile:
    return MediaFile(media_id or new_media_id(), content_type, data, "1001-1", AT)


async def with_store(database_url: str, scenario: Callable[[Store], Awaitable[Any]]) -> Any:
    store = await open_store(database_url)
    try:
        return await scenario(store)
    finally:
        await store.close()


def fetching(sid: str, due: str | None, *, job_id: int | None = None, phone: str = CUSTOMER) -> Message:
    """An inbound text with a picture still to fetch (handlers/twilio/receive.py's shape)."""
    item = {"id": new_media_id(), "url": f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/{sid}/Media/ME1",
            "type": "image/jpeg"}  # fmt: skip
    return {**inbound(sid, phone=phone, job_id=job_id, body="look"), "kind": "text", "num_media": "1", "media": [],
            "media_fetch": [item], "media_due_at": due, "media_attempts": 0}  # fmt: skip


def due_at(when: str | None) -> Callable[[Message], Message]:
    return lambda message: {**message, "media_due_at": when}


# -- the bytes ---------------------------------------------------------------------------------------


def test_a_saved_picture_loads_back_whole_with_its_type_size_message_and_time(database_url: str) -> None:
    png, jpeg = picture(), picture(JPEG, content_type="image/jpeg")
    biggest = picture(b"\xff\xd8\xff" + b"\x00" * (MAX_BYTES - 3), content_type="image/jpeg")

    async def scenario(store: Store) -> list[MediaFile | None]:
        for media in (png, jpeg, biggest):
            await store.save_media(media)
        return [await store.load_media(media.id) for media in (png, jpeg, biggest)]

    loaded = run(with_store(database_url, scenario))
    assert loaded == [png, jpeg, biggest]
    assert [media.size for media in loaded if media] == [len(PNG), len(JPEG), MAX_BYTES]
    assert all(type(media.data) is bytes for media in loaded if media)  # not a memoryview or bytearray


def test_an_unknown_or_malformed_id_loads_nothing(database_url: str) -> None:
    async def scenario(store: Store) -> list[MediaFile | None]:
        await store.save_media(picture(media_id="abcdefghijklmnopqrstuv"))
        unknown = [new_media_id(), "ABCDEFGHIJKLMNOPQRSTUV", "abcdefghijklmnopqrstu", "abcdefghijklmnopqrstuvw"]
        return [await store.load_media(media_id) for media_id in [*unknown, *BAD_IDS]]

    assert run(with_store(database_url, scenario)) == [None] * (4 + len(BAD_IDS))


@pytest.mark.parametrize(
    "bad",
    [
        *({"id": media_id} for media_id in BAD_IDS),
        {"content_type": "text/html"},
        {"content_type": "image/svg+xml"},  # a picture that runs scripts: never kept
        {"content_type": ""},
        {"data": b""},
        {"data": b"\xff" * (MAX_BYTES + 1)},
        {"data": "text, not bytes"},
        {"message_id": ""},
        {"created_at": ""},
        {"message_id": "1\x00"},
    ],
)
def test_bad_input_is_refused_and_keeps_nothing(database_url: str, bad: dict[str, Any]) -> None:
    media = replace(picture(), **bad)

    async def scenario(store: Store) -> MediaFile | None:
        with pytest.raises(ValueError):
            await store.save_media(media)
        return await store.load_media(media.id)

    assert run(with_store(database_url, scenario)) is None


def test_a_second_save_of_an_id_keeps_the_first(database_url: str) -> None:
    first = picture()
    second = replace(first, data=JPEG, content_type="image/jpeg", message_id="1001-2")

    async def scenario(store: Store) -> tuple[MediaFile | None, MediaFile | None]:
        await store.save_media(first)
        await store.save_media(second)  # harmless: two fetchers on one expired lease
        racing = picture()
        await asyncio.gather(*(store.save_media(replace(racing, data=PNG + bytes([n]))) for n in range(6)))
        return await store.load_media(first.id), await store.load_media(racing.id)

    kept, raced = run(with_store(database_url, scenario))
    assert kept == first
    assert raced is not None and raced.data in [PNG + bytes([n]) for n in range(6)]  # one of them, whole


def test_pictures_survive_a_restart(database_url: str) -> None:
    pictures = [picture(), picture(JPEG, content_type="image/jpeg"), picture(content_type="image/heic")]

    async def save(store: Store) -> None:
        for media in pictures:
            await store.save_media(media)

    async def load(store: Store) -> list[MediaFile | None]:
        return [await store.load_media(media.id) for media in pictures]

    run(with_store(database_url, save))
    assert run(with_store(database_url, load)) == pictures  # TinyDB: read from its files; PostgreSQL: anew


def test_a_picture_kept_before_its_message_is_given_its_message_and_nothing_else_changes(database_url: str) -> None:
    kept = picture(JPEG, content_type="image/jpeg")
    other = picture()

    async def scenario(store: Store) -> tuple[MediaFile | None, MediaFile | None]:
        await store.save_media(kept)
        await store.save_media(other)
        await store.set_media_message(kept.id, "1001-7")
        await store.set_media_message(kept.id, "1001-7")  # again: harmless
        await store.set_media_message(new_media_id(), "1001-8")  # an id not held: nothing
        await store.set_media_message("../qdn.json", "1001-8")  # a malformed one: nothing
        for bad in ("", "1\x00"):
            with pytest.raises(ValueError):
                await store.set_media_message(other.id, bad)
        return await store.load_media(kept.id), await store.load_media(other.id)

    assert run(with_store(database_url, scenario)) == (replace(kept, message_id="1001-7"), other)

    async def reopened(store: Store) -> MediaFile | None:
        return await store.load_media(kept.id)

    assert run(with_store(database_url, reopened)) == replace(kept, message_id="1001-7")  # durable


def test_one_business_picture_is_not_found_through_another_business_store(database_url: str) -> None:
    acme_picture = picture()
    bolt_picture = replace(acme_picture, data=JPEG, content_type="image/jpeg")  # the same id, saved at bolt too

    async def scenario() -> dict[str, list[MediaFile | None]]:
        deployment = await open_deployment(database_url)
        try:
            for slug in ("acme", "bolt", "cargo"):
                await deployment.add_business({"slug": slug, "name": slug, "numbers": [], "tokens": [],
                                               "messaging_service_sid": None})  # fmt: skip
            await deployment.store("acme").save_media(acme_picture)
            await deployment.store("bolt").save_media(bolt_picture)
            slugs = ("acme", "bolt", "cargo", "default")
            return {slug: [await deployment.store(slug).load_media(acme_picture.id)] for slug in slugs}
        finally:
            await deployment.close()

    assert run(scenario()) == {"acme": [acme_picture], "bolt": [bolt_picture], "cargo": [None], "default": [None]}


def test_a_closed_store_refuses_pictures_with_a_store_error(database_url: str) -> None:
    from bot.errors import StoreError

    async def scenario() -> None:
        store = await open_store(database_url)
        await store.close()
        with pytest.raises(StoreError):
            await store.save_media(picture())
        with pytest.raises(StoreError):
            await store.load_media(new_media_id())

    run(scenario())


# -- the fetches due ---------------------------------------------------------------------------------


def test_due_media_are_the_texts_due_by_now_earliest_first_with_their_ids(database_url: str) -> None:
    async def scenario(store: Store) -> tuple[Any, ...]:
        await add_job(store)
        later = await store.add_message(fetching("SM1", LATER))
        now = await store.add_message(fetching("SM2", NOW, job_id=1001))
        settled = await store.add_message(fetching("SM3", None))
        early = await store.add_message(fetching("SM4", EARLY, phone=OTHER))
        await store.add_message(inbound("SM5"))  # no pictures at all
        return (
            [later, now, settled, early],
            await store.due_media(NOW, 10),
            await store.due_media(NOW, 1),
            await store.due_media(NOW, 0),
            await store.due_media(EARLY, 10),
            await store.due_media("2024-11-27T18:29:59.999Z", 10),
            await store.due_media(LATER, 10),
            await store.next_media_due(),
        )

    written, due, one, none, at_early, before_any, by_later, upcoming = run(with_store(database_url, scenario))
    later, now, settled, early = written
    assert due == [early, now]  # whole messages, ids and all, as stored
    assert one == [early] and none == [] and at_early == [early] and before_any == []
    assert [m["id"] for m in by_later] == [early["id"], now["id"], later["id"]]
    assert settled["id"] not in {m["id"] for m in by_later}
    assert upcoming == EARLY
    for message in due:
        assert_declared(message, MessageRecord, "due_media's message")


def test_a_text_with_a_nul_or_the_key_itself_in_its_words_is_stored_and_due_as_it_says(database_url: str) -> None:
    """Bodies are kept as sent, control characters included; a customer typing the key's own
    spelling in JSON makes no fetch due."""

    async def scenario(store: Store) -> tuple[Any, ...]:
        nul = await store.add_message({**fetching("SM1", EARLY), "body": "look\x00 at this"})
        typed = await store.add_message({**inbound("SM2"), "body": '"media_due_at":"2000-01-01T00:00:00.000Z"'})
        plain = await store.add_message({**inbound("SM3"), "body": "nul \x00 here"})
        return nul, typed, plain, await store.due_media(LATER, 10), await store.next_media_due()

    nul, typed, plain, due, upcoming = run(with_store(database_url, scenario))
    assert [m["id"] for m in due] == [nul["id"]] and due[0]["body"] == "look\x00 at this"
    assert upcoming == EARLY
    assert typed["body"].startswith('"media_due_at"') and plain["body"] == "nul \x00 here"


def test_a_text_with_pictures_to_fetch_wakes_the_fetchers_and_a_plain_text_does_not(database_url: str) -> None:
    """Fetchers wait on the store (wait_for_media) rather than poll: a customer's picture is fetched
    the moment its text is stored (TinyDB in its process; PostgreSQL in every process, by NOTIFY)."""

    async def scenario(store: Store) -> tuple[bool, bool]:
        plain = asyncio.ensure_future(store.wait_for_media(0.5))
        await store.record_inbound(inbound("SM1"))
        woke_for_plain = await plain
        waiting = asyncio.ensure_future(store.wait_for_media(30))  # 30 s: only a hang guard
        await asyncio.sleep(0)
        await store.record_inbound(fetching("SM2", EARLY))
        return woke_for_plain, await waiting

    assert run(with_store(database_url, scenario)) == (False, True)


def test_nothing_due_is_none_and_an_empty_list(database_url: str) -> None:
    async def scenario(store: Store) -> tuple[Any, ...]:
        await store.add_message(inbound("SM1"))
        return await store.due_media(LATER, 10), await store.next_media_due()

    assert run(with_store(database_url, scenario)) == ([], None)


def test_a_claim_moves_the_text_out_of_due_media_until_its_lease_ends(database_url: str) -> None:
    async def scenario(store: Store) -> tuple[Any, ...]:
        text = await store.add_message(fetching("SM1", EARLY))
        other = await store.add_message(fetching("SM2", NOW))

        def claim(message: Message) -> Message | None:  # sender/media/fetch.py's claim: re-checked, a lease ahead
            if message.get("media_due_at") is None or message["media_due_at"] > NOW:
                return None
            return {**message, "media_due_at": LEASE_END, "media_attempts": message["media_attempts"] + 1}

        claimed = await store.update_message(text["id"], claim)
        again = await store.update_message(text["id"], claim)  # another fetcher, a moment later: nothing to take
        return (
            claimed,
            again,
            [m["id"] for m in await store.due_media(NOW, 10)],
            [m["id"] for m in await store.due_media(LEASE_END, 10)],
            await store.next_media_due(),
            other["id"],
        )

    claimed, again, during, after, upcoming, other_id = run(with_store(database_url, scenario))
    assert claimed["media_due_at"] == LEASE_END and claimed["media_attempts"] == 1
    assert again == claimed
    assert during == [other_id]
    assert after == [other_id, claimed["id"]]  # the lease ran out: due again, after the one due earlier
    assert upcoming == NOW


def test_a_settled_fetch_is_due_no_more_nor_after_a_restart(database_url: str) -> None:
    async def write(store: Store) -> list[Message]:
        settled = await store.add_message(fetching("SM1", EARLY))
        dropped = await store.add_message(fetching("SM2", EARLY))
        waiting = await store.add_message(fetching("SM3", NOW))
        kept = [{"id": settled["media_fetch"][0]["id"], "type": "image/jpeg", "size": len(JPEG)}]
        settled = await store.update_message(
            settled["id"], lambda m: {**m, "media": kept, "media_fetch": [], "media_due_at": None}
        )
        dropped = await store.update_message(
            dropped["id"], lambda m: {k: v for k, v in m.items() if k != "media_due_at"}
        )
        return [settled, dropped, waiting]

    async def read(store: Store) -> tuple[Any, ...]:
        return await store.due_media(LATER, 10), await store.next_media_due()

    settled, dropped, waiting = run(with_store(database_url, write))
    due, upcoming = run(with_store(database_url, read))  # TinyDB: the index rebuilt from its files
    assert [m["id"] for m in due] == [waiting["id"]] and upcoming == NOW
    assert due[0] == waiting
    assert settled["media"][0]["type"] == "image/jpeg" and "media_due_at" not in dropped


def test_a_rescheduled_fetch_is_due_at_its_new_time(database_url: str) -> None:
    async def scenario(store: Store) -> tuple[Any, ...]:
        first = await store.add_message(fetching("SM1", EARLY))
        second = await store.add_message(fetching("SM2", NOW))
        await store.update_message(first["id"], due_at(LATER))  # a retry's backoff
        return [m["id"] for m in await store.due_media(LATER, 10)], await store.next_media_due(), first, second

    due, upcoming, first, second = run(with_store(database_url, scenario))
    assert due == [second["id"], first["id"]] and upcoming == NOW


def test_each_business_fetches_its_own_texts(database_url: str) -> None:
    async def scenario() -> tuple[Any, ...]:
        deployment = await open_deployment(database_url)
        try:
            await deployment.add_business({"slug": "acme", "name": "Acme", "numbers": [], "tokens": [],
                                           "messaging_service_sid": None})  # fmt: skip
            acme = deployment.store("acme")
            text = await acme.add_message(fetching("SM1", EARLY))
            return (
                text,
                await acme.due_media(NOW, 10),
                await deployment.default.due_media(NOW, 10),
                await deployment.default.next_media_due(),
            )
        finally:
            await deployment.close()

    text, acme_due, default_due, default_next = run(scenario())
    assert acme_due == [text] and default_due == [] and default_next is None
