"""The send queue end to end: real TinyDB files, the real worker, Twilio's HTTP side mocked with respx.

Backoff is injected as zero so retries happen at once; nothing here sleeps or times anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from starlette.testclient import TestClient

import store as store_registry
from bot import jobs
from bot.errors import StoreUnavailable
from bot.messages import OPTED_OUT_REASON
from config import database_url
from config.settings import ConfigError, Settings, load_settings
from handlers.services import Services
from sender.__main__ import send_until
from sender.attempt import NEVER_SENT_AFTER
from sender.pacing import Backoff, RateLimiter
from sender.transports.base import Accepted
from sender.transports.console import ConsoleTransport
from sender.transports.twilio import LISTING_LIMIT, TwilioTransport
from sender.worker import Sender, running
from store import Deployment, Store, open_store
from store.tinydb import TinyDBBackend
from tests.support import API_TOKEN, CUSTOMER, LiveServer, base_environ, job_body
from tests.twilio_fake import (
    ACCEPTED_THEN_HANG,
    ACCEPTED_THEN_TIMEOUT,
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    FROM_NUMBER,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    basic_auth,
    drain,
    message_json,
    status_callback_url,
    twilio_environ,
)
from web.app import create_app

OTHER_CUSTOMER = "+15125550142"
DEADLINE = 10  # seconds before a hung worker fails the test (never reached when things work)


# -- through the app: what a dashboard user and a customer see ------------------------------


@contextlib.contextmanager
def live_app(tmp_path: Path, **overrides: str) -> Iterator[tuple[TestClient, FakeTwilio]]:
    settings = load_settings(twilio_environ(tmp_path, **overrides), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            yield client, twilio


def test_creation_and_each_transition_send_exactly_one_text_with_the_right_wording(tmp_path):
    with live_app(tmp_path) as (client, twilio):
        job = client.post("/jobs", json=job_body(service_type="dump trailer rental")).json()
        drain(client)
        assert len(twilio.creates) == 1
        request = twilio.creates[0]
        (booked,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert request.headers["authorization"] == basic_auth(API_KEY, API_SECRET)
        assert twilio.form(request) == {
            "To": CUSTOMER,
            "From": FROM_NUMBER,
            "Body": (
                "QuickDumpNow: Hi Dana, your dump trailer is booked (job 1001). We'll text when it's on the way. "
                f"Track: {job['tracking_url']} Questions? Call (512) 555-0123. "
                "Reply STOP to opt out."
            ),
            "StatusCallback": status_callback_url(booked["id"]),  # names its business and itself
        }

        moves = [
            ({"status": "en_route", "eta_minutes": 20}, "ETA 20 min, around"),
            ({"status": "en_route", "eta_minutes": 20}, None),  # same status, same ETA: no text
            ({"status": "en_route", "eta_minutes": 35}, "ETA 35 min, around"),  # a new ETA is texted
            ({"status": "arrived"}, "your dump trailer is here (job 1001)"),
            ({"status": "arrived"}, None),
            ({"status": "complete", "total": 1200}, "Total: $1,200.00."),
        ]
        for move, wording in moves:
            before = len(twilio.creates)
            assert client.post(f"/jobs/{job['id']}/status", json=move).status_code == 200
            drain(client)
            sent = twilio.creates[before:]
            if wording is None:
                assert sent == [], move
            else:
                assert len(sent) == 1, move
                assert wording in twilio.form(sent[0])["Body"]

        other = client.post("/jobs", json=job_body(service_type="dumpster delivery")).json()
        drain(client)
        before = len(twilio.creates)
        assert client.post(f"/jobs/{other['id']}/status", json={"status": "cancelled"}).status_code == 200
        drain(client)
        (cancelled,) = twilio.creates[before:]
        assert twilio.form(cancelled)["Body"] == (
            "QuickDumpNow: Dana, your dumpster delivery (job 1002) has been cancelled. Questions? Call (512) 555-0123."
        )

        log = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert [m["status"] for m in log] == ["queued"] * 5
        assert [m["twilio_sid"] for m in log] == [m["sid"] for m in twilio.held if "job 1001" in m["body"]]
        assert [m["body"] for m in log] == [body for body in twilio.bodies if "job 1001" in body]
        assert all(m["kind"] == "notification" and m["from"] == FROM_NUMBER for m in log)


def test_messaging_service_sid_wins_over_the_from_number(tmp_path):
    with live_app(tmp_path, TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID) as (client, twilio):
        client.post("/jobs", json=job_body())
        drain(client)
        form = twilio.form(twilio.creates[0])
        assert form["MessagingServiceSid"] == MESSAGING_SERVICE_SID
        assert "From" not in form
        (booked,) = client.get("/jobs/1001/messages").json()["messages"]
        assert form["To"] == CUSTOMER and form["StatusCallback"] == status_callback_url(booked["id"])


def test_without_an_api_key_sends_authenticate_with_account_sid_and_auth_token(tmp_path):
    with live_app(tmp_path, TWILIO_API_KEY="", TWILIO_API_SECRET="") as (client, twilio):
        client.post("/jobs", json=job_body())
        drain(client)
        assert twilio.creates[0].headers["authorization"] == basic_auth(ACCOUNT_SID, AUTH_TOKEN)


def test_twilio_api_base_url_sends_to_another_origin(tmp_path):
    settings = load_settings(twilio_environ(tmp_path, TWILIO_API_BASE_URL="http://127.0.0.1:4010/"), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router, origin="http://127.0.0.1:4010")
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            client.post("/jobs", json=job_body())
            drain(client)
    assert len(twilio.creates) == 1 and twilio.creates[0].url.host == "127.0.0.1"


def test_console_mode_prints_the_text_and_marks_it_sent(client, capsys):
    job = client.post("/jobs", json=job_body()).json()
    drain(client)
    printed = capsys.readouterr().out
    assert "text to +1•••••••0199" in printed and CUSTOMER not in printed
    assert f"your junk removal is booked (job {job['id']})" in printed
    (message,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
    assert message["status"] == "sent" and message["twilio_sid"] is None


# -- the worker on a real store: faults ----------------------------------------------------


class Clock:
    """The real UTC time, which a test can move forward by hand."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


async def until_idle(sender: Sender) -> None:
    """Run the worker until nothing is in flight or due, then stop it."""
    async with running(sender):
        await asyncio.wait_for(sender.wait_idle(), DEADLINE)


class Harness:
    """A real store, Services to queue texts, the fake Twilio, and workers to start and stop."""

    def __init__(self, tmp_path: Path, router: respx.MockRouter, **overrides: str) -> None:
        self.settings: Settings = load_settings(twilio_environ(tmp_path, **overrides), env_file=None)
        self.url = self.settings.database_url
        self.twilio = FakeTwilio(router)
        self.clock = Clock()
        self.store: Any = None
        self.sender: Sender | None = None

    async def open(self) -> Services:
        self.store = await open_store(self.url)
        return Services(settings=self.settings, store=self.store)

    def worker(self, **options: Any) -> Sender:
        options = {"backoff": Backoff(base=0, cap=0), "settle_seconds": 0, "now": self.clock, **options}
        self.sender = Sender(
            self.store,
            TwilioTransport(self.settings),
            rate_per_second=1000,
            give_up_hours=self.settings.send_give_up_hours,
            **options,
        )
        return self.sender

    async def run_until_idle(self, **options: Any) -> None:
        await until_idle(self.worker(**options))

    async def close(self) -> None:
        await self.store.close()

    async def log(self, job_id: int = 1001) -> list[dict[str, Any]]:
        return await self.store.job_messages(job_id)


def scenario(tmp_path: Path, body: Callable[[Harness, Services], Awaitable[None]], **overrides: str) -> Harness:
    """Run `body(harness, services)` on a fresh store; returns the harness for assertions."""

    async def main() -> Harness:
        harness = Harness(tmp_path, router, **overrides)
        services = await harness.open()
        try:
            await body(harness, services)
        finally:
            await harness.close()
        return harness

    with respx.mock(assert_all_called=False) as router:
        return asyncio.run(main())


async def create_job(services: Services, **overrides: Any) -> dict[str, Any]:
    fields = jobs.clean_fields(job_body(**overrides), services.settings.timezone, partial=False)
    return (await services.create_job(fields)).job


def test_429_three_times_then_success_sends_one_text(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(20429, 20429, 20429)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "queued" and message["twilio_sid"] == h.twilio.held[0]["sid"]
        assert message["error_code"] is None and message["error_message"] is None
        assert message["attempts"] == 4 and message["send_started_at"] is None

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 4 and len(h.twilio.held) == 1


@pytest.mark.parametrize("first_failure", [500, httpx.ConnectError, httpx.ConnectTimeout])
def test_a_server_error_or_no_connection_is_retried_once_it_clears(tmp_path, first_failure):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(first_failure)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "queued"

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 2 and len(h.twilio.held) == 1


def test_a_retried_text_shows_why_it_is_still_pending(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(500)
        await h.run_until_idle(backoff=Backoff(base=3600, cap=3600))  # the retry is an hour away
        (message,) = await h.log()
        assert message["status"] == "pending"
        assert message["error_code"] == 500 and message["next_attempt_at"] > jobs.iso_utc(h.clock())

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1


def test_a_timeout_after_twilio_accepted_the_text_is_reconciled_without_a_duplicate(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(ACCEPTED_THEN_TIMEOUT)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "queued" and message["twilio_sid"] == h.twilio.held[0]["sid"]

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1, "never re-sent"
    assert len(h.twilio.held) == 1 and len(h.twilio.lookups) == 1
    assert h.twilio.lookups[0].url.params["To"] == CUSTOMER
    assert h.twilio.lookups[0].url.params["From"] == FROM_NUMBER


def test_a_timeout_twilio_has_no_record_of_is_sent_again_once_the_send_window_has_passed(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(httpx.ReadTimeout)  # the request never reached Twilio
        await h.run_until_idle()
        (waiting,) = await h.log()
        # Too early to trust an absence: Twilio could still be creating it.
        assert waiting["status"] == "pending" and waiting["send_started_at"]
        h.clock.ahead = NEVER_SENT_AFTER + timedelta(seconds=1)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "queued" and message["twilio_sid"] == h.twilio.held[0]["sid"]

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 2 and h.twilio.bodies == [h.twilio.held[0]["body"]], "sent once in all"
    listing = h.twilio.lookups[-1].url.params
    assert listing["To"] == CUSTOMER and listing["From"] == FROM_NUMBER and listing["PageSize"] == "1000"
    assert "DateSent" not in str(h.twilio.lookups[-1].url)  # a queued text has none: no date filter


def test_a_text_in_the_window_twilio_lists_but_we_cannot_account_for_leaves_it_unknown(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(ACCEPTED_THEN_TIMEOUT)
        # Twilio took it, but lists it with another body (a messaging service's smart encoding rewrites some).
        h.twilio.rewrite = lambda text: text.replace("'", "’")
        await h.run_until_idle()
        h.clock.ahead = NEVER_SENT_AFTER + timedelta(seconds=1)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "unknown"
        assert "check with the customer" in message["error_message"]

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1, "never re-sent"


def test_a_phone_with_a_full_page_of_texts_at_twilio_proves_nothing(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        long_ago = datetime(2024, 1, 1, 10, tzinfo=UTC)
        for n in range(LISTING_LIMIT):  # old texts, long before the attempt: a full page all the same
            form = {"To": CUSTOMER, "From": FROM_NUMBER, "Body": f"old {n}"}
            h.twilio.held.append(message_json(f"SM{n:032x}", form, created=long_ago))
        await create_job(services)
        h.twilio.fail_next(httpx.ReadTimeout)
        await h.run_until_idle()
        h.clock.ahead = NEVER_SENT_AFTER + timedelta(seconds=1)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "unknown"

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1, "never re-sent"


def test_the_console_cannot_prove_an_absence_so_an_interrupted_send_stays_unknown(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        (message,) = await h.log()
        started = jobs.iso_utc(h.clock() - timedelta(hours=1))
        await h.store.update_message(message["id"], lambda m: {**m, "send_started_at": started})
        sender = Sender(h.store, ConsoleTransport(io.StringIO()), rate_per_second=1000, give_up_hours=24,
                        backoff=Backoff(base=0, cap=0), settle_seconds=0, now=h.clock)  # fmt: skip
        await until_idle(sender)
        (message,) = await h.log()
        assert message["status"] == "unknown"

    scenario(tmp_path, body)


def test_an_earlier_identical_text_does_not_settle_a_timed_out_one(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        job = await create_job(services)
        await services.text_customer(job["id"], "See you soon")
        await h.run_until_idle()
        await services.text_customer(job["id"], "See you soon")  # same words, a new text
        h.twilio.fail_next(httpx.ReadTimeout)  # ... that never reached Twilio
        await h.run_until_idle()
        statuses = [m["status"] for m in await h.log()]
        assert statuses == ["queued", "queued", "pending"]
        # The earlier one is ours (its SID is on record): Twilio's list proves the new one never arrived.
        h.clock.ahead = NEVER_SENT_AFTER + timedelta(seconds=1)
        await h.run_until_idle()
        statuses = [m["status"] for m in await h.log()]
        assert statuses == ["queued", "queued", "queued"]

    h = scenario(tmp_path, body)
    assert h.twilio.bodies.count("See you soon") == 2


def test_a_send_interrupted_by_a_crash_is_reconciled_at_restart_not_resent(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(ACCEPTED_THEN_HANG)
        sender = h.worker(stop_grace_seconds=0)
        await sender.start()
        while not h.twilio.held:  # Twilio has taken the text, its answer is on the way ...
            await asyncio.sleep(0)
        await sender.stop()  # ... when the process dies
        (interrupted,) = await h.log()
        assert interrupted["status"] == "pending" and interrupted["send_started_at"]

        await h.store.close()
        await h.open()  # a restart
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "queued" and message["twilio_sid"] == h.twilio.held[0]["sid"]

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1 and len(h.twilio.lookups) == 1


def test_a_restart_sends_pending_texts_once(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        for phone in (CUSTOMER, OTHER_CUSTOMER, CUSTOMER):
            await create_job(services, customer_phone=phone)  # queued while no worker runs
        await h.store.close()

        await h.open()
        await h.run_until_idle()
        await h.store.close()

        await h.open()  # and another restart: nothing is pending any more
        assert await h.store.pending_messages() == []
        await h.run_until_idle()

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 3
    assert sorted(FakeTwilio.form(r)["Body"].split("(job ")[1][:4] for r in h.twilio.creates) == [
        "1001",
        "1002",
        "1003",
    ]


def test_21610_stops_retries_records_the_opt_out_and_skips_later_texts(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        job = await create_job(services)
        h.twilio.fail_next(21610)
        await h.run_until_idle()
        (failed,) = await h.log()
        assert failed["status"] == "failed" and failed["error_code"] == 21610
        assert failed["error_message"] == "Attempt to send to unsubscribed recipient"
        assert await h.store.is_opted_out(CUSTOMER)

        await services.change_status(job["id"], "en_route", by="api", eta_minutes=15)
        await h.run_until_idle()
        later = (await h.log())[-1]
        assert later["status"] == "skipped" and later["error_message"] == OPTED_OUT_REASON

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1


def test_a_text_queued_before_the_opt_out_is_skipped_when_its_turn_comes(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        await h.store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "skipped" and message["error_message"] == OPTED_OUT_REASON

    h = scenario(tmp_path, body)
    assert h.twilio.creates == []


@pytest.mark.parametrize("code", [21211, 21408, 21614, 30006])
def test_permanent_errors_fail_at_once_with_twilios_reason(tmp_path, code):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(code)
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "failed" and message["error_code"] == code
        assert message["error_message"] and not message["error_message"].startswith("Unable to")
        assert not await h.store.is_opted_out(CUSTOMER)

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1


def test_21211_is_failed_with_its_reason(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(21211)
        await h.run_until_idle()
        (message,) = await h.log()
        assert (message["status"], message["error_code"]) == ("failed", 21211)
        assert message["error_message"] == "The 'To' number +15005550001 is not a valid phone number."

    scenario(tmp_path, body)


def test_gives_up_as_failed_after_send_give_up_hours(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        h.twilio.fail_next(503)
        await h.run_until_idle(backoff=Backoff(base=7200, cap=7200))  # next try in 1-2 hours
        (waiting,) = await h.log()
        give_up_at = jobs.iso_utc(datetime.fromisoformat(waiting["created_at"]) + timedelta(hours=2))
        assert waiting["status"] == "pending" and waiting["next_attempt_at"] <= give_up_at
        h.clock.ahead += timedelta(hours=3)  # past SEND_GIVE_UP_HOURS=2
        await h.run_until_idle()
        (message,) = await h.log()
        assert message["status"] == "failed" and message["error_code"] == 503
        assert message["error_message"] == (
            "not sent within 2 hours (SEND_GIVE_UP_HOURS); last error: Service Unavailable"
        )

    h = scenario(tmp_path, body, SEND_GIVE_UP_HOURS="2")
    assert len(h.twilio.creates) == 1  # nothing is tried after the give-up time


def test_texts_to_one_phone_go_out_in_queue_order_even_across_a_retry(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        job = await create_job(services)
        await services.text_customer(job["id"], "second")
        await create_job(services, customer_phone=OTHER_CUSTOMER)
        await services.text_customer(job["id"], "third")
        h.twilio.fail_next(20429, 20429)  # the first text to CUSTOMER is refused twice
        await h.run_until_idle()

    h = scenario(tmp_path, body)
    to_customer = [m["body"] for m in h.twilio.held if m["to"] == CUSTOMER]
    assert to_customer[1:] == ["second", "third"] and "is booked" in to_customer[0]
    assert [m["to"] for m in h.twilio.held].count(OTHER_CUSTOMER) == 1


def test_a_second_worker_run_finds_nothing_to_resend(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        await h.run_until_idle()
        (message,) = await h.log()
        await h.run_until_idle()  # a second worker finds nothing to do
        assert (await h.log())[0] == message

    h = scenario(tmp_path, body)
    assert len(h.twilio.creates) == 1


def test_two_senders_on_one_store_send_each_text_once_and_each_phones_in_order(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        job = await create_job(services)
        other = await create_job(services, customer_phone=OTHER_CUSTOMER)
        for n in range(1, 4):
            await services.text_customer(job["id"], f"to Dana {n}")
            await services.text_customer(other["id"], f"to the other {n}")
        h.twilio.fail_next(20429)  # one retry on the way, to shuffle who claims what
        first, second = h.worker(), h.worker()
        async with running(first), running(second):
            await asyncio.wait_for(asyncio.gather(first.wait_idle(), second.wait_idle()), DEADLINE)

    h = scenario(tmp_path, body)
    assert len(h.twilio.held) == 8 and len(set(h.twilio.bodies)) == 8
    assert len(h.twilio.creates) == 9  # the eight, and the one refused with 429
    to_dana = [m["body"] for m in h.twilio.held if m["to"] == CUSTOMER]
    assert "is booked" in to_dana[0] and to_dana[1:] == ["to Dana 1", "to Dana 2", "to Dana 3"]
    to_other = [m["body"] for m in h.twilio.held if m["to"] == OTHER_CUSTOMER]
    assert to_other[1:] == ["to the other 1", "to the other 2", "to the other 3"]


def test_a_stop_hands_back_the_texts_still_waiting_for_a_rate_slot(tmp_path):
    async def body(h: Harness, services: Services) -> None:
        await create_job(services)
        await create_job(services, customer_phone=OTHER_CUSTOMER)
        # The second text's rate slot is 100 s away.
        sender = Sender(h.store, TwilioTransport(h.settings), rate_per_second=0.01, give_up_hours=24, concurrency=2)
        await sender.start()
        async with asyncio.timeout(DEADLINE):
            while not h.twilio.held:
                await asyncio.sleep(0.01)
        await sender.stop()
        # Another sender (or the next start) can take it at once, without waiting out the lease.
        (waiting,) = await h.store.claim_due(jobs.iso_utc(h.clock()), 10, 3600)
        assert waiting["to"] == OTHER_CUSTOMER and not waiting.get("send_started_at")

    h = scenario(tmp_path, body)
    assert [m["to"] for m in h.twilio.held] == [CUSTOMER]


# -- pacing ----------------------------------------------------------------------------------


def test_rate_limiter_spaces_sends_evenly():
    now = [100.0]
    limiter = RateLimiter(4, clock=lambda: now[0])
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    now[0] += 10  # idle for a while: no burst is saved up beyond the next slot
    assert [limiter.reserve() for _ in range(2)] == [0.0, 0.25]


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    backoff = Backoff(base=2, cap=60)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (6, 60), (30, 60)]:
        delays = {backoff.delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so retries from many texts do not line up


def test_the_worker_holds_at_most_its_concurrency_in_flight(tmp_path):
    in_flight = []
    peak = []

    class Slow(ConsoleTransport):
        async def send(self, to: str, body: str, media_urls: Sequence[str] = (), *, message_id: str = "") -> Accepted:
            in_flight.append(to)
            peak.append(len(in_flight))
            await asyncio.sleep(0)
            in_flight.remove(to)
            return await super().send(to, body, media_urls, message_id=message_id)

    async def body(h: Harness, services: Services) -> None:
        for n in range(8):
            await create_job(services, customer_phone=f"+1512555{n:04d}")
        sender = Sender(h.store, Slow(out=io.StringIO()), rate_per_second=1000, give_up_hours=24, concurrency=3)
        await until_idle(sender)
        statuses = [m["status"] for job_id in range(1001, 1009) for m in await h.log(job_id)]
        assert statuses == ["sent"] * 8

    scenario(tmp_path, body)
    assert max(peak) <= 3


def test_a_finished_send_frees_its_slot_before_the_worker_looks_again(tmp_path):
    """One send at a time: the next due text starts when the last one ends, not at the next poll (an hour)."""
    taken_when_woken = []

    async def body(h: Harness, services: Services) -> None:
        for n in range(3):
            await create_job(services, customer_phone=f"+1512555{n:04d}")
        sender = Sender(h.store, ConsoleTransport(out=io.StringIO()), rate_per_second=1000, give_up_hours=24,
                        concurrency=1, poll_seconds=3600)  # fmt: skip

        class Wakeup(asyncio.Event):
            def set(self) -> None:  # a finished attempt wakes the worker: its slot must be free by then
                taken_when_woken.append(len(sender._tasks))
                super().set()

        sender._wakeup = Wakeup()
        await until_idle(sender)
        statuses = [m["status"] for job_id in range(1001, 1004) for m in await h.log(job_id)]
        assert statuses == ["sent"] * 3

    scenario(tmp_path, body)
    assert taken_when_woken and set(taken_when_woken) == {0}


def test_the_app_worker_follows_the_rate_cap_and_give_up_settings(tmp_path):
    with live_app(tmp_path, SEND_RATE_PER_SECOND="4", SEND_GIVE_UP_HOURS="6") as (client, _):
        sender = client.app_state["sender"]
        assert sender.rate.interval == 0.25 and sender.concurrency == 4
        assert sender.give_up == timedelta(hours=6)
        assert isinstance(sender.transport, TwilioTransport)


# -- which process sends: RUN_SENDER and `qdn send` ------------------------------------------


def test_with_run_sender_false_the_web_process_queues_texts_but_sends_none(tmp_path, caplog):
    with live_app(tmp_path, RUN_SENDER="false") as (client, twilio):
        job = client.post("/jobs", json=job_body()).json()
        time.sleep(0.3)  # the app runs on its own thread: time enough for a sender, were there one
        (message,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert message["status"] == "pending"
        assert client.app_state["sender"] is None
    assert twilio.creates == []
    assert "RUN_SENDER=false: texts are queued but nothing sends them" in caplog.text  # TinyDB: a warning


@pytest.mark.parametrize(("value", "sends"), [("", True), ("true", True), ("1", True), ("false", False), ("0", False)])
def test_run_sender_reads_as_a_yes_or_no(tmp_path, value, sends):
    assert load_settings(base_environ(tmp_path, RUN_SENDER=value), env_file=None).run_sender is sends


def test_a_run_sender_that_is_neither_stops_start_up_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="RUN_SENDER"):
        load_settings(base_environ(tmp_path, RUN_SENDER="sometimes"), env_file=None)


def wait_for_line(log: Path, line: str, process: subprocess.Popen[bytes], deadline: float = 15) -> None:
    end = time.monotonic() + deadline
    while line not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < end, f"no {line!r} in: {log.read_text()}"
        time.sleep(0.05)


@pytest.mark.e2e
def test_qdn_send_with_tinydb_says_the_web_process_sends_and_waits_until_stopped(tmp_path):
    """Two `qdn send` beside one web process: one stopped with SIGTERM (a Procfile runner), one with
    SIGINT (Ctrl-C); each says once that the web process sends, waits, and exits 0 when stopped."""
    env = base_environ(tmp_path)
    stop_with = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT}
    logs = {name: tmp_path / f"send-{name}.log" for name in stop_with}
    workers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, log in logs.items():
            with open(log, "wb") as out:
                workers[name] = subprocess.Popen([sys.executable, "-m", "web", "send"], cwd=tmp_path,
                                                 env={**os.environ, **env}, stdout=out, stderr=out)  # fmt: skip
        for name, worker in workers.items():
            wait_for_line(logs[name], "this process waits until stopped", worker)
        assert not (tmp_path / "data").exists()  # they leave the store and its secrets to the web process
        # The Procfile's other line runs beside them on the same data, and sends.
        server = LiveServer(env, tmp_path).start()
        try:
            with server.client() as client:
                job = client.post("/jobs", json=job_body()).json()
                for _ in range(100):
                    (message,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
                    if message["status"] != "pending":
                        break
                    time.sleep(0.05)
                assert message["status"] == "sent"
        finally:
            server.stop()
        for name, worker in workers.items():
            assert worker.poll() is None, name  # still waiting
            worker.send_signal(stop_with[name])
            assert worker.wait(10) == 0, name
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
    for log in logs.values():
        assert log.read_text().count("with TinyDB the web process sends; this process waits until stopped") == 1
        assert "Traceback" not in log.read_text()


class SharedTinyDB(TinyDBBackend):
    """TinyDB under a scheme that claims to be shareable: stands in for a store several processes use."""

    one_process = False

    def check_url(self, database_url: str) -> None:
        super().check_url(database_url.replace("tinydb-shared:", "tinydb:", 1))

    def data_folder(self, database_url: str) -> Path | None:
        return super().data_folder(database_url.replace("tinydb-shared:", "tinydb:", 1))

    async def open(self, database_url: str) -> Store:
        return await super().open(database_url.replace("tinydb-shared:", "tinydb:", 1))

    async def open_deployment(self, database_url: str) -> Deployment:
        return await super().open_deployment(database_url.replace("tinydb-shared:", "tinydb:", 1))


def test_qdn_send_sends_what_a_web_process_without_a_sender_queued(tmp_path, capsys, monkeypatch):
    shared = SharedTinyDB()  # for this test only: a scheme the store opens and settings know
    monkeypatch.setitem(store_registry._BACKENDS, "tinydb-shared", shared)
    monkeypatch.setitem(database_url.SCHEMES, "tinydb-shared", shared)
    environ = base_environ(tmp_path, DATABASE_URL=f"tinydb-shared:///{tmp_path}/data/qdn.json", RUN_SENDER="false")
    settings = load_settings(environ, env_file=None)

    async def main() -> list[dict[str, Any]]:
        store = await open_store(settings.database_url)
        job = await create_job(Services(settings=settings, store=store))
        await store.close()  # the web process is done (one TinyDB process at a time, even here)

        stopped = asyncio.Event()
        sending = asyncio.create_task(send_until(settings, stopped))
        printed = ""
        async with asyncio.timeout(DEADLINE):
            while "is booked" not in printed:  # the console transport shows the text as it goes out
                await asyncio.sleep(0.02)
                printed += capsys.readouterr().out
        stopped.set()
        await sending
        store = await open_store(settings.database_url)
        try:
            return await store.job_messages(job["id"])
        finally:
            await store.close()

    (message,) = asyncio.run(main())
    assert message["status"] == "sent"


class _AwayOnce:
    """A store whose first claim finds the database away (as PostgreSQL's does), then works."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_due(self, now: str, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
        if not self.failed:
            self.failed = True
            raise StoreUnavailable("the database cannot be reached (connection refused)")
        return await self._store.claim_due(now, limit, lease_seconds)


def test_a_database_away_is_one_warning_line_and_the_sender_carries_on(tmp_path, caplog, capsys):
    settings = load_settings(base_environ(tmp_path), env_file=None)

    async def main() -> dict[str, Any]:
        store = await open_store(settings.database_url)
        try:
            job = await create_job(Services(settings=settings, store=store))
            away = _AwayOnce(store)
            sender = Sender(away, ConsoleTransport(), rate_per_second=100, give_up_hours=24)  # type: ignore[arg-type]
            async with running(sender):
                async with asyncio.timeout(DEADLINE):
                    while (await store.job_messages(job["id"]))[0]["status"] != "sent":
                        await asyncio.sleep(0.05)
            return {"failed": away.failed, "messages": await store.job_messages(job["id"])}
        finally:
            await store.close()

    outcome = asyncio.run(main())
    assert outcome["failed"] and outcome["messages"][0]["status"] == "sent"
    warnings = [r for r in caplog.records if r.name == "qdn.sender" and r.levelname == "WARNING"]
    assert [r.getMessage() for r in warnings] == [
        "sender: the database cannot be reached (connection refused); trying again"
    ]
    assert not any(r.exc_info for r in caplog.records if r.name == "qdn.sender")
