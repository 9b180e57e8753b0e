"""Dashboard events: signed per Standard Webhooks, from the durable outbox, in order, across an outage.

The receiver is a real HTTP server on 127.0.0.1 that checks every signature
with the reference library (`standardwebhooks`) and counts what it gets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import respx
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from bot.jobs import clean_fields
from bot.messages import inbound_message
from config.settings import ConfigError, load_settings
from sender.events import EventSender, payload
from sender.pacing import Backoff
from store import open_store
from tests.businesses import call, register_business, tenants_of
from tests.support import API_TOKEN, CUSTOMER, base_environ, job_body
from tests.test_sms_webhook import inbound
from tests.twilio_fake import PUBLIC_BASE_URL, FakeTwilio, drain, sign, twilio_environ
from web.app import create_app

SECRET = "whsec_" + base64.b64encode(b"qdn-test-events-secret-32-bytes!").decode()


class Receiver:
    """A dashboard's webhook endpoint: verifies each delivery, answers `status` (or hangs while `gate` is shut)."""

    def __init__(self, *, strict: bool = True, secret: str = SECRET) -> None:
        self.secret = secret  # what signatures are checked with
        self.status = 204
        self.gate = threading.Event()
        self.gate.set()
        self.attempts: list[str] = []  # webhook-id of every request, in arrival order
        self.accepted: list[dict[str, Any]] = []  # verified payloads answered 2xx, with their webhook-id
        self.forged = 0
        self.strict = strict  # False: check the signature only (for a test whose clock is not the real one)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.gate.wait(10)
                receiver.attempts.append(self.headers["webhook-id"])
                if not receiver.verified(body, dict(self.headers)):
                    receiver.forged += 1
                    self.send_response(400)
                elif 200 <= receiver.status < 300:
                    receiver.accepted.append({"id": self.headers["webhook-id"], **json.loads(body)})
                    self.send_response(receiver.status)
                else:
                    self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/qdn-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verified(self, body: bytes, headers: dict[str, str]) -> bool:
        hook = Webhook(self.secret)
        if self.strict:
            try:
                hook.verify(body, headers)  # the signature, and a timestamp within 5 minutes of now
            except Exception:
                return False
            return True
        lowered = {k.lower(): v for k, v in headers.items()}
        at = datetime.fromtimestamp(int(lowered["webhook-timestamp"]), UTC)
        expected = hook.sign(lowered["webhook-id"], at, body.decode())
        return expected in lowered["webhook-signature"].split(" ")

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, deadline: float = 10) -> list[dict[str, Any]]:
        end = time.monotonic() + deadline
        while len(self.accepted) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.accepted


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


# -- end to end: the app queues, the app's deliverer POSTs --------------------------------------------


@pytest.fixture
def live(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[TestClient, FakeTwilio]]:
    """An app with Twilio settings (faked at the HTTP level) and EVENTS_URL pointing at the receiver."""
    settings = load_settings(twilio_environ(tmp_path, EVENTS_URL=receiver.url, EVENTS_SECRET=SECRET), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # the receiver is real
        twilio = FakeTwilio(router)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            yield client, twilio


def signed_text(client: TestClient, sender: str, words: str) -> None:
    raw = inbound(sender, words)
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    signature = sign(f"{PUBLIC_BASE_URL}/twilio/sms", fields)
    response = client.post("/twilio/sms", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                "X-Twilio-Signature": signature})  # fmt: skip
    assert response.status_code == 200, response.text


def test_a_move_an_inbound_text_and_a_failed_send_reach_the_dashboard_signed(live, receiver):
    client, twilio = live
    twilio.fail_next(30006)  # the booking text: a landline, a final failure
    job = client.post("/jobs", json=job_body()).json()
    drain(client)
    client.post(f"/jobs/{job['id']}/status", json={"status": "en route", "eta_minutes": 20})
    signed_text(client, CUSTOMER, "Gate code is 4411")
    events = receiver.wait_for(4)
    assert [e["type"] for e in events] == [
        "message.delivery_failed", "phone.undeliverable", "job.status_changed", "message.received"
    ]  # fmt: skip
    failed, landline, moved, received = events
    assert failed["data"]["message"]["status"] == "failed" and failed["data"]["message"]["error_code"] == 30006
    assert landline["data"]["phone"] == CUSTOMER and landline["data"]["reason"] == "landline"
    assert landline["data"]["job_id"] == job["id"] and landline["data"]["message"] == failed["data"]["message"]
    assert moved["data"]["previous_status"] == "scheduled"
    shown = client.get(f"/jobs/{job['id']}").json()
    assert moved["data"]["job"] == {key: value for key, value in shown.items() if key != "phone_status"}
    assert received["data"]["message"]["body"] == "Gate code is 4411"
    assert received["data"]["message"]["job_id"] == job["id"]
    assert all(set(e) == {"id", "type", "timestamp", "business", "data"} for e in events) and receiver.forged == 0
    assert {e["business"] for e in events} == {"default"}  # the settings' own business
    assert len({e["id"] for e in events}) == 4


def test_an_event_never_holds_up_the_webhook_that_caused_it(live, receiver):
    client, _ = live
    client.post("/jobs", json=job_body())
    receiver.gate.clear()  # the dashboard hangs
    started = time.monotonic()
    signed_text(client, CUSTOMER, "STATUS")
    signed_text(client, CUSTOMER, "Are you close?")
    assert time.monotonic() - started < 5  # answered while the dashboard still has not answered
    assert receiver.accepted == []
    receiver.gate.set()
    assert [e["data"]["message"]["body"] for e in receiver.wait_for(2)] == ["STATUS", "Are you close?"]


def test_events_need_both_settings_and_a_real_secret(tmp_path):
    for extra, named in (
        ({"EVENTS_URL": "https://dash.example.test/hooks"}, "EVENTS_SECRET"),
        ({"EVENTS_SECRET": SECRET}, "EVENTS_URL"),
        ({"EVENTS_URL": "https://dash.example.test/hooks", "EVENTS_SECRET": "hunter2"}, "EVENTS_SECRET"),
        ({"EVENTS_URL": "dash.example.test", "EVENTS_SECRET": SECRET}, "EVENTS_URL"),
    ):
        with pytest.raises(ConfigError) as stopped:
            load_settings(base_environ(tmp_path, **extra), env_file=None)
        assert str(stopped.value).startswith(named), stopped.value


# -- a dashboard down for an hour: the outbox, the backoff, the order --------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_dashboard_down_for_an_hour_gets_every_event_afterwards_in_order_once_each(tmp_path):
    async def scenario(receiver: Receiver) -> tuple[int, list[str]]:
        store = await open_store(f"tinydb:///{tmp_path}/data/qdn.json")
        store.enable_events()
        clock = Clock()
        events = EventSender(store, receiver.url, SECRET, lambda token: f"https://x.test/{token}", now=clock,
                             backoff=Backoff(base=1.0, cap=300.0, rng=random.Random(17)))  # fmt: skip
        try:
            receiver.status = 503
            for n in range(5):
                await store.record_inbound(inbound_row(f"text {n}", clock.now))
            outage_ends = clock.now + timedelta(hours=1)
            while clock.now < outage_ends:  # an hour of failed attempts, at the production backoff
                if not await events.deliver_due():
                    clock.now = datetime.fromisoformat(await store.next_event_due() or "")
            failed_attempts = len(receiver.attempts)
            receiver.status = 200
            while await store.next_event_due() is not None:
                if not await events.deliver_due():
                    clock.now = datetime.fromisoformat(await store.next_event_due() or "")
            return failed_attempts, receiver.attempts
        finally:
            await events.client.aclose()
            await store.close()

    with Receiver(strict=False) as receiver:
        failed_attempts, attempts = asyncio.run(scenario(receiver))
    bodies = [e["data"]["message"]["body"] for e in receiver.accepted]
    assert bodies == [f"text {n}" for n in range(5)]  # all of them, in order, each once
    assert len({e["id"] for e in receiver.accepted}) == 5 and receiver.forged == 0
    first = receiver.accepted[0]["id"]
    assert 10 <= failed_attempts <= 35 and set(attempts[:failed_attempts]) == {first}  # retried, never skipped
    assert attempts.count(first) == failed_attempts + 1  # one webhook-id on every attempt


def inbound_row(body: str, at: datetime) -> dict[str, Any]:
    return inbound_message(kind="text", sid=f"SM{abs(hash(body)):032x}"[:34], sender=CUSTOMER, to="+15125550123",
                           body=body, now=at.isoformat(), job_id=None, num_media="0", reply=None)  # fmt: skip


def test_an_undelivered_event_survives_a_restart_and_is_sent_with_the_same_id(tmp_path):
    url = f"tinydb:///{tmp_path}/data/qdn.json"

    async def queue_and_fail(receiver: Receiver) -> None:
        store = await open_store(url)
        store.enable_events()
        events = EventSender(store, receiver.url, SECRET, str)
        receiver.status = 500
        await store.record_inbound(inbound_row("before the crash", datetime.now(UTC)))
        assert await events.deliver_due()
        await events.client.aclose()
        await store.close()

    async def deliver(receiver: Receiver) -> None:
        store = await open_store(url)
        events = EventSender(store, receiver.url, SECRET, str, now=lambda: datetime.now(UTC) + timedelta(minutes=1))
        receiver.status = 200
        assert await events.deliver_due()
        await events.client.aclose()
        await store.close()

    with Receiver() as receiver:
        asyncio.run(queue_and_fail(receiver))
        asyncio.run(deliver(receiver))
    assert len(receiver.attempts) == 2 and receiver.attempts[0] == receiver.accepted[0]["id"]


def test_the_body_is_the_same_bytes_on_every_attempt():
    event = {"id": "evt_1", "type": "job.status_changed", "created_at": "2026-12-02T14:00:00.000Z",
             "data": {"job": {"id": 1001, "token": "K7M2-9XPQ-2HTR-4VWA-C3DF", "status": "en_route"},
                      "previous_status": "scheduled"}}  # fmt: skip
    first = payload(event, lambda token: f"https://sms.example.test/track?token={token}", "acme")
    assert first == payload(event, lambda token: f"https://sms.example.test/track?token={token}", "acme")
    body = json.loads(first)
    assert body["timestamp"] == "2026-12-02T14:00:00.000Z" and body["business"] == "acme"
    assert body["data"]["job"]["tracking_url"].endswith("K7M2-9XPQ-2HTR-4VWA-C3DF")


def test_a_message_events_pictures_carry_the_dashboards_links():
    event = {"id": "evt_2", "type": "message.received", "created_at": "2026-12-02T14:00:00.000Z",
             "data": {"message": {"id": "1001-3", "body": "How much?", "media": [
                 {"id": "AbCdEfGhIjKlMnOpQrStUv", "type": "image/jpeg", "size": 2048}]}}}  # fmt: skip
    body = json.loads(payload(event, str, "default", lambda media_id: f"https://sms.example.test/media/{media_id}"))
    assert body["data"]["message"]["media"] == [
        {"id": "AbCdEfGhIjKlMnOpQrStUv", "type": "image/jpeg", "size": 2048,
         "url": "https://sms.example.test/media/AbCdEfGhIjKlMnOpQrStUv"}
    ]  # fmt: skip
    assert body["data"]["message"]["body"] == "How much?"


# -- several businesses: each one's events name it and go to its own URL ------------------------------

ACME_SECRET = "whsec_" + base64.b64encode(b"acme-own-events-secret-32-bytes!").decode()


def test_each_business_s_events_name_it_and_go_to_its_own_url_signed_with_its_secret(tmp_path, receiver):
    """acme has its own EVENTS_URL and secret; bolt has none, so its events go to the deployment's."""
    settings = load_settings(base_environ(tmp_path, EVENTS_URL=receiver.url, EVENTS_SECRET=SECRET), env_file=None)
    with Receiver(secret=ACME_SECRET) as acme_dashboard, TestClient(create_app(settings)) as client:
        register_business(client, {"slug": "acme", "name": "Acme Hauling", "numbers": ["+13035550100"],
                                   "events_url": acme_dashboard.url, "events_secret": ACME_SECRET})  # fmt: skip
        register_business(client, {"slug": "bolt", "name": "Bolt Junk Co", "numbers": ["+12125550200"]})
        for slug in ("default", "acme", "bolt"):
            svc = tenants_of(client).get(slug).services  # type: ignore[union-attr]
            job = call(client, svc.create_job, clean_fields(job_body(), svc.settings.timezone, partial=False)).job
            assert job["id"] == 1001  # each business's own sequence: the same id three times
            call(client, svc.change_status, job["id"], "en_route", by="api", eta_minutes=15)
        to_acme = acme_dashboard.wait_for(1)
        to_deployment = receiver.wait_for(2)
    assert [(e["business"], e["type"], e["data"]["job"]["id"]) for e in to_acme] == [
        ("acme", "job.status_changed", 1001)
    ]
    assert sorted((e["business"], e["type"]) for e in to_deployment) == [
        ("bolt", "job.status_changed"),
        ("default", "job.status_changed"),
    ]
    # Each verified with its own URL's secret: nothing forged, and nothing of acme's at the deployment's.
    assert acme_dashboard.forged == receiver.forged == 0
    assert len(acme_dashboard.attempts) == 1 and len(receiver.attempts) == 2
    assert to_acme[0]["data"]["job"]["tracking_url"].startswith("https://sms.example.test/track")
