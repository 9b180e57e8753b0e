"""Several processes on one PostgreSQL database, end to end (SPEC "Running on PostgreSQL, several processes").

Two `qdn serve` processes (A and B, RUN_SENDER=false) and one `qdn send` share a fresh
database. The sender talks to a local fake Twilio; the web processes are pointed at
another one, `trap`, which must never be called: whatever a web process queued, only
`qdn send` sends. What must hold: a job created through A is seen through B, and its
tracking page works from both; a webhook delivered to A and B at the same moment is
acted on once and answered alike; the booking text goes out once, from the sender; a
business added (or a token revoked) through A's admin API takes effect on B within
REGISTRY_REFRESH_SECONDS, and `qdn send` starts sending its texts.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.deployment import REGISTRY_REFRESH_SECONDS
from tests import support
from tests.pg import fresh_database, require_postgres
from tests.support import API_TOKEN, LiveServer, job_body
from tests.test_business_e2e import inbound, phone_log, post_webhook, twiml_messages
from tests.twilio_fake import ACCOUNT_SID, API_KEY, API_SECRET, AUTH_TOKEN, FROM_NUMBER, TwilioServer, twilio_environ

pytestmark = pytest.mark.e2e


ADMIN_TOKEN = "test-admin-token-pg-e2e-51c0"
SECRET_KEY = "test-secret-key-for-sealed-twilio-secrets-" + "9d" * 8  # one key for every process
CARGO_NUMBER = "+15125550888"
HANG_GUARD_SECONDS = 20  # only turns a hang into a failure
eventually = partial(support.eventually, within=HANG_GUARD_SECONDS)
SLACK_SECONDS = 3.0  # a refresh's own read, the request's, a loaded machine

_customers = (f"+1512555{n:04d}" for n in itertools.count(601))


class SendProcess:
    """`qdn send` in a real subprocess, as the Procfile's `worker` line runs it."""

    def __init__(self, environ: Mapping[str, str], cwd: Path) -> None:
        self.environ = {**os.environ, **environ}
        self.cwd = cwd
        self.log = cwd / "sender.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> SendProcess:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "web", "send"], cwd=self.cwd, env=self.environ, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qdn send exited with {self.process.returncode}: {self.output()[-2000:]}")
            if "sending texts of" in self.output():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"qdn send did not start within {timeout}s: {self.output()[-2000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass
class Processes:
    a: LiveServer
    b: LiveServer
    sender: SendProcess


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as fake:
        yield fake


@pytest.fixture(scope="module")
def trap() -> Iterator[TwilioServer]:
    """Where the web processes would send: nothing may ever arrive."""
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as fake:
        yield fake


@pytest.fixture(scope="module")
def processes(
    tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer, trap: TwilioServer
) -> Iterator[Processes]:
    require_postgres()
    folder = tmp_path_factory.mktemp("pg-e2e")
    with fresh_database("e2e") as url:
        common = twilio_environ(
            folder, DATABASE_URL=url, ADMIN_TOKEN=ADMIN_TOKEN, SECRET_KEY=SECRET_KEY, SEND_RATE_PER_SECOND="50"
        )
        web = {**common, "RUN_SENDER": "false", "TWILIO_API_BASE_URL": trap.url}
        a, b = LiveServer(web, folder), LiveServer(web, folder)
        sender = SendProcess({**common, "TWILIO_API_BASE_URL": twilio.url}, folder)
        try:
            with ThreadPoolExecutor(2) as pool:  # both at once: their migrations take turns
                list(pool.map(lambda server: server.start(), (a, b)))
            sender.start()
            yield Processes(a, b, sender)
        finally:
            for process in (sender, a, b):
                process.stop()


def api(server: LiveServer, token: str = API_TOKEN) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def new_job(server: LiveServer, phone: str, token: str = API_TOKEN) -> dict[str, Any]:
    with api(server, token) as client:
        response = client.post("/jobs", json=job_body(customer_phone=phone))
    assert response.status_code == 201, response.text
    return response.json()


def creates_to(twilio: TwilioServer, phone: str) -> list[Any]:
    return [r for r in twilio.creates() if r.form.get("To") == phone]


# -- one database, seen alike from every process ---------------------------------------------------


def test_a_job_created_through_one_process_is_seen_through_the_other_and_its_page_from_both(processes):
    job = new_job(processes.a, next(_customers))
    with api(processes.b) as b:
        assert b.get(f"/jobs/{job['id']}").json() == job
        assert job["id"] in [listed["id"] for listed in b.get("/jobs").json()["jobs"]]
    for server in (processes.a, processes.b):
        page = httpx.get(f"{server.url}/track/{job['token']}", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Dana" in page.text and "Whitfield" not in page.text  # the first name only
        view = httpx.get(f"{server.url}/jobs/token/{job['token']}", timeout=10)
        assert view.status_code == 200 and view.json()["status"] == "scheduled"


def test_the_booking_text_goes_out_once_and_from_the_sender_process_alone(processes, twilio, trap):
    customer = next(_customers)
    job = new_job(processes.b, customer)
    (sent,) = eventually(lambda: creates_to(twilio, customer), "the booking text to reach Twilio")
    assert sent.status == 201 and job["token"] in sent.form["Body"]

    def recorded() -> str | None:
        with api(processes.a) as a:
            (notification,) = a.get(f"/jobs/{job['id']}/messages").json()["messages"]
        return notification["twilio_sid"]

    assert eventually(recorded, "the sender to record the SID") == sent_sid(twilio, customer)
    time.sleep(1)  # a second sender (a web process sending after all) would have claimed it by now
    assert len(creates_to(twilio, customer)) == 1
    assert trap.received == []  # no web process ever called Twilio
    assert "sending texts of 1 business(es) from the postgresql store" in processes.sender.output()


def sent_sid(twilio: TwilioServer, phone: str) -> str:
    return next(str(m["sid"]) for m in twilio.held if m["to"] == phone)


def test_a_webhook_delivered_to_both_processes_at_once_is_acted_on_once_and_answered_alike(processes):
    for round_ in range(5):  # several rounds: each a fresh race between the two processes
        customer = next(_customers)  # each its own (the same answer is never texted twice within 10 minutes)
        new_job(processes.a, customer)
        fields = inbound(customer, FROM_NUMBER, "STATUS", ACCOUNT_SID)
        both = threading.Barrier(2)

        def deliver(server: LiveServer, fields: dict[str, str] = fields, both: threading.Barrier = both) -> Any:
            both.wait()
            return post_webhook(server, "/twilio/sms", fields, AUTH_TOKEN)

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(deliver, (processes.a, processes.b))
        assert first.status_code == second.status_code == 200, (first.text, second.text)
        assert first.content == second.content, round_  # the same TwiML, byte for byte
        (reply,) = twiml_messages(first)
        with api(processes.b) as b:
            logged = [m for m in phone_log(b, customer) if m["kind"] != "notification"]
        assert [(m["direction"], m["body"]) for m in logged] == [("inbound", "STATUS"), ("outbound", reply)], round_
        assert logged[0]["twilio_sid"] == fields["MessageSid"]


# -- businesses, across processes -------------------------------------------------------------------


def test_a_business_added_through_one_process_works_on_the_other_within_the_refresh_interval(processes, twilio):
    body = {"slug": "cargo", "name": "Cargo Hauling", "phone": "+15125550800", "numbers": [CARGO_NUMBER]}
    with api(processes.a, ADMIN_TOKEN) as admin:
        created = admin.post("/admin/businesses", json=body)
    assert created.status_code == 201, created.text
    added = time.monotonic()
    token = created.json()["token"]
    customer = next(_customers)

    def routed() -> list[str] | None:
        answer = post_webhook(processes.b, "/twilio/sms", inbound(customer, CARGO_NUMBER, "STATUS", ACCOUNT_SID),
                              AUTH_TOKEN)  # fmt: skip
        if answer.status_code == 404:  # a number no business owns, as far as B knows yet: nothing stored
            return None
        return twiml_messages(answer)

    (reply,) = eventually(routed, "B to route texts to cargo's number")
    took = time.monotonic() - added
    assert reply.startswith("Cargo Hauling: no open jobs for this number.")
    assert took < REGISTRY_REFRESH_SECONDS + SLACK_SECONDS, took
    with api(processes.b, token["token"]) as cargo_on_b:
        assert [(m["direction"], m["to"]) for m in phone_log(cargo_on_b, customer)] == [
            ("inbound", CARGO_NUMBER),
            ("outbound", customer),
        ]
    # Its dashboard token works on B, and `qdn send` sends its texts, from its own number.
    job = new_job(processes.b, next(_customers), token["token"])
    (sent,) = eventually(lambda: creates_to(twilio, job["customer_phone"]), "cargo's booking text to reach Twilio")
    assert sent.form["From"] == CARGO_NUMBER and sent.form["Body"].startswith("Cargo Hauling:")

    # A token revoked through A is refused by B within the same bound.
    with api(processes.a, ADMIN_TOKEN) as admin:
        assert admin.delete(f"/admin/businesses/cargo/tokens/{token['id']}").status_code == 204
    revoked = time.monotonic()
    with api(processes.a, token["token"]) as cargo_on_a:
        assert cargo_on_a.get("/jobs").status_code == 401  # at once where it was revoked
    with api(processes.b, token["token"]) as cargo_on_b:
        eventually(lambda: cargo_on_b.get("/jobs").status_code == 401, "B to refuse the revoked token")
    assert time.monotonic() - revoked < REGISTRY_REFRESH_SECONDS + SLACK_SECONDS
