"""POST /jobs/{id}/messages with `media`: the business's own pictures go to the customer as an MMS.

Pictures are kept through the real TinyDB store (`save_media`), as the fetcher
keeps them. Every body here is also checked against the published request
schema, so /openapi.json takes exactly what the API takes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from bot.jobs import utc_now
from bot.media import new_media_id
from config.settings import load_settings
from store import MediaFile
from tests.businesses import call, two_businesses
from tests.support import API_TOKEN, base_environ, job_body
from tests.test_openapi import check
from web.app import create_app
from web.openapi_schemas import TEXT_TO_CUSTOMER

JOB = 1001
BASE = "https://sms.example.test"


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def keep(client: TestClient, store: Any = None, data: bytes | None = None, content_type: str = "image/png") -> str:
    """A picture kept in `store` (the default business's unless given), as the fetcher keeps one; its id."""
    store = store or client.app_state["services"].store
    picture = MediaFile(new_media_id(), content_type, data or png(), "m-test", utc_now())
    call(client, store.save_media, picture)
    return picture.id


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    """Nothing is sent (RUN_SENDER=false): what a request queued is what the log shows."""
    settings = load_settings(base_environ(tmp_path, RUN_SENDER="false"), env_file=None)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        assert client.post("/jobs", json=job_body()).json()["id"] == JOB
        yield client


def schema_takes(body: Any) -> bool:
    return Draft202012Validator(TEXT_TO_CUSTOMER).is_valid(body)


def stored(client: TestClient, message_id: str) -> dict[str, Any]:
    store = client.app_state["services"].store
    return next(m for m in call(client, store.job_messages, JOB) if m["id"] == message_id)


ACCEPTED = [
    ("words and one picture", lambda ids: {"body": "  Here's where we left it  ", "media": ids[:1]},
     "Here's where we left it", 1),
    ("words and three pictures", lambda ids: {"body": "Before and after", "media": ids}, "Before and after", 3),
    ("a picture alone", lambda ids: {"media": ids[:1]}, "", 1),
    ("a picture and an empty body", lambda ids: {"body": "", "media": ids[:1]}, "", 1),
    ("a picture and a blank body", lambda ids: {"body": " \n ", "media": ids[:1]}, "", 1),
    ("words and no pictures", lambda ids: {"body": "Running late", "media": []}, "Running late", 0),
]  # fmt: skip


@pytest.mark.parametrize(("label", "payload", "body", "count"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_pictures_this_business_keeps_are_queued_with_the_text(
    app: TestClient, label: str, payload: Any, body: str, count: int
) -> None:
    ids = [keep(app), keep(app, data=b"\xff\xd8\xff\xe0" + b"\x00" * 64, content_type="image/jpeg"), keep(app)]
    request = payload(ids)
    assert schema_takes(request)
    response = app.post(f"/jobs/{JOB}/messages", json=request)
    assert response.status_code == 201, response.text
    check(response, "/jobs/{job_id}/messages", "post")
    answer = response.json()
    assert answer["body"] == body and answer["kind"] == "relay" and answer["status"] == "pending"
    sizes = {ids[0]: len(png()), ids[1]: 68, ids[2]: len(png())}
    types = {ids[0]: "image/png", ids[1]: "image/jpeg", ids[2]: "image/png"}
    expected = [
        {"id": media_id, "type": types[media_id], "size": sizes[media_id], "url": f"{BASE}/media/{media_id}"}
        for media_id in ids[:count]
    ]
    assert answer["media"] == expected
    # Stored as the sender sends it: the kept pictures, nothing to wait for.
    row = stored(app, answer["id"])
    assert row.get("media", []) == [{key: item[key] for key in ("id", "type", "size")} for item in expected]
    assert row.get("media_wait_sid") is None
    # ... and shown the same in the job's conversation.
    listed = app.get(f"/jobs/{JOB}/messages").json()["messages"]
    assert next(m for m in listed if m["id"] == answer["id"])["media"] == expected
    check(app.get(f"/jobs/{JOB}/messages"), "/jobs/{job_id}/messages", "get")


REFUSED = [
    ("an unknown picture", lambda ids: {"body": "hi", "media": ["A" * 22]}, "media"),
    ("one unknown among known ones", lambda ids: {"body": "hi", "media": [ids[0], "B" * 22]}, "media"),
    ("an id no picture could have", lambda ids: {"body": "hi", "media": ["../../secret_key"]}, "media"),
    ("an empty id", lambda ids: {"body": "hi", "media": [""]}, "media"),
    ("not a list", lambda ids: {"body": "hi", "media": ids[0]}, "media"),
    ("null", lambda ids: {"body": "hi", "media": None}, "media"),
    ("numbers", lambda ids: {"body": "hi", "media": [1, 2]}, "media"),
    ("the same picture twice", lambda ids: {"body": "hi", "media": [ids[0], ids[0]]}, "media"),
    ("eleven pictures", lambda ids: {"body": "hi", "media": [ids[0], *("C" * 21 + str(n) for n in range(10))]},
     "media"),
    ("no words and no pictures", lambda ids: {"media": []}, "body"),
    ("a blank body and no pictures", lambda ids: {"body": "  ", "media": []}, "body"),
    ("a picture and a null body", lambda ids: {"body": None, "media": ids}, "body"),
    ("a picture and a body too long", lambda ids: {"body": "x" * 1601, "media": ids}, "body"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "payload", "field"), REFUSED, ids=[case[0] for case in REFUSED])
def test_anything_but_this_business_s_pictures_is_refused_naming_the_field(
    app: TestClient, label: str, payload: Any, field: str
) -> None:
    request = payload([keep(app)])
    assert not schema_takes(request) or field == "media"  # a well-formed unknown id passes the schema, not the store
    before = app.get(f"/jobs/{JOB}/messages").json()["messages"]
    response = app.post(f"/jobs/{JOB}/messages", json=request)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"].startswith(field)
    assert app.get(f"/jobs/{JOB}/messages").json()["messages"] == before  # nothing queued


def test_an_unknown_job_is_still_a_404(app: TestClient) -> None:
    assert app.post("/jobs/9999/messages", json={"body": "hi", "media": [keep(app)]}).status_code == 404


def test_a_retry_with_the_same_key_gets_the_first_answer_and_queues_once(app: TestClient) -> None:
    media_id = keep(app)
    headers = {"Idempotency-Key": "pic-1"}
    first = app.post(f"/jobs/{JOB}/messages", json={"media": [media_id]}, headers=headers)
    again = app.post(f"/jobs/{JOB}/messages", json={"media": [media_id]}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len([m for m in app.get(f"/jobs/{JOB}/messages").json()["messages"] if m["media"]]) == 1
    other = app.post(f"/jobs/{JOB}/messages", json={"media": [media_id], "body": "x"}, headers=headers)
    assert other.status_code == 422  # the same key with another body


@pytest.mark.parametrize("side", ["default is A", "acme is A"])
def test_another_business_s_picture_is_unknown_here(tmp_path: Path, side: str) -> None:
    with two_businesses(tmp_path, side) as world:
        own, other = world.a, world.b
        theirs = keep(world.client, world.store(other))
        mine = keep(world.client, world.store(own))
        refused = world.api(own, "POST", f"/jobs/{JOB}/messages", json={"body": "hi", "media": [theirs]})
        assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("media")
        sent = world.api(own, "POST", f"/jobs/{JOB}/messages", json={"body": "hi", "media": [mine]})
        assert sent.status_code == 201, sent.text
        assert sent.json()["media"][0]["url"] == f"{BASE}/media/{mine}"
        # ... and the other business sends its own.
        assert world.api(other, "POST", f"/jobs/{JOB}/messages", json={"media": [theirs]}).status_code == 201
