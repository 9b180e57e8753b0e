"""Two-way SMS end to end: a real `qdn serve` process, full Twilio settings, a local fake Twilio over HTTP.

The fake (tests/twilio_fake.py TwilioServer) speaks the wire format of Twilio's
Messages API (POST .../Messages.json -> 201 JSON, GET for lookups) on 127.0.0.1,
answers only the deployment's API key, and records every form it receives;
TWILIO_API_BASE_URL points the service's Twilio transport at it. Webhooks are
signed over PUBLIC_BASE_URL (https://), as Twilio signs them, while the
request itself reaches the process on http://127.0.0.1 -- as behind a proxy.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support import CUSTOMER, DISPATCHER, LiveServer, eventually, job_body
from tests.test_status_callback import callback
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    Received,
    TwilioServer,
    basic_auth,
    sign,
    twilio_environ,
    twilio_form,
)

pytestmark = pytest.mark.e2e


# One service (and one fake Twilio) for the module: each test works on a job and a phone of its own.
@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    """Twilio's Messages API on a local port, answering the deployment's API key."""
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as fake:
        yield fake


@pytest.fixture(scope="module")
def api(service: LiveServer) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("sms-e2e")
    environ = twilio_environ(folder, TWILIO_API_BASE_URL=twilio.url, SEND_RATE_PER_SECOND="50")
    server = LiveServer(environ, folder).start()
    try:
        yield server
    finally:
        server.stop()


_sids = (f"SM{n:032x}" for n in itertools.count(0x5E000))


def text(server: LiveServer, sender: str, words: str) -> list[str]:
    """What Twilio would post for an inbound SMS, signed over the public URL; returns the TwiML <Message>s."""
    fields = twilio_form(sender, FROM_NUMBER, next(_sids), ACCOUNT_SID, words)
    response = httpx.post(
        f"{server.url}/twilio/sms",
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(f"{PUBLIC_BASE_URL}/twilio/sms", fields),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return [message.text or "" for message in ET.fromstring(response.content).findall("./Message")]


def status_callback(server: LiveServer, sid: str, status: str, url: str) -> httpx.Response:
    """Twilio's report on `sid`, posted to `url` (the StatusCallback the text carried) and signed for it."""
    fields = callback(sid, status)
    return httpx.post(
        server.url + url.removeprefix(PUBLIC_BASE_URL),
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(url, fields),
        },
        timeout=10,
    )


def test_dispatcher_en_route_reaches_the_customer_who_then_reads_it(
    service: LiveServer, twilio: TwilioServer, api: httpx.Client
) -> None:
    job = api.post("/jobs", json=job_body()).json()
    job_id = job["id"]

    def texts_of_the_job() -> list[Received]:
        return [r for r in twilio.creates() if r.form["To"] == CUSTOMER and job["token"] in r.form["Body"]]

    eventually(texts_of_the_job, "the booking text to reach Twilio")

    # The dispatcher texts EN ROUTE; the answer says what happened.
    assert text(service, DISPATCHER, f"EN ROUTE {job_id} 20") == [
        f"{job_id} -> en route (ETA 20 min). Customer texted."
    ]

    # The customer's notification reaches Twilio: the exact form, from the configured number, API-key auth.
    def en_route_text() -> Received | None:
        return next((r for r in texts_of_the_job() if "ETA 20 min" in r.form["Body"]), None)

    sent = eventually(en_route_text, "the en-route text to reach Twilio")
    form = sent.form
    assert (sent.path, sent.status) == (f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", 201)
    assert sent.authorization == basic_auth(API_KEY, API_SECRET)
    assert (form["To"], form["From"]) == (CUSTOMER, FROM_NUMBER)
    assert "ETA 20 min" in form["Body"] and job["token"] in form["Body"]
    assert len(texts_of_the_job()) == 2  # the booking and the en-route text: one each

    # The customer asks, and reads "en route".
    (answer,) = text(service, CUSTOMER, "Status?")
    assert re.fullmatch(
        # (the day is named too when the ETA falls after local midnight)
        rf"QuickDumpNow: Job {job_id} \(junk removal\) is en route, "
        rf"ETA (?:\w{{3}} \w{{3}} \d{{1,2}}, )?\d{{1,2}}:\d\d [AP]M\. "
        rf"Track: {re.escape(PUBLIC_BASE_URL)}/track\?token={job['token']}",
        answer,
    ), answer

    # Twilio reports the text delivered; the job's log shows it.
    def logged_notification() -> dict[str, Any] | None:
        messages = api.get(f"/jobs/{job_id}/messages").json()["messages"]
        return next((m for m in messages if m["kind"] == "notification" and "ETA 20 min" in m["body"]), None)

    sid = eventually(lambda: (logged_notification() or {}).get("twilio_sid"), "the SID Twilio gave to be recorded")
    assert sid == next(m["sid"] for m in twilio.held if m["body"] == form["Body"])
    notification = logged_notification()
    assert notification is not None
    # The text told Twilio where to report: its business's address, naming the message.
    assert form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/default/status?m={notification['id']}"
    assert status_callback(service, sid, "delivered", form["StatusCallback"]).status_code == 204
    notification = logged_notification()
    assert notification is not None
    assert (notification["status"], notification["to"], notification["from"]) == ("delivered", CUSTOMER, FROM_NUMBER)

    kinds = [(m["direction"], m["kind"], m["phone"]) for m in api.get(f"/jobs/{job_id}/messages").json()["messages"]]
    assert kinds == [
        ("outbound", "notification", CUSTOMER),
        ("inbound", "command", DISPATCHER),
        ("outbound", "reply", DISPATCHER),
        ("outbound", "notification", CUSTOMER),
        ("inbound", "command", CUSTOMER),
        ("outbound", "reply", CUSTOMER),
    ]
    assert api.get(f"/jobs/{job_id}").json()["status"] == "en_route"


def test_a_text_signed_for_the_internal_url_changes_nothing(service: LiveServer, api: httpx.Client) -> None:
    job_id = api.post("/jobs", json=job_body(customer_phone="(512) 555-0142")).json()["id"]
    fields = {"MessageSid": "SM" + "d" * 32, "From": DISPATCHER, "To": FROM_NUMBER, "Body": f"DONE {job_id}"}
    internal_url = f"{service.url}/twilio/sms"  # what the process sees, not what Twilio called
    response = httpx.post(
        internal_url,
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(internal_url, fields)},
        timeout=10,
    )
    assert response.status_code == 403
    assert api.get(f"/jobs/{job_id}").json()["status"] == "scheduled"
    assert [m["kind"] for m in api.get(f"/jobs/{job_id}/messages").json()["messages"]] == ["notification"]
