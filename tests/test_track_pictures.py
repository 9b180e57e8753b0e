"""A job's pictures for its customer: in the token view (`pictures`), its texts (`media`), and on the page.

The job's own conversation only: the customer's pictures, and the business's MMS to the
customer labelled by what they were about ("Delivered here" with ARRIVED, "Picked up" with
DONE). Never another job's -- not even the same customer's other job -- and never a
dispatcher's own picture that was not sent to the customer. Rows are written as the webhook,
the fetcher and the dispatcher's commands write them (docs/pictures.md), straight into a
real TinyDB store; the links in the answers are tried for real.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from bot.jobs import clean_fields
from bot.media import PAGE_LINK_SECONDS, new_media_id
from handlers.track.pictures import LINK_STEP_SECONDS, link_time
from tests import test_track_api
from tests.businesses import call, register_business, tenants_of
from tests.support import CUSTOMER, DISPATCHER, job_body
from tests.test_media_serving import keep, png
from tests.test_openapi import check
from tests.test_track_api import add_text, assert_nothing_private, create, services_of
from tests.test_track_page import page

client = test_track_api.client  # the API tests' app (a fake clock for the miss limiter)
clock = test_track_api.clock

CUSTOMER_PHOTO = png(40, 30)
DISPATCHER_OWN_PHOTO = png(12, 12, lambda x, y: (200, 30, 30))
ARRIVED_PHOTO = png(20, 16, lambda x, y: (30, 160, 60))
DONE_PHOTO = png(24, 18, lambda x, y: (30, 60, 200))
RELAY_PHOTO = png(10, 10, lambda x, y: (120, 120, 120))
OTHER_JOB_PHOTO = png(16, 16, lambda x, y: (250, 200, 0))


def picture_row(
    client: TestClient,
    job: dict[str, Any],
    *,
    direction: str,
    kind: str,
    phone: str,
    body: str,
    media: list[dict[str, Any]],
    status: str,
    at: str | None = None,
    **internal: Any,
) -> dict[str, Any]:
    """A message row with pictures, as the webhook and fetcher (inbound) or a command (outbound) store it."""
    times = {"created_at": at, "updated_at": at} if at is not None else {}
    return add_text(client, job, direction=direction, kind=kind, phone=phone, body=body, status=status, media=media,
                    **internal, **times)  # fmt: skip


def kept(client: TestClient, data: bytes) -> dict[str, Any]:
    """A picture kept in the default business's store, as a row's `media` item once fetched."""
    media_id = keep(client, services_of(client).store, data)
    return {"id": media_id, "type": "image/png", "size": len(data)}


def move_by_dispatcher(client: TestClient, job: dict[str, Any], status: str, at: str) -> None:
    call(client, services_of(client).change_status, job["id"], status, by=DISPATCHER, now=at, total=None)


def status_text_with_pictures(client: TestClient, job: dict[str, Any], status: str, at: str, ids: list[str]) -> None:
    """A dispatcher's `ARRIVED 1001` / `DONE 1001` with a picture: the move, and its status text carrying
    the picture (by id alone, as the command queues it), written with the move's time."""
    move_by_dispatcher(client, job, status, at)
    media = [{"id": media_id} for media_id in ids]
    picture_row(
        client,
        job,
        direction="outbound",
        kind="notification",
        phone=CUSTOMER,
        body=f"{status}!",
        media=media,
        status="sent",
        at=at,
        media_wait_sid="SM" + "0" * 32,
    )


class Scene:
    """Job 1001 of the customer, with every kind of picture around it; job 1002 of the same customer."""

    def __init__(self, client: TestClient) -> None:
        self.job = create(client)
        self.other_job = create(client)  # the same customer's other job
        self.photos: dict[str, dict[str, Any]] = {}
        photos = self.photos
        # The customer's photo on 1001, fetched and kept.
        photos["customer"] = kept(client, CUSTOMER_PHOTO)
        picture_row(
            client,
            self.job,
            direction="inbound",
            kind="text",
            phone=CUSTOMER,
            body="How much for this?",
            media=[photos["customer"]],
            status="received",
            media_fetch=[],
            media_due_at=None,
        )
        # A customer's photo still being fetched: nothing to show yet.
        picture_row(
            client,
            self.job,
            direction="inbound",
            kind="text",
            phone=CUSTOMER,
            body="And this",
            media=[],
            status="received",
            media_due_at="2030-01-01T00:00:00.000Z",
            media_fetch=[{"id": new_media_id(), "url": "https://api.twilio.com/x", "type": "image/jpeg"}],
        )
        # The same customer's photo about the other job.
        photos["other_job"] = kept(client, OTHER_JOB_PHOTO)
        picture_row(
            client,
            self.other_job,
            direction="inbound",
            kind="text",
            phone=CUSTOMER,
            body="other job",
            media=[photos["other_job"]],
            status="received",
        )
        # A dispatcher's own picture texted in about 1001 (a note to the team), never sent on.
        photos["dispatcher_own"] = kept(client, DISPATCHER_OWN_PHOTO)
        picture_row(
            client,
            self.job,
            direction="inbound",
            kind="text",
            phone=DISPATCHER,
            body="scratch on the gate",
            media=[photos["dispatcher_own"]],
            status="received",
        )
        # ... and relayed to the other dispatchers (an outbound row, but not to the customer).
        picture_row(
            client,
            self.job,
            direction="outbound",
            kind="relay",
            phone="+15125550177",
            body="scratch on the gate",
            media=[{"id": photos["dispatcher_own"]["id"]}],
            status="sent",
        )
        # R 1001 with a photo: a relay to the customer.
        photos["relay"] = kept(client, RELAY_PHOTO)
        picture_row(
            client,
            self.job,
            direction="outbound",
            kind="relay",
            phone=CUSTOMER,
            body="Is this your gate?",
            media=[{"id": photos["relay"]["id"]}],
            status="delivered",
        )
        # A text to the customer that was never sent (opted out): its picture stays out.
        photos["skipped"] = kept(client, png(9, 9))
        picture_row(
            client,
            self.job,
            direction="outbound",
            kind="relay",
            phone=CUSTOMER,
            body="never sent",
            media=[{"id": photos["skipped"]["id"]}],
            status="skipped",
        )
        # An MMS naming a picture whose fetch was given up: no bytes, nothing shown.
        picture_row(
            client,
            self.job,
            direction="outbound",
            kind="relay",
            phone=CUSTOMER,
            body="lost",
            media=[{"id": new_media_id()}],
            status="pending",
        )
        # ARRIVED and DONE with a photo each (the dispatcher's command rows keep them too).
        photos["arrived"] = kept(client, ARRIVED_PHOTO)
        photos["done"] = kept(client, DONE_PHOTO)
        status_text_with_pictures(client, self.job, "arrived", "2030-06-15T16:00:00.000Z", [photos["arrived"]["id"]])
        status_text_with_pictures(client, self.job, "complete", "2030-06-15T17:00:00.000Z", [photos["done"]["id"]])

    def id_of(self, url: str) -> str:
        return urlsplit(url).path.rsplit("/", 1)[1].split(".")[0]


def view(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get(f"/jobs/token/{token}")
    assert response.status_code == 200, response.text
    return response.json()


def test_the_view_lists_the_customers_pictures_and_the_business_s_to_them_only(client):
    scene = Scene(client)
    client.headers.pop("Authorization")
    response = client.get(f"/jobs/token/{scene.job['token']}")
    pictures = response.json()["pictures"]
    photos = scene.photos
    assert [(scene.id_of(p["url"]), p["from"], p["label"]) for p in pictures] == [
        (photos["customer"]["id"], "you", "From you"),
        (photos["relay"]["id"], "business", "From QuickDumpNow"),
        (photos["arrived"]["id"], "business", "Delivered here"),
        (photos["done"]["id"], "business", "Picked up"),
    ]
    for picture in pictures:
        assert set(picture) == {"url", "type", "size", "from", "label", "at"}
        assert picture["type"] == "image/png"
    assert pictures[0]["size"] == len(CUSTOMER_PHOTO)
    assert pictures[3]["size"] == len(DONE_PHOTO)  # known from the store: the MMS row named it by id alone
    assert pictures[3]["at"] == "2030-06-15T17:00:00.000Z"
    for absent in ("other_job", "dispatcher_own", "skipped"):
        assert photos[absent]["id"] not in response.text, absent
    assert_nothing_private(response.text)


def test_each_picture_link_opens_that_picture_for_a_day(client):
    scene = Scene(client)
    client.headers.pop("Authorization")
    pictures = view(client, scene.job["token"])["pictures"]
    expected = {"From you": CUSTOMER_PHOTO, "Delivered here": ARRIVED_PHOTO, "Picked up": DONE_PHOTO}
    for picture in pictures:
        url = urlsplit(picture["url"])
        assert (url.scheme, url.netloc) == ("https", "sms.example.test")
        assert url.path.startswith("/m/default/")
        response = client.get(url.path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        if picture["label"] in expected:
            assert response.content == expected[picture["label"]]
        max_age = int(response.headers["cache-control"].split("max-age=")[1])
        assert PAGE_LINK_SECONDS - LINK_STEP_SECONDS < max_age <= PAGE_LINK_SECONDS


def test_links_stay_the_same_from_one_poll_to_the_next(client):
    scene = Scene(client)
    token = scene.job["token"]
    assert view(client, token) == view(client, token)
    first = client.get(f"/jobs/token/{token}/messages").json()
    assert client.get(f"/jobs/token/{token}/messages").json() == first


def test_each_customer_text_carries_its_pictures_with_signed_links(client):
    scene = Scene(client)
    response = client.get(f"/jobs/token/{scene.job['token']}/messages")
    assert response.status_code == 200
    messages = response.json()["messages"]
    by_body = {m["body"]: m for m in messages}
    assert "scratch on the gate" not in by_body and "never sent" not in by_body and "other job" not in by_body
    asked = by_body["How much for this?"]["media"]
    assert [(m["id"], m["type"], m["size"]) for m in asked] == [
        (scene.photos["customer"]["id"], "image/png", len(CUSTOMER_PHOTO))
    ]
    assert asked[0]["url"].startswith("https://sms.example.test/m/default/" + asked[0]["id"] + ".")
    assert client.get(urlsplit(asked[0]["url"]).path).content == CUSTOMER_PHOTO
    assert by_body["And this"]["media"] == []  # still being fetched
    assert by_body["lost"]["media"] == []  # given up: nothing to open
    assert [m["id"] for m in by_body["Is this your gate?"]["media"]] == [scene.photos["relay"]["id"]]
    assert [m["id"] for m in by_body["complete!"]["media"]] == [scene.photos["done"]["id"]]
    assert messages[0]["media"] == []  # the booking text: no pictures, an empty list
    for message in messages:
        for item in message["media"]:
            assert set(item) == {"id", "type", "size", "url"}
    for absent in ("other_job", "dispatcher_own", "skipped"):
        assert scene.photos[absent]["id"] not in response.text, absent


def test_the_other_job_shows_its_own_picture_only(client):
    scene = Scene(client)
    pictures = view(client, scene.other_job["token"])["pictures"]
    assert [(scene.id_of(p["url"]), p["from"]) for p in pictures] == [(scene.photos["other_job"]["id"], "you")]


def test_a_job_without_pictures_has_an_empty_list_and_no_pictures_section(client):
    job = create(client)
    add_text(client, job, direction="inbound", kind="text", phone=CUSTOMER, body="hello", status="received")
    assert view(client, job["token"])["pictures"] == []
    doc, _ = page(client, job["token"])
    assert not doc.find(id="pictures-heading")
    assert not doc.find("img")


def test_a_status_text_about_another_status_is_from_the_business(client):
    job = create(client)
    photo = kept(client, png(8, 8))
    move_by_dispatcher(client, job, "en_route", "2030-06-15T15:00:00.000Z")
    picture_row(
        client,
        job,
        direction="outbound",
        kind="notification",
        phone=CUSTOMER,
        body="on the way",
        media=[photo],
        status="sent",
        at="2030-06-15T15:00:00.000Z",
    )
    (picture,) = view(client, job["token"])["pictures"]
    assert (picture["from"], picture["label"]) == ("business", "From QuickDumpNow")


def test_the_page_shows_thumbnails_that_open_each_picture(client):
    scene = Scene(client)
    client.headers.pop("Authorization")
    doc, html = page(client, scene.job["token"])
    pictures = view(client, scene.job["token"])["pictures"]
    assert doc.text("h2", id="pictures-heading") == "Pictures"
    tiles = doc.find("li", class_="picture")
    assert len(tiles) == len(pictures) == 4
    links = doc.find("a", class_="picture-link")
    thumbs = doc.find("img", class_="picture-thumb")
    for picture, anchor, img in zip(pictures, links, thumbs, strict=True):
        path = urlsplit(picture["url"]).path
        assert anchor["attrs"]["href"] == path  # same origin: the CSP's img-src 'self'
        assert img["attrs"]["src"] == path
        assert img["attrs"]["loading"] == "lazy"
        assert img["attrs"]["alt"].startswith(f"Picture: {picture['label']}")
        assert img["attrs"]["width"] and img["attrs"]["height"]
    captions = [" ".join(tile["text"].split()) for tile in tiles]
    assert captions[0].startswith("From you")
    assert captions[2].startswith("Delivered here") and captions[3].startswith("Picked up")
    # The texts show theirs too, inside their bubbles.
    in_texts = doc.find("a", class_="text-picture")
    assert {a["attrs"]["href"] for a in in_texts} <= {urlsplit(p["url"]).path for p in pictures}
    assert len(in_texts) == 4
    for absent in ("other_job", "dispatcher_own", "skipped"):
        assert scene.photos[absent]["id"] not in html, absent
    assert_nothing_private(html)


def test_the_page_is_rendered_from_exactly_what_the_api_answers(client):
    scene = Scene(client)
    token = scene.job["token"]
    doc, _ = page(client, token)
    (block,) = [e for e in doc.find("script") if e["attrs"].get("id") == "track-state"]
    state = json.loads(block["text"])
    assert state["view"] == view(client, token)  # so the live update sees no change where there is none
    assert state["messages"] == client.get(f"/jobs/token/{token}/messages").json()["messages"]


def test_a_picture_kept_after_the_page_was_rendered_changes_what_the_api_answers(client):
    job = create(client)
    before = view(client, job["token"])
    photo = kept(client, CUSTOMER_PHOTO)
    picture_row(
        client, job, direction="inbound", kind="text", phone=CUSTOMER, body="", media=[photo], status="received"
    )
    after = view(client, job["token"])
    assert before["pictures"] == [] and len(after["pictures"]) == 1  # the page's poll sees it and re-renders
    doc, _ = page(client, job["token"])
    assert len(doc.find("img", class_="picture-thumb")) == 1
    # A text of a picture alone: its bubble holds the thumbnail, and no empty line of words.
    (bubble,) = doc.find("li", class_="text-mine")
    assert bubble["text"].split()[0] == "You"
    assert len(doc.find("a", class_="text-picture")) == 1
    assert len(doc.find("p", class_="text-body")) == 1  # the booking text's only


def test_another_business_s_job_links_its_own_business(client):
    register_business(client, {"slug": "acme", "name": "Acme Hauling", "numbers": ["+13035550100"]})
    acme = tenants_of(client).get("acme")
    assert acme is not None
    fields = clean_fields(job_body(), acme.settings.timezone, partial=False)
    job = call(client, acme.services.create_job, fields).job
    data = png(14, 14)
    media_id = keep(client, acme.services.store, data)
    row = {
        "direction": "inbound",
        "kind": "text",
        "job_id": job["id"],
        "phone": CUSTOMER,
        "from": CUSTOMER,
        "to": "+13035550100",
        "body": "here",
        "twilio_sid": None,
        "status": "received",
        "error_code": None,
        "error_message": None,
        "media": [{"id": media_id, "type": "image/png", "size": len(data)}],
    }
    call(client, acme.services.store.add_message, row)
    (picture,) = view(client, job["token"])["pictures"]
    path = urlsplit(picture["url"]).path
    assert path.startswith("/m/acme/")
    assert client.get(path).content == data
    assert client.get(path.replace("/m/acme/", "/m/default/")).status_code == 404
    # The default business's job 1001 (the same id in its own sequence) shows none of it.
    default_job = create(client)
    assert view(client, default_job["token"])["pictures"] == []


def test_link_times_move_by_the_hour_only():
    start = 1_900_000_800  # an hour's start (a multiple of 3600)
    assert start % LINK_STEP_SECONDS == 0
    assert link_time(start) == link_time(start + 3599) == start
    assert link_time(start + 3600) == start + 3600


def test_the_answers_match_the_openapi_document(client):
    scene = Scene(client)
    token = scene.job["token"]
    view_answer = client.get(f"/jobs/token/{token}")
    assert len(view_answer.json()["pictures"]) == 4
    check(view_answer, "/jobs/token/{token}", "get")
    check(client.get(f"/jobs/token/{token}/messages"), "/jobs/token/{token}/messages", "get")
