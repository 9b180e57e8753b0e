"""`qdn store copy --to URL`: a whole deployment into a new, empty store (SPEC "Running on PostgreSQL").

The source is a real deployment built through the service itself (tests/businesses.py): the
default business and "acme", each with jobs, conversations, pending texts (nothing is sent),
a stranger's texts outside any job, an opt-out, an appointment with its reminder due -- and
pictures (written into the store directly, as the fetcher would): a customer's, a dispatcher's
sent on as an MMS, a stranger's, acme's own, one given up on and one still to fetch. It is
copied by the real command line into TinyDB and into PostgreSQL (a fresh database; skipped
with the reason where no server runs, a failure under CI=true). Then:

- the counts the command prints are the same on both sides, and are what the stores hold;
- every row reads back alike -- jobs whole, conversations in order with every key but the
  message id, phone states, pending texts, the registry records -- both through the rows the
  copy reads and through phones' logs read directly (so a phone the copy failed to list shows);
- every picture too: its bytes and type under the same id, its message the copy of the one
  that brought it (by the target's new id), and the fetch still due is due in the target;
- a service started on the copy answers as one on the source does: the same job lists to the
  default business's and acme's dashboard tokens, the same tracking page, the same TwiML to a
  signed STATUS text and to a repeated delivery of a text from before the copy, acme's
  webhooks checked with its sealed auth token, its opt-out in force, the next job id alike;
- a round trip TinyDB -> PostgreSQL -> TinyDB comes back as it left;
- what is left behind is said: idempotency keys always, undelivered dashboard events when
  any wait; the generated secrets go into a TinyDB target's folder (mode kept), and for
  PostgreSQL the command says where they stay;
- a non-empty target (a job, a phone's state, a registered business), the source itself or
  an unknown scheme is refused with one line (no password in it), the target left as it was.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from bot.jobs import new_job, utc_now
from bot.media import new_media_id
from config.secret_box import SecretBox
from config.settings import SECRET_KEY_FILE, load_settings
from store import Deployment, JobWrite, MediaFile, Message, Store, open_deployment
from store.copy import read_rows
from tests.businesses import (
    ACME,
    ACME_PAYLOAD,
    CUSTOMER,
    DEFAULT,
    OTHER_CUSTOMER,
    PHONES,
    STRANGER,
    bearer,
    business_record,
    two_business_environ,
    two_businesses,
)
from tests.pg import fresh_database, require_postgres
from tests.support import API_TOKEN, ROOT
from tests.twilio_fake import ACCOUNT_SID, PUBLIC_BASE_URL, sign
from web.app import create_app

TARGETS = ["tinydb", "postgresql"]


# -- the source: a deployment built through the service ---------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A deployment's folder (built once) and the acme dashboard token; each test copies the folder."""
    root = tmp_path_factory.mktemp("source")
    with two_businesses(root, "default is A") as world:
        assert world.api(DEFAULT, "POST", "/jobs/1002/status", json={"status": "en_route", "eta_minutes": 20})
        world.text(DEFAULT, CUSTOMER, "STATUS")
        world.text(DEFAULT, CUSTOMER, "Can you come before noon?")  # logged on 1001, relayed, acknowledged
        world.text(DEFAULT, STRANGER, "who is this?")  # a phone's own texts: no job
        world.text(DEFAULT, DEFAULT.dispatcher, "ARRIVED 1002")
        world.text(ACME, CUSTOMER, "STOP")  # acme's opt-out: the default business still texts her
        assert world.create_job(ACME, {**ACME.job_1001(), "customer_phone": OTHER_CUSTOMER})["id"] == 1002
        world.text(ACME, ACME.dispatcher, "EN ROUTE 1002 15")
        tokens = dict(world.bearers)
    asyncio.run(add_pictures(environ_of(root)["DATABASE_URL"]))
    return root, tokens


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(255, -1, -1)) * 16


async def add_pictures(database_url: str) -> None:
    """Pictures as the fetcher leaves them: rows carrying `media` (or still `media_fetch`), bytes kept."""
    deployment = await open_deployment(database_url)
    try:
        default, acme = deployment.default, deployment.store(ACME.slug)

        async def brought(store: Store, row: Message, *pictures: tuple[str, bytes]) -> Message:
            ids = [new_media_id() for _ in pictures]
            items = [{"id": i, "type": kind, "size": len(data)} for i, (kind, data) in zip(ids, pictures, strict=True)]
            stored = await store.add_message({**row, "num_media": str(len(items)), "media": items})
            for media_id, (kind, data) in zip(ids, pictures, strict=True):
                await store.save_media(MediaFile(media_id, kind, data, stored["id"], utc_now()))
            return stored

        failed = [{"id": new_media_id(), "error": "not a picture"}]
        await brought(default, {**sms_row(CUSTOMER, "this lot"), "job_id": 1001, "media_failed": failed},
                      ("image/png", PNG), ("image/jpeg", JPEG))  # fmt: skip
        dispatcher = {**sms_row(DEFAULT.dispatcher, "ARRIVED 1002"), "job_id": 1002, "kind": "command"}
        proof = await brought(default, dispatcher, ("image/jpeg", JPEG + b"proof"))
        mms = {**sms_row(OTHER_CUSTOMER, "Delivered here."), "job_id": 1002, "direction": "outbound",
               "kind": "notification", "from": DEFAULT.number, "to": OTHER_CUSTOMER, "status": "sent"}  # fmt: skip
        await default.add_message({**mms, "media": [{"id": proof["media"][0]["id"]}]})  # the proof photo, sent on
        await brought(default, sms_row(STRANGER, "whose dog?"), ("image/gif", b"GIF89a" + PNG))
        fetch = [{"id": new_media_id(), "url": "https://api.twilio.com/x", "type": "image/jpeg"}]
        await default.add_message({**sms_row(STRANGER, "and this"), "media": [], "media_fetch": fetch,
                                   "media_due_at": "2024-11-27T18:40:00.000Z", "media_attempts": 1})  # fmt: skip
        await brought(acme, {**sms_row(CUSTOMER, "the gate"), "job_id": 1001, "to": ACME.number}, ("image/png", PNG))
    finally:
        await deployment.close()


@pytest.fixture
def source(template: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    root = tmp_path / "source"
    shutil.copytree(template[0], root)
    return root


@pytest.fixture
def acme_token(template: tuple[Path, dict[str, str]]) -> str:
    return template[1][ACME.slug]


def environ_of(root: Path, **overrides: str) -> dict[str, str]:
    return two_business_environ(root, **overrides)


@contextmanager
def target_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "tinydb":
        yield f"tinydb:///{tmp_path}/target/qdn.json"
        return
    require_postgres()
    with fresh_database("store_copy") as url:
        yield url


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with target_url(request.param, tmp_path) as url:
        yield url


def qdn(environ: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line, in a folder with no .env."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DATA_DIR")}
    env.update(environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "web", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def copy(source: Path, to: str, cwd: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    return qdn(environ_of(source, **overrides), "store", "copy", "--to", to, cwd=cwd)


def printed_counts(output: str) -> dict[tuple[str, str], tuple[int, ...]]:
    """(business, side) -> (jobs, messages, pending, phones, pictures), from the table the command prints."""
    rows = re.findall(r"^(\S+)\s+(source|target)" + r"\s+(\d+)" * 5 + r"\s*$", output, re.MULTILINE)
    return {(slug, side): tuple(map(int, numbers)) for slug, side, *numbers in rows}


# -- reading a deployment, independently of what the copy read ------------------------------------


def without_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in message.items() if key != "id"} for message in messages]


async def _pictures(store: Store, messages: list[Message]) -> dict[str, Any]:
    """Each picture the messages name: its type, bytes, time and the message that brought it (without ids)."""
    by_id = {message["id"]: message for message in messages}
    named = dict.fromkeys(item["id"] for message in messages for item in message.get("media") or [])
    pictures: dict[str, Any] = {}
    for media_id in named:
        media = await store.load_media(media_id)
        owner = None if media is None else without_ids([by_id[media.message_id]])[0]  # KeyError: a stale id
        pictures[media_id] = None if media is None else (media.content_type, media.data, media.created_at, owner)
    return pictures


async def _contents(deployment: Deployment) -> dict[str, Any]:
    everything: dict[str, Any] = {"registry": await deployment.businesses()}
    for slug, store in deployment.stores().items():
        jobs = sorted(await store.list_jobs(), key=lambda job: job["id"])
        conversations = {job["id"]: await store.job_messages(job["id"]) for job in jobs}
        logs = {phone: await store.phone_messages(phone) for phone in PHONES}
        read = [message for log in [*conversations.values(), *logs.values()] for message in log]
        everything[slug] = {
            "jobs": jobs,
            "conversations": {job_id: without_ids(messages) for job_id, messages in conversations.items()},
            "phone logs": {phone: without_ids(log) for phone, log in logs.items()},
            "phone states": {phone: await store.get_phone(phone) for phone in PHONES},
            "pending": without_ids(await store.pending_messages()),
            "rows": [(rows.jobs, without_ids(rows.messages), rows.phones) async for rows in read_rows(store)],
            "pictures": await _pictures(store, read),
            "fetches due": (without_ids(await store.due_media(utc_now(), 100)), await store.next_media_due()),
        }
    return everything


def contents(database_url: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        deployment = await open_deployment(database_url)
        try:
            return await _contents(deployment)
        finally:
            await deployment.close()

    return asyncio.run(read())


def tally(store_contents: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """(jobs, messages, pending, phones, pictures) of one business, counted from what was read."""
    conversations = sum(len(messages) for messages in store_contents["conversations"].values())
    own = sum(
        1
        for phone, log in store_contents["phone logs"].items()
        for m in log
        if m["job_id"] is None and m["phone"] == phone
    )
    phones = {phone for _, _, states in store_contents["rows"] for phone in states}
    pictures = sum(1 for held in store_contents["pictures"].values() if held is not None)
    return len(store_contents["jobs"]), conversations + own, len(store_contents["pending"]), len(phones), pictures


def source_url(root: Path) -> str:
    return environ_of(root)["DATABASE_URL"]


# -- the copy -------------------------------------------------------------------------------------


def test_copy_prints_the_counts_on_both_sides_and_every_row_reads_back_alike(
    source: Path, target: str, tmp_path: Path
) -> None:
    before = contents(source_url(source))
    done = copy(source, target, tmp_path)
    assert done.returncode == 0, done.stderr
    after = contents(target)

    assert after == before  # registry records as stored, jobs whole, texts in order with every key but the id
    assert contents(source_url(source)) == before  # the source is left as it was
    counts = printed_counts(done.stdout)
    for slug in (DEFAULT.slug, ACME.slug):
        assert counts[slug, "source"] == counts[slug, "target"] == tally(before[slug]), done.stdout
    assert "Registered businesses: source 1, target 1." in done.stdout
    assert "Not copied: idempotency keys" in done.stdout

    # What the deployment built: the counts say something, and pending texts are among the rows.
    default = before[DEFAULT.slug]
    assert [job["id"] for job in default["jobs"]] == [1001, 1002]
    assert default["pending"], "nothing is sent (RUN_SENDER=false): queued texts stay pending"
    assert default["phone logs"][STRANGER], "the stranger's texts belong to no job"
    assert before[ACME.slug]["phone states"][CUSTOMER]["opted_out"] is True
    assert default["jobs"][0]["reminder_due_at"], "job 1001's appointment has its reminder due"
    assert tally(default)[4] == 4 and tally(before[ACME.slug])[4] == 1  # the proof photo named twice, counted once
    assert [m["body"] for m in default["fetches due"][0]] == ["and this"]
    owners = {owner["body"] for _, _, _, owner in default["pictures"].values()}
    assert owners == {"this lot", "ARRIVED 1002", "whose dog?"}  # not the MMS that sent the proof photo on


def test_a_round_trip_through_postgresql_comes_back_as_it_left(source: Path, tmp_path: Path) -> None:
    before = contents(source_url(source))
    back = f"tinydb:///{tmp_path}/back/qdn.json"
    with target_url("postgresql", tmp_path) as postgres:
        there = copy(source, postgres, tmp_path)
        assert there.returncode == 0, there.stderr
        again = copy(source, back, tmp_path, DATABASE_URL=postgres, DATA_DIR=str(source / "data"))
        assert again.returncode == 0, again.stderr
    assert contents(back) == before
    assert printed_counts(again.stdout) == printed_counts(there.stdout)


def test_undelivered_dashboard_events_are_named_as_left_behind(source: Path, tmp_path: Path) -> None:
    async def queue_an_event() -> None:
        deployment = await open_deployment(source_url(source))
        try:
            deployment.default.enable_events()  # as EVENTS_URL does: the inbound text below queues one
            await deployment.default.add_message({**sms_row(STRANGER, "still there?"), "twilio_sid": "SM" + "e0" * 16})
        finally:
            await deployment.close()

    asyncio.run(queue_an_event())
    done = copy(source, f"tinydb:///{tmp_path}/target/qdn.json", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Not copied: dashboard events not delivered yet (default); run the service on the source" in done.stdout


def test_the_generated_secrets_go_with_a_tinydb_copy_and_stay_put_for_postgresql(
    source: Path, target: str, tmp_path: Path
) -> None:
    done = copy(source, target, tmp_path)
    assert done.returncode == 0, done.stderr
    if target.startswith("tinydb:"):
        copied = tmp_path / "target" / SECRET_KEY_FILE
        assert copied.read_text() == (source / "data" / SECRET_KEY_FILE).read_text()
        assert copied.stat().st_mode & 0o077 == 0
        assert f"Copied the generated {SECRET_KEY_FILE}" in done.stdout
    else:
        assert f"Generated secrets stay in {source / 'data'}" in done.stdout
    assert "password" not in done.stdout.lower()


# -- a service on the copy --------------------------------------------------------------------------


def signed(client: TestClient, form: dict[str, str], key: str) -> tuple[int, str]:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/twilio/sms", form, key),
    }
    response = client.post("/twilio/sms", content=urlencode(form), headers=headers)
    return response.status_code, response.text


def sms_row(phone: str, body: str) -> dict[str, Any]:
    """An inbound text as the store keeps it, outside any job."""
    return {"direction": "inbound", "kind": "text", "job_id": None, "phone": phone, "from": phone,
            "to": DEFAULT.number, "body": body, "twilio_sid": None, "status": "received", "error_code": None,
            "error_message": None, "num_media": "0"}  # fmt: skip


def sms(to: str, sender: str, body: str, sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": to, "Body": body,
            "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}  # fmt: skip


def answers(client: TestClient, acme_token: str) -> dict[str, Any]:
    """What a service answers, from the dashboards' side, the customers' side and Twilio's."""
    default_jobs = client.get("/jobs", headers=bearer(API_TOKEN)).json()
    token = next(job["token"] for job in default_jobs["jobs"] if job["id"] == 1001)
    page = client.get(f"/track/{token}")
    conversation = client.get("/jobs/1001/messages", headers=bearer(API_TOKEN)).json()["messages"]
    replayed = next(m for m in conversation if m["direction"] == "inbound")
    return {
        # Consent on record, read before anything below writes more of it (docs/consent.md).
        "default consent": client.get("/consent", params={"phone": CUSTOMER}, headers=bearer(API_TOKEN)).json(),
        "acme consent": client.get("/consent", params={"phone": CUSTOMER}, headers=bearer(acme_token)).json(),
        "acme consent list": client.get("/consent", headers=bearer(acme_token)).json(),
        "default jobs": default_jobs,
        "acme jobs": client.get("/jobs", headers=bearer(acme_token)).json(),
        "default 1002": client.get("/jobs/1002", headers=bearer(API_TOKEN)).json(),
        "conversation": without_ids(conversation),
        # The page embeds its texts as JSON: their ids are the store's own, new in a copy.
        "tracking page": (page.status_code, re.sub(r'"id": "[^"]*"', '"id": ""', page.text)),
        "public view": client.get(f"/jobs/token/{token}").json(),
        # A repeated delivery of a text from before the copy: the first answer again, nothing stored.
        "replayed": signed(
            client, sms(DEFAULT.number, CUSTOMER, replayed["body"], replayed["twilio_sid"]), DEFAULT.key
        ),
        # The customer was given this answer minutes ago (her phone's state says so): not again.
        "status, answered already": signed(
            client, sms(DEFAULT.number, CUSTOMER, "STATUS", "SM" + "c0" * 16), DEFAULT.key
        ),
        "status": signed(client, sms(DEFAULT.number, OTHER_CUSTOMER, "STATUS", "SM" + "c1" * 16), DEFAULT.key),
        "dispatcher": signed(client, sms(DEFAULT.number, DEFAULT.dispatcher, "JOBS", "SM" + "c2" * 16), DEFAULT.key),
        # acme's number, checked with acme's own (sealed) auth token; the customer opted out there.
        "acme opt-in": signed(client, sms(ACME.number, CUSTOMER, "START", "SM" + "c3" * 16), ACME.key),
        "acme wrong key": signed(client, sms(ACME.number, CUSTOMER, "STATUS", "SM" + "c4" * 16), DEFAULT.key)[0],
        "next job": client.post("/jobs", json={**DEFAULT.job_1001(), "notes": None}, headers=bearer(API_TOKEN)).json()[
            "id"
        ],
        "acme next job": client.post("/jobs", json=ACME.job_1001(), headers=bearer(acme_token)).json()["id"],
    }


def test_a_service_on_the_copy_answers_as_the_source_does(
    source: Path, target: str, tmp_path: Path, acme_token: str
) -> None:
    done = copy(source, target, tmp_path)
    assert done.returncode == 0, done.stderr
    # A TinyDB copy carries the generated secrets in its folder; PostgreSQL keeps none: DATA_DIR stays.
    on_copy = {"DATABASE_URL": target} | ({} if target.startswith("tinydb:") else {"DATA_DIR": str(source / "data")})
    expected = {}
    for name, environ in (("source", environ_of(source)), ("copy", environ_of(source, **on_copy))):
        settings = load_settings(environ, env_file=None)
        with TestClient(create_app(settings)) as client:
            expected[name] = answers(client, acme_token)
    source_answers, copy_answers = expected["source"], expected["copy"]
    for key, value in source_answers.items():
        assert copy_answers[key] == value, key
    assert source_answers["acme opt-in"][0] == 200 and "opted back in" in source_answers["acme opt-in"][1]
    booked, stopped = source_answers["acme consent"]["events"]
    assert source_answers["acme consent"]["state"] == "opted_out" and stopped["words"] == "STOP"
    assert booked["type"] == "consent" and booked["source"] == "booking" and booked["by"].startswith("token:tok_")
    assert [e["by"] for e in source_answers["default consent"]["events"]] == ["token:api"]  # API_TOKEN booked 1001
    assert {row["phone"] for row in source_answers["acme consent list"]["phones"]} == {CUSTOMER, OTHER_CUSTOMER}
    assert source_answers["status, answered already"] == (200, '<?xml version="1.0" encoding="UTF-8"?><Response />')
    assert "Job 1002 (junk removal) is arrived." in source_answers["status"][1]
    assert source_answers["acme wrong key"] == 403
    assert source_answers["next job"] == 1003
    assert source_answers["acme next job"] == 1003


# -- refusals ---------------------------------------------------------------------------------------


async def _occupy(url: str, how: str) -> None:
    deployment = await open_deployment(url)
    try:
        store = deployment.default
        if how == "a job":
            fields = {"customer_name": "Old Data", "customer_phone": CUSTOMER, "service_type": "junk removal"}

            def build(job_id: int) -> JobWrite:
                return JobWrite(new_job(job_id, "TOK-OCCUPIED", fields, utc_now()))

            await store.create_job(build)
        elif how == "a phone":
            await store.update_phone(STRANGER, lambda state: {**state, "opted_out": True, "opt_source": "STOP"})
        else:
            box = SecretBox("refusal-tests-secret-key-0123456789abcdef")
            await deployment.add_business(business_record(box, ACME_PAYLOAD, "qdn_refusal-token"))
    finally:
        await deployment.close()


@pytest.mark.parametrize("how", ["a job", "a phone", "a business"])
def test_a_target_that_holds_anything_is_refused_and_left_alone(
    source: Path, target: str, tmp_path: Path, how: str
) -> None:
    asyncio.run(_occupy(target, how))
    before = contents(target)
    done = copy(source, target, tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("qdn: the target is not empty: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert contents(target) == before


def test_the_source_itself_is_refused(source: Path, tmp_path: Path) -> None:
    done = copy(source, source_url(source), tmp_path)
    assert done.returncode == 2
    assert done.stderr == "qdn: --to names the configured store itself (DATABASE_URL); name a new, empty store\n"


def test_an_unknown_target_scheme_is_one_line_naming_to_without_its_password(source: Path, tmp_path: Path) -> None:
    done = copy(source, "mysql://qdn:hunter2@db.example.test/qdn", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("qdn: --to 'mysql://qdn:***@db.example.test/qdn' is not supported; use one of ")
    assert done.stderr.count("\n") == 1 and "hunter2" not in done.stderr
