"""A picture from the inbox's reply form, on TinyDB and PostgreSQL: kept as every picture is and
sent to the customer as an MMS, the same `media` as POST /jobs/{id}/messages with a kept picture.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from store import Store
from tests.businesses import call, tenants_of
from tests.support import CUSTOMER
from tests.test_inbox import ORIGIN, api, book, client, conversation_links, environ, log_in, texts_to
from tests.test_media_fetch import png

__all__ = ["client", "environ"]  # the fixtures, from tests/test_inbox.py


def reply_with(client: TestClient, body: str, picture: tuple[str, bytes, str]) -> tuple[Any, dict[str, Any]]:
    job = book(client)
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    assert '<input id="picture" name="picture" type="file"' in client.get(link).text
    form = {"csrf": csrf, "job": str(job["id"]), "body": body}
    answer = client.post(f"{link}/reply", data=form, files={"picture": picture}, headers={"Origin": ORIGIN})
    return answer, job


def test_a_reply_with_a_picture_is_an_mms_of_the_kept_picture(client: TestClient) -> None:
    picture = png(640, 480) + b"\0" * (2 * 1024 * 1024)  # a phone photo's size: over the API's 1 MB
    answer, job = reply_with(client, "Here is the trailer", ("trailer.png", picture, "image/png"))
    assert answer.status_code == 303, answer.text
    sent = texts_to(client, CUSTOMER)[-1]
    assert (sent["body"], sent["kind"], sent["job_id"]) == ("Here is the trailer", "relay", job["id"])
    (item,) = sent["media"]
    assert (item["type"], item["size"]) == ("image/png", len(picture))
    kept = client.get(f"/media/{item['id']}", headers=api(client))
    assert kept.status_code == 200 and kept.content == picture


def kept(client: TestClient, media_id: str) -> Any:
    store: Store = tenants_of(client).default.services.store
    return call(client, store.load_media, media_id)


def pictures_kept(client: TestClient) -> int:
    """How many pictures the default business's store holds (each backend counted its own way)."""
    store: Any = tenants_of(client).default.services.store
    if hasattr(store, "media"):  # TinyDB: a file each in its media folder
        return len([path for path in store.media.folder.iterdir() if not path.name.startswith(".")])

    async def count() -> int:
        async with store.db.connection() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM media"))

    return int(call(client, count))


def test_the_picture_belongs_to_the_reply_it_was_sent_with(client: TestClient) -> None:
    """As a dispatcher's texted picture names the text that brought it: no placeholder, no phone."""
    answer, _ = reply_with(client, "The gate code works", ("gate.png", png(), "image/png"))
    assert answer.status_code == 303, answer.text
    sent = texts_to(client, CUSTOMER)[-1]
    (item,) = sent["media"]
    assert kept(client, item["id"]).message_id == sent["id"]


def test_a_reply_refused_for_its_words_keeps_no_picture(client: TestClient) -> None:
    answer, _ = reply_with(client, "x" * 5000, ("gate.png", png(), "image/png"))
    assert answer.status_code == 400 and "body: must be at most" in answer.text
    assert pictures_kept(client) == 0
    assert all(not m.get("media") for m in texts_to(client, CUSTOMER))


def test_a_picture_alone_is_sent_without_words(client: TestClient) -> None:
    answer, _ = reply_with(client, "", ("dump.png", png(), "image/png"))
    assert answer.status_code == 303, answer.text
    sent = texts_to(client, CUSTOMER)[-1]
    assert sent["body"] == "" and len(sent["media"]) == 1


def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_sent(client: TestClient) -> None:
    answer, _ = reply_with(client, "See attached", ("invoice.pdf", b"%PDF-1.7 not a picture", "image/png"))
    assert answer.status_code == 400
    assert "invoice.pdf" in answer.text and "not a JPEG, PNG" in answer.text
    assert all(m["body"] != "See attached" for m in texts_to(client, CUSTOMER))


def test_a_picture_without_the_csrf_token_is_refused_and_not_kept(client: TestClient) -> None:
    job = book(client)
    log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    form = {"job": str(job["id"]), "body": "Here"}
    answer = client.post(
        f"{link}/reply", data=form, files={"picture": ("a.png", png(), "image/png")}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 403
    assert all(not m.get("media") for m in texts_to(client, CUSTOMER))
