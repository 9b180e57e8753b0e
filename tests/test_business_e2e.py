"""A business with its own Twilio account, end to end: a real `qdn serve`, a local fake Twilio over HTTP.

The deployment is live on its own account (ACCOUNT_SID, API key API_KEY). Business
"acme" is added over the admin API with its own account (ACME_SID, auth token
ACME_AUTH_TOKEN, API key ACME_KEY) and number ACME_NUMBER. The fake Twilio knows both
accounts and answers each only to that account's credentials (401 otherwise), and
records which account and basic-auth user every request came with. What must hold
(SPEC "Businesses"): acme's webhooks and status callbacks are checked with acme's
auth token, never the deployment's; acme's texts go out through acme's account, from
acme's number; the default business's through the deployment's.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support import API_TOKEN, LiveServer, eventually, job_body
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    Received,
    TwilioServer,
    basic_auth,
    messages_path,
    sign,
    status_callback_form,
    status_callback_url,
    twilio_environ,
    twilio_form,
)

pytestmark = pytest.mark.e2e


ADMIN_TOKEN = "test-admin-token-3b8d1e"
ACME_SID = "AC" + "ac" * 16
ACME_AUTH_TOKEN = "acme-auth-token-" + "7e" * 8
ACME_KEY = "SK" + "ac" * 16
ACME_SECRET = "acme-api-secret-" + "d4" * 8
ACME_NUMBER = "+15125550777"
ACME_DISPATCHER = "+15125550170"
SMS_URL = f"{PUBLIC_BASE_URL}/twilio/sms"
HANG_GUARD_SECONDS = 15  # only turns a hang into a failure; nothing here measures time

_customers = (f"+1512555{n:04d}" for n in itertools.count(301))
_sids = (f"SM{n:032x}" for n in itertools.count(0xB1E000))


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    accounts = {ACCOUNT_SID: {API_KEY: API_SECRET}, ACME_SID: {ACME_KEY: ACME_SECRET}}
    with TwilioServer(accounts) as fake:
        yield fake


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("deployment")
    environ = twilio_environ(folder, TWILIO_API_BASE_URL=twilio.url, SEND_RATE_PER_SECOND="50", ADMIN_TOKEN=ADMIN_TOKEN)
    server = LiveServer(environ, folder).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def acme(service: LiveServer) -> dict[str, Any]:
    """Business "acme", added over the admin API: {"business": ..., "token": {"id", "token", "created_at"}}."""
    body = {
        "slug": "acme",
        "name": "Acme Hauling",
        "phone": "+15125550700",
        "timezone": "America/Chicago",
        "numbers": [ACME_NUMBER],
        "dispatchers": [ACME_DISPATCHER],
        "twilio": {
            "account_sid": ACME_SID,
            "auth_token": ACME_AUTH_TOKEN,
            "api_key": ACME_KEY,
            "api_secret": ACME_SECRET,
        },
    }
    response = httpx.post(
        f"{service.url}/admin/businesses", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    created = response.json()
    # Twilio secrets are never answered back (SPEC: only their last four characters).
    assert ACME_AUTH_TOKEN not in response.text and ACME_SECRET not in response.text
    return created


def dashboard(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
def acme_api(service: LiveServer, acme: dict[str, Any]) -> Iterator[httpx.Client]:
    with dashboard(service, acme["token"]["token"]) as client:
        yield client


@pytest.fixture
def default_api(service: LiveServer) -> Iterator[httpx.Client]:
    with dashboard(service, API_TOKEN) as client:
        yield client


def post_webhook(server: LiveServer, path: str, fields: dict[str, str], key: str) -> httpx.Response:
    """POST a form as Twilio does, signed over the public URL with `key`."""
    return httpx.post(
        f"{server.url}{path}",
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(f"{PUBLIC_BASE_URL}{path}", fields, key),
        },
        timeout=10,
    )


def inbound(sender: str, to: str, body: str, account_sid: str) -> dict[str, str]:
    """What Twilio posts for an SMS from `sender` to `to` on `account_sid`'s number."""
    return twilio_form(sender, to, next(_sids), account_sid, body)


def status_report(sid: str, status: str, to: str, sender: str, account_sid: str) -> dict[str, str]:
    """The status callback Twilio sends for message `sid`."""
    return status_callback_form(sid, sender, to, account_sid, status)


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("./Message")]


def phone_log(api: httpx.Client, phone: str) -> list[dict[str, Any]]:
    response = api.get("/messages", params={"phone": phone})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def new_job(api: httpx.Client, phone: str) -> dict[str, Any]:
    response = api.post("/jobs", json=job_body(customer_phone=phone))
    assert response.status_code == 201, response.text
    return response.json()


def create_to(twilio: TwilioServer, phone: str) -> Received:
    """The one create the fake accepted for a text to `phone` (waiting for the sender to make it)."""
    try:
        accepted = eventually(
            lambda: [r for r in twilio.creates() if r.form.get("To") == phone and r.status == 201],
            f"a text to {phone} to reach Twilio",
        )
    except AssertionError as error:  # say what Twilio did see: a refusal names the account and user
        seen = [(r.status, r.account_sid, r.user) for r in twilio.creates() if r.form.get("To") == phone]
        raise AssertionError(f"{error}; creates for it (status, account, user): {seen}") from None
    assert len(accepted) == 1, accepted
    return accepted[0]


def logged_sid(api: httpx.Client, job_id: int) -> str:
    """The Twilio SID the job's booking text was given, once the sender has recorded it."""

    def sid() -> str | None:
        messages = api.get(f"/jobs/{job_id}/messages").json()["messages"]
        return next((m["twilio_sid"] for m in messages if m["kind"] == "notification" and m["twilio_sid"]), None)

    return eventually(sid, f"job {job_id}'s booking text to be recorded as sent")


# -- (a) acme's webhooks are checked with acme's auth token -------------------------------


def test_a_text_to_acmes_number_signed_with_acmes_auth_token_is_answered(service, acme_api):
    customer = next(_customers)
    fields = inbound(customer, ACME_NUMBER, "STATUS", ACME_SID)
    (reply,) = twiml_messages(post_webhook(service, "/twilio/sms", fields, ACME_AUTH_TOKEN))
    assert reply.startswith("Acme Hauling: no open jobs for this number.")  # acme's wording, not QuickDumpNow's
    logged = phone_log(acme_api, customer)
    assert [(m["direction"], m["kind"], m["to"]) for m in logged] == [
        ("inbound", "command", ACME_NUMBER),
        ("outbound", "reply", customer),
    ]
    assert logged[0]["twilio_sid"] == fields["MessageSid"]


def test_a_text_to_acmes_number_signed_with_the_deployments_auth_token_is_refused(service, acme_api, default_api):
    customer = next(_customers)
    fields = inbound(customer, ACME_NUMBER, "STATUS", ACME_SID)
    refused = post_webhook(service, "/twilio/sms", fields, AUTH_TOKEN)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert phone_log(acme_api, customer) == [] and phone_log(default_api, customer) == []
    # Nor does acme's key sign for the deployment's own number.
    assert post_webhook(service, "/twilio/sms", inbound(customer, FROM_NUMBER, "STATUS", ACCOUNT_SID),
                        ACME_AUTH_TOKEN).status_code == 403  # fmt: skip
    assert phone_log(default_api, customer) == []
    # The same text signed with acme's key is taken: the key was the only difference.
    assert twiml_messages(post_webhook(service, "/twilio/sms", fields, ACME_AUTH_TOKEN))


# -- (b) acme's texts go through acme's account, from acme's number -----------------------


def test_acmes_booking_text_goes_through_acmes_account_and_the_defaults_through_the_deployments(
    service, twilio, acme_api, default_api
):
    acme_customer, default_customer = next(_customers), next(_customers)
    acme_job = new_job(acme_api, acme_customer)
    default_job = new_job(default_api, default_customer)

    sent = create_to(twilio, acme_customer)
    assert sent.path == messages_path(ACME_SID) and sent.account_sid == ACME_SID
    assert sent.user == ACME_KEY and sent.authorization == basic_auth(ACME_KEY, ACME_SECRET)
    (booked,) = acme_api.get(f"/jobs/{acme_job['id']}/messages").json()["messages"]
    assert (sent.form["From"], sent.form["StatusCallback"]) == (ACME_NUMBER, status_callback_url(booked["id"], "acme"))
    assert "MessagingServiceSid" not in sent.form
    assert sent.form["Body"].startswith("Acme Hauling: Hi Dana") and acme_job["token"] in sent.form["Body"]

    other = create_to(twilio, default_customer)
    assert other.path == messages_path(ACCOUNT_SID) and other.account_sid == ACCOUNT_SID
    assert other.authorization == basic_auth(API_KEY, API_SECRET)
    assert other.form["From"] == FROM_NUMBER
    assert other.form["Body"].startswith("QuickDumpNow: Hi Dana") and default_job["token"] in other.form["Body"]

    # Nothing of acme's went near the deployment's account, nor the other way round; nothing was refused.
    to_deployment = {r.form.get("To") for r in twilio.creates(ACCOUNT_SID)}
    to_acme = {r.form.get("To") for r in twilio.creates(ACME_SID)}
    assert acme_customer not in to_deployment and default_customer not in to_acme
    assert all(r.status == 201 for r in twilio.creates())
    assert {(r.account_sid, r.user) for r in twilio.creates()} <= {(ACCOUNT_SID, API_KEY), (ACME_SID, ACME_KEY)}

    # Each business's log records its own text, from its own number; neither sees the other's job.
    assert logged_sid(acme_api, acme_job["id"]) == next(m["sid"] for m in twilio.held if m["to"] == acme_customer)
    (notification,) = acme_api.get(f"/jobs/{acme_job['id']}/messages").json()["messages"]
    assert (notification["from"], notification["to"]) == (ACME_NUMBER, acme_customer)
    assert phone_log(default_api, acme_customer) == [] and phone_log(acme_api, default_customer) == []


# -- (c) a status callback for acme's text is checked with acme's auth token --------------


def test_a_status_callback_for_acmes_text_is_checked_with_acmes_auth_token(service, twilio, acme_api, default_api):
    customer = next(_customers)
    job = new_job(acme_api, customer)
    create_to(twilio, customer)
    sid = logged_sid(acme_api, job["id"])
    report = status_report(sid, "delivered", customer, ACME_NUMBER, ACME_SID)

    def status() -> str:
        (notification,) = acme_api.get(f"/jobs/{job['id']}/messages").json()["messages"]
        return notification["status"]

    assert status() == "queued"  # what Twilio (the fake) answered the create with
    # Signed with the deployment's key: refused, and nothing changes.
    refused = post_webhook(service, "/twilio/status", report, AUTH_TOKEN)
    assert refused.status_code == 403
    assert status() == "queued"
    # Signed with acme's: taken.
    assert post_webhook(service, "/twilio/status", report, ACME_AUTH_TOKEN).status_code == 204
    assert status() == "delivered"
    assert acme_api.get(f"/jobs/{job['id']}").json()["status"] == "scheduled"
    assert phone_log(default_api, customer) == []  # acme's log alone has the text
