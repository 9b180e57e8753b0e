"""A standby takes over (SPEC "PostgreSQL in production"; docs/failover.md).

Two real private clusters: a primary and its synchronous streaming standby (pg_basebackup -R,
`synchronous_standby_names`; tests/pg.py `standby_pair`). Two `qdn serve` processes and one
`qdn send` run against a DATABASE_URL naming both hosts, libpq's way
(`postgresql://h1:p1,h2:p2/db?target_session_attrs=read-write`), while threads create jobs and
post signed webhooks through both web processes. The primary is then crashed
(`pg_ctl stop -m immediate`) and, a few seconds later, the standby promoted (`pg_ctl promote`).
Nothing is restarted and nothing is told where the new primary is.

What must hold: meanwhile every answer is 2xx or 503 with Retry-After, never a 500 and never a
hang; afterwards both web processes write again by themselves and the sender sends texts queued
after the failover; every job and text acknowledged before, during or after the failover is
there; no job id or message id was handed out twice.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests import support
from tests.pg import Pair, standby_pair
from tests.support import API_TOKEN, LiveServer, job_body
from tests.test_business_e2e import inbound, post_webhook
from tests.test_postgres_e2e import SendProcess
from tests.twilio_fake import ACCOUNT_SID, API_KEY, API_SECRET, AUTH_TOKEN, FROM_NUMBER, TwilioServer, twilio_environ

pytestmark = pytest.mark.e2e

CLIENT_TIMEOUT = 30.0  # past Twilio's 15 s, so a hang shows as a timeout, which fails the test
HANG_GUARD_SECONDS = 45.0  # only turns a process that never finds the new primary into a failure
eventually = partial(support.eventually, within=HANG_GUARD_SECONDS)
_phones = (f"+1737555{n:04d}" for n in itertools.count(2000))
_lock = threading.Lock()


@dataclass
class Traffic:
    """Writes through the web processes until stopped: every answer kept, with what it acknowledged."""

    servers: list[LiveServer]
    jobs: dict[int, str] = field(default_factory=dict)  # acknowledged job id -> its phone
    job_ids: list[int] = field(default_factory=list)  # every id answered, repeats and all
    texts: list[tuple[str, str]] = field(default_factory=list)  # acknowledged inbound (phone, MessageSid)
    answers: list[tuple[str, int, str | None]] = field(default_factory=list)  # (kind, status, Retry-After)
    hangs: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self, which: int) -> None:
        server = self.servers[which % len(self.servers)]
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=CLIENT_TIMEOUT) as api:
            while not self.stopping.is_set():
                phone = next(_phones)
                try:
                    job = api.post("/jobs", json=job_body(customer_phone=phone))
                    fields = inbound(phone, FROM_NUMBER, "What time are you coming?", ACCOUNT_SID)
                    text = post_webhook(server, "/twilio/sms", fields, AUTH_TOKEN)
                except httpx.TimeoutException as error:
                    self.hangs.append(repr(error))
                    continue
                with _lock:
                    self.answers.append(("job", job.status_code, job.headers.get("retry-after")))
                    self.answers.append(("text", text.status_code, text.headers.get("retry-after")))
                    if job.status_code == 201:
                        self.jobs[job.json()["id"]] = phone
                        self.job_ids.append(job.json()["id"])
                    if text.status_code == 200:
                        self.texts.append((phone, fields["MessageSid"]))
                time.sleep(0.05)

    def acknowledged(self) -> int:
        with _lock:
            return len(self.jobs)


@pytest.fixture
def pair() -> Iterator[Pair]:
    with standby_pair() as running:
        yield running


def test_a_promoted_standby_is_found_by_every_process_and_nothing_acknowledged_is_lost(tmp_path: Path, pair: Pair):
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as twilio:
        common = twilio_environ(
            tmp_path, DATABASE_URL=pair.url, SEND_RATE_PER_SECOND="50", TWILIO_API_BASE_URL=twilio.url
        )
        web = [LiveServer({**common, "RUN_SENDER": "false"}, tmp_path) for _ in range(2)]
        sender = SendProcess(common, tmp_path)
        try:
            for server in web:
                server.start()
            sender.start()
            traffic, writing_again = fail_over_under_traffic(pair, web)
            print(f"\nfailover: writes acknowledged again {writing_again:.1f} s after `pg_ctl promote`")
            assert traffic.hangs == []
            refused = [(kind, status, retry) for kind, status, retry in traffic.answers if status not in (200, 201)]
            assert all(status == 503 and retry for _, status, retry in refused), refused
            assert refused, "the failover was never noticed: the test did not test it"
            assert len(traffic.job_ids) == len(set(traffic.job_ids))  # no job id handed out twice
            assert_all_acknowledged_is_there(traffic, web)
            # The sender found the new primary too: the booking text of the last job, made after it, is sent.
            last = traffic.jobs[max(traffic.jobs)]
            eventually(lambda: any(r.form.get("To") == last for r in twilio.creates()), "a text queued after it sent")
        finally:
            sender.stop()
            for server in web:
                server.stop()


def fail_over_under_traffic(pair: Pair, web: list[LiveServer]) -> tuple[Traffic, float]:
    """Writes through both processes; the primary crashed and the standby promoted meanwhile.
    The traffic, and how long after the promotion writes were acknowledged again."""
    traffic = Traffic(web)
    threads = [threading.Thread(target=traffic.run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        eventually(lambda: traffic.acknowledged() >= 10, "writes before the failover")
        pair.primary.stop()  # the primary is lost
        lost = traffic.acknowledged()
        eventually(lambda: any(status == 503 for _, status, _ in traffic.answers[-8:]), "503s while none is primary")
        pair.promote()
        promoted = time.monotonic()
        eventually(lambda: traffic.acknowledged() >= lost + 20, "writes through both processes after the failover")
        return traffic, time.monotonic() - promoted
    finally:
        traffic.stopping.set()
        for thread in threads:
            thread.join(CLIENT_TIMEOUT * 2)


def assert_all_acknowledged_is_there(traffic: Traffic, web: list[LiveServer]) -> None:
    """Every job and text acknowledged is on the new primary, seen alike through both processes."""
    for server in web:
        with server.client() as api:
            for job_id, phone in traffic.jobs.items():
                got = api.get(f"/jobs/{job_id}")
                assert got.status_code == 200 and got.json()["customer_phone"] == phone, got.text
    message_ids: list[str] = []
    with web[0].client() as api:
        for phone, sid in traffic.texts:
            log = api.get("/messages", params={"phone": phone}).json()["messages"]
            assert sid in [m.get("twilio_sid") for m in log], (phone, sid)
            message_ids += [m["id"] for m in log]
    assert len(message_ids) == len(set(message_ids))  # no message id handed out twice
