"""The database goes away under load, and comes back (SPEC "Running on PostgreSQL, several processes").

A real `qdn serve` runs on a PostgreSQL cluster of this test's own (initdb + pg_ctl, tests/pg.py),
while threads send steady streams of requests: jobs created, texts received (webhooks), the job
list, the tracking page. The cluster is then taken away -- crashed (`pg_ctl stop -m immediate`:
connections refused) or frozen (SIGSTOP: connections neither refused nor answered, as behind a
network partition) -- and, a few seconds later, brought back. The service is never restarted.

What must hold: while the database is gone every request is answered 503 with Retry-After (the
tracking page as a page), soon, never a 500 and never after Twilio's 15 s; /healthz is 503 and
says why; once it is back, requests succeed again within seconds; and everything answered 2xx
is still there -- every job created, every text received -- and no text went to Twilio twice.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from handlers.responses import STORE_RETRY_AFTER_SECONDS
from tests import support
from tests.pg import Cluster, private_cluster
from tests.support import API_TOKEN, LiveServer, job_body
from tests.test_business_e2e import inbound
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    TwilioServer,
    sign,
    twilio_environ,
)

pytestmark = pytest.mark.e2e

TWILIO_DEADLINE = 15.0  # Twilio gives a webhook this long
CLIENT_TIMEOUT = 30.0  # longer than the deadline, so a hang shows up as a slow answer, not a client error
OUTAGE_SECONDS = 4.0  # how much longer the database stays away once every kind of request got its 503
FIRST_503_WITHIN = 10.0  # from its going: one store call's time limits (connect 3 s, statement 5 s)
RECOVERED_WITHIN = 10.0  # from the database being back (accepting connections, or continued)
HANG_GUARD_SECONDS = 30.0  # only turns a hang into a failure
eventually = partial(support.eventually, within=HANG_GUARD_SECONDS)

KINDS = ("job", "text", "list", "page")  # a job created, a text received, the job list, the tracking page
_numbers = itertools.count(1000)  # customers' phones: +17375551000, ... (count's next is atomic: threads share it)


@dataclass
class Answer:
    kind: str  # "job", "text", "list", "page"
    started: float
    ended: float
    status: int  # 0: no answer at all (the client gave up or the connection failed)
    retry_after: str | None
    content_type: str
    key: Any  # a created job's id and token; a text's (phone, MessageSid)

    @property
    def took(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    """Steady streams of requests, one thread per kind, each answer noted."""

    server: LiveServer
    answers: list[Answer] = field(default_factory=list)
    token: str | None = None  # a job's tracking token, for the page
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for kind in KINDS:
            self.threads.append(threading.Thread(target=self.run, args=(kind,), name=f"load-{kind}", daemon=True))
            self.threads[-1].start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(HANG_GUARD_SECONDS)
        assert not any(thread.is_alive() for thread in self.threads)

    def run(self, kind: str) -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=CLIENT_TIMEOUT) as client:
            while not self.stopping.wait(0.02):
                if kind == "page" and self.token is None:
                    continue
                started = time.monotonic()
                try:
                    response, key = self._request(client, kind)
                except httpx.HTTPError:
                    response, key = None, None
                answer = Answer(
                    kind,
                    started,
                    time.monotonic(),
                    response.status_code if response is not None else 0,
                    response.headers.get("retry-after") if response is not None else None,
                    response.headers.get("content-type", "") if response is not None else "",
                    key,
                )
                if kind == "job" and answer.status == 201 and self.token is None:
                    self.token = key[1]
                with self.lock:
                    self.answers.append(answer)

    def _request(self, client: httpx.Client, kind: str) -> tuple[httpx.Response, Any]:
        phone = f"+1737555{next(_numbers):04d}"
        if kind == "job":
            response = client.post("/jobs", json=job_body(customer_phone=phone))
            body = response.json() if response.status_code == 201 else {}
            return response, (body.get("id"), body.get("token"))
        if kind == "text":
            fields = inbound(phone, FROM_NUMBER, "Running about 10 minutes late, sorry!", ACCOUNT_SID)
            signature = sign(f"{PUBLIC_BASE_URL}/twilio/sms", fields, AUTH_TOKEN)
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            response = client.post("/twilio/sms", content=urlencode(fields), headers=headers)
            return response, (phone, fields["MessageSid"])
        if kind == "list":
            return client.get("/jobs", params={"status": "scheduled"}), None
        return client.get(f"/track/{self.token}"), None

    def since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [answer for answer in self.answers if answer.started >= moment]

    def first(self, moment: float, good: Callable[[Answer], bool]) -> Answer | None:
        with self.lock:
            return next((a for a in self.answers if a.started >= moment and good(a)), None)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as running:
        yield running


def lost(server: LiveServer, kept: list[Answer]) -> tuple[list[Any], list[Any]]:
    """The jobs (id, token) and texts (phone, MessageSid) answered 2xx that the service no longer has."""
    jobs, texts = [], []
    with server.client() as api:
        for answer in kept:
            if answer.kind == "job":
                job_id, token = answer.key
                if api.get(f"/jobs/{job_id}").json().get("token") != token:
                    jobs.append(answer.key)
            else:
                phone, sid = answer.key
                logged = api.get("/messages", params={"phone": phone}).json()["messages"]
                if sid not in [message["twilio_sid"] for message in logged]:
                    texts.append(answer.key)
    return jobs, texts


def ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def refused(answer: Answer) -> bool:
    return answer.status == 503


@pytest.mark.parametrize("how", ["crashed", "frozen"])
def test_a_database_gone_under_load_is_503_meanwhile_and_the_service_heals_by_itself(
    cluster: Cluster, tmp_path: Path, how: str
) -> None:
    """`crashed`: pg_ctl stop -m immediate, then start (connections refused meanwhile).
    `frozen`: every server process stopped (SIGSTOP), then continued -- connections neither
    refused nor answered, as behind a network partition: only the time limits end a request."""
    take_away, bring_back = (cluster.stop, cluster.start) if how == "crashed" else (cluster.freeze, cluster.thaw)
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as twilio:
        environ = twilio_environ(
            tmp_path, DATABASE_URL=cluster.url, TWILIO_API_BASE_URL=twilio.url, SEND_RATE_PER_SECOND="50"
        )
        server = LiveServer(environ, tmp_path).start()
        load = Load(server)
        try:
            load.start()
            eventually(lambda: {a.kind for a in load.since(0) if ok(a)} == set(KINDS) and len(load.since(0)) >= 40,
                       "a stream of answered requests of every kind")  # fmt: skip

            gone = time.monotonic()
            take_away()
            down = time.monotonic()
            first_503 = eventually(lambda: load.first(gone, refused), "a 503 once the database is gone")
            health = httpx.get(f"{server.url}/healthz", timeout=CLIENT_TIMEOUT)
            eventually(lambda: {a.kind for a in load.since(down) if refused(a)} == set(KINDS), "a 503 of every kind")
            time.sleep(OUTAGE_SECONDS)

            returning = time.monotonic()
            bring_back()
            up = time.monotonic()
            recovered = eventually(lambda: load.first(up, ok), "a 2xx once the database is back")
            time.sleep(1)  # a little more of the stream, on the healed service
            load.stop()
            healthy = httpx.get(f"{server.url}/healthz", timeout=CLIENT_TIMEOUT)

            answers = load.since(0)
            kept = [a for a in answers if ok(a) and a.kind in ("job", "text")]
            missing_jobs, missing_texts = lost(server, kept)
        finally:
            load.stopping.set()
            server.stop()
        sends = [(r.form.get("To"), r.form.get("Body")) for r in twilio.creates()]

    # Never a 500, never an unanswered request, never an answer after Twilio would have given up.
    assert {a.status for a in answers} <= {200, 201, 503}, sorted({a.status for a in answers})
    slowest = max(answers, key=lambda a: a.took)
    assert slowest.took < TWILIO_DEADLINE, slowest
    # Every 503 says when to come back; the tracking page's is a page.
    for answer in filter(refused, answers):
        assert answer.retry_after == str(STORE_RETRY_AFTER_SECONDS), answer
        expected = "text/html" if answer.kind == "page" else "application/json"
        assert answer.content_type.startswith(expected), answer
    # While the database was gone (requests sent after it went, answered before it was back): all 503.
    during = [a for a in answers if a.started >= down and a.ended <= returning]
    assert {a.kind for a in during} == set(KINDS)
    assert all(map(refused, during)), [(a.kind, a.status) for a in during if not refused(a)]
    assert health.status_code == 503 and health.headers["retry-after"] == str(STORE_RETRY_AFTER_SECONDS)
    assert health.json()["status"] == "unavailable" and "store" in health.json()["message"]
    # Soon after it went, and soon after it is back, without restarting the service.
    assert first_503.ended - gone < FIRST_503_WITHIN, first_503.ended - gone
    assert recovered.ended - up < RECOVERED_WITHIN, recovered.ended - up
    after = [a for a in answers if a.started >= recovered.ended]
    assert after and all(map(ok, after)), [(a.kind, a.status) for a in after if not ok(a)]
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
    # Nothing acknowledged was lost; no text was sent twice.
    assert sum(a.kind == "job" for a in kept) >= 10 and sum(a.kind == "text" for a in kept) >= 10
    assert missing_jobs == [] and missing_texts == []
    assert len(sends) == len(set(sends)), sorted(sends)
