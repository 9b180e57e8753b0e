"""The token API: the public view, the customer's texts, privacy, identical 404s, the slow-down."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from starlette.testclient import TestClient

from config.settings import Settings
from handlers.ratelimit import MissLimiter
from handlers.services import Services
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, job_body
from web.app import create_app

BUSINESS = "+15125550123"
OTHER_CUSTOMER = "+15125550142"
ADDRESS = "4512 Ridgeview Dr, Austin, TX 78731"
NOTES = "Gate code 7788; dog in the yard"
UNKNOWN_TOKEN = "ABCD-EFGH-JKMN-PQRS-TUVW"  # token-shaped, but no job has it
MALFORMED_TOKENS = ["nope", "1001", "ABCD-EFGH-JKMN-PQRS-TUV0", "ABCD-EFGH-JKMN-PQRS-TUVWX", "%20", "a" * 300]
VIEW_FIELDS = {
    "status", "history", "reschedules", "eta_minutes", "scheduled_for", "service_type", "first_name", "phone_masked",
    "business_name", "total", "invoice_url", "pictures", "confirmed_at",
}  # fmt: skip
PRIVACY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex",
}


# --- helpers shared with the page tests ---------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def services_of(client: TestClient) -> Services:
    return client.app_state["services"]


def call(client: TestClient, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one of the app's coroutines on the app's own event loop."""
    assert client.portal is not None
    return client.portal.call(partial(fn, *args, **kwargs))


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body(address=ADDRESS, notes=NOTES, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def move(client: TestClient, job: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    response = client.post(f"/jobs/{job['id']}/status", json={"status": status, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def add_text(
    client: TestClient,
    job: dict[str, Any],
    *,
    direction: str,
    kind: str,
    phone: str,
    body: str,
    status: str,
    **extra: Any,
) -> dict[str, Any]:
    """A message row as the SMS side stores it (SPEC "Message log"), with any `extra` keys (pictures ...)."""
    inbound = direction == "inbound"
    message = {
        "direction": direction,
        "kind": kind,
        "job_id": job["id"],
        "phone": phone,
        "from": phone if inbound else BUSINESS,
        "to": BUSINESS if inbound else phone,
        "body": body,
        "twilio_sid": None,
        "status": status,
        "error_code": None,
        "error_message": None,
        **extra,
    }
    return call(client, services_of(client).store.add_message, message)


def private_strings() -> list[str]:
    """What no public answer may contain: the job's address and notes, and full phones in any format."""
    found = [ADDRESS, "Ridgeview", NOTES, "7788"]
    for e164 in (CUSTOMER, DISPATCHER):
        national = e164[2:]
        found += [e164, national, f"({national[:3]}) {national[3:6]}-{national[6:]}", f"{national[3:6]}-{national[6:]}"]
    return found


def assert_nothing_private(text: str) -> None:
    for secret in private_strings():
        assert secret not in text, f"{secret!r} leaked"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """Like conftest's client, with the token-miss limiter on a fake clock."""
    app = create_app(settings)
    app.state.token_misses = MissLimiter(clock=clock)
    with TestClient(app, headers={"Authorization": f"Bearer {API_TOKEN}"}) as test_client:
        yield test_client


@pytest.fixture
def public(client: TestClient) -> TestClient:
    """The same app, as a visitor without credentials (shares the limiter, as one address)."""
    client.headers.pop("Authorization")
    return client


def view(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get(f"/jobs/token/{token}")
    assert response.status_code == 200, response.text
    return response.json()


# --- the public view --------------------------------------------------------------------


def test_public_view_has_exactly_the_spec_fields_and_nothing_private(client):
    job = create(client, total=350, invoice_url="https://pay.example.test/inv/88")
    client.headers.pop("Authorization")  # a token holder has no API credentials
    response = client.get(f"/jobs/token/{job['token']}")
    assert response.status_code == 200
    shown = response.json()
    assert set(shown) == VIEW_FIELDS
    assert shown["status"] == "scheduled"
    assert shown["first_name"] == "Dana"
    assert shown["phone_masked"] == "(•••) •••-0199"
    assert shown["service_type"] == "junk removal"
    assert shown["business_name"] == "QuickDumpNow"
    assert shown["eta_minutes"] is None
    assert shown["scheduled_for"] is None  # no appointment booked
    assert shown["history"] == [{"status": "scheduled", "at": job["created_at"], "by": "api", "eta_minutes": None}]
    # Not complete yet: the total and invoice stay hidden even though they are set.
    assert shown["total"] is None and shown["invoice_url"] is None
    assert shown["pictures"] == []  # none sent either way (tests/test_track_pictures.py)
    assert_nothing_private(response.text)


def test_total_and_invoice_appear_once_complete(client):
    job = create(client, invoice_url="https://pay.example.test/inv/88")
    move(client, job, "en_route", eta_minutes=20)
    shown = view(client, job["token"])
    assert (shown["status"], shown["eta_minutes"]) == ("en_route", 20)
    assert shown["total"] is None
    move(client, job, "complete", total=1200)
    shown = view(client, job["token"])
    assert shown["status"] == "complete"
    assert shown["eta_minutes"] is None
    assert shown["total"] == 1200.0
    assert shown["invoice_url"] == "https://pay.example.test/inv/88"
    assert [(h["status"], h["eta_minutes"]) for h in shown["history"]] == [
        ("scheduled", None),
        ("en_route", 20),
        ("complete", None),
    ]


def test_a_dispatchers_phone_shows_as_dispatcher(client):
    job = create(client)
    call(client, services_of(client).change_status, job["id"], "en_route", by=DISPATCHER, eta_minutes=15)
    response = client.get(f"/jobs/token/{job['token']}")
    assert [h["by"] for h in response.json()["history"]] == ["api", "dispatcher"]
    assert_nothing_private(response.text)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda t: t,
        lambda t: t.lower(),
        lambda t: t.replace("-", ""),
        lambda t: t.lower().replace("-", " "),
        lambda t: "  " + t.replace("-", " - ") + " ",
    ],
)
def test_the_token_is_accepted_in_any_case_with_or_without_separators(client, spelling):
    job = create(client)
    assert view(client, spelling(job["token"]))["first_name"] == "Dana"


def test_another_jobs_token_shows_only_that_job(client):
    mine = create(client)
    theirs = create(client, customer_name="Marcus Lee", customer_phone=OTHER_CUSTOMER, service_type="dumpster delivery")
    shown = view(client, theirs["token"])
    assert (shown["first_name"], shown["service_type"]) == ("Marcus", "dumpster delivery")
    assert view(client, mine["token"])["first_name"] == "Dana"


# --- the customer's texts ------------------------------------------------------------------


def test_messages_are_the_customers_own_texts_oldest_first_with_phones_masked(client):
    job = create(client)
    other_job = create(client)  # same customer, another job: its texts stay out
    conversation = [  # (job, direction, kind, phone, body, status)
        (job, "inbound", "text", CUSTOMER, "Can you come before noon?", "received"),
        (job, "outbound", "relay", DISPATCHER, "1001 Dana: Can you come before noon?", "sent"),
        (job, "inbound", "command", DISPATCHER, "R 1001 Yes, around 11", "received"),
        (job, "outbound", "relay", CUSTOMER, "Yes, around 11", "delivered"),
        (job, "outbound", "system", CUSTOMER, "never sent", "skipped"),
        (other_job, "inbound", "text", CUSTOMER, "about the other job", "received"),
    ]
    for on, direction, kind, phone, body, status in conversation:
        add_text(client, on, direction=direction, kind=kind, phone=phone, body=body, status=status)

    response = client.get(f"/jobs/token/{job['token']}/messages")
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [(m["direction"], m["kind"], m["body"]) for m in messages] == [
        ("outbound", "notification", messages[0]["body"]),  # the booking text
        ("inbound", "text", "Can you come before noon?"),
        ("outbound", "relay", "Yes, around 11"),
    ]
    assert messages[0]["body"].startswith("QuickDumpNow")
    for message in messages:
        assert message["phone"] == "(•••) •••-0199"
        assert message["job_id"] == job["id"]
    assert (messages[1]["from"], messages[1]["to"]) == ("(•••) •••-0199", "(•••) •••-0123")
    assert (messages[2]["from"], messages[2]["to"]) == ("(•••) •••-0123", "(•••) •••-0199")
    assert "about the other job" not in response.text
    assert_nothing_private(response.text)


def test_messages_of_a_new_job_hold_its_booking_text(client):
    job = create(client)
    messages = client.get(f"/jobs/token/{job['token']}/messages").json()["messages"]
    assert len(messages) == 1
    assert messages[0]["kind"] == "notification"
    assert set(messages[0]) >= {"id", "direction", "kind", "body", "status", "created_at"}


# --- unknown and malformed tokens -------------------------------------------------------------


def _comparable(response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, response.content, headers


@pytest.mark.parametrize("suffix", ["", "/messages"])
def test_unknown_and_malformed_tokens_get_the_identical_404(public, suffix):
    unknown = public.get(f"/jobs/token/{UNKNOWN_TOKEN}{suffix}")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert UNKNOWN_TOKEN not in unknown.text
    for malformed in MALFORMED_TOKENS:
        assert _comparable(public.get(f"/jobs/token/{malformed}{suffix}")) == _comparable(unknown), malformed


# --- the slow-down ------------------------------------------------------------------------------


def test_the_21st_miss_in_a_minute_gets_429_with_retry_after(public, clock):
    for n in range(20):
        assert public.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404, n
    slowed = public.get(f"/jobs/token/{UNKNOWN_TOKEN}")
    assert slowed.status_code == 429
    assert slowed.json()["error"]["code"] == "rate_limited"
    assert slowed.headers["retry-after"] == "60"
    for name, value in PRIVACY_HEADERS.items():
        assert slowed.headers[name] == value


def test_while_slowed_down_even_a_valid_token_waits_until_the_minute_is_over(client, clock):
    job = create(client)
    clock.now += 10
    for _ in range(20):
        client.get("/jobs/token/nope/messages")  # misses on any token endpoint count
    clock.now += 30
    slowed = client.get(f"/jobs/token/{job['token']}")
    assert slowed.status_code == 429
    assert slowed.headers["retry-after"] == "30"
    assert client.get(f"/track/{job['token']}").status_code == 429
    clock.now += 30  # the minute since the first miss is over
    assert view(client, job["token"])["first_name"] == "Dana"
    assert client.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404  # a fresh window


def test_hits_do_not_count_as_misses(client, clock):
    job = create(client)
    for _ in range(19):
        assert client.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404
    for _ in range(30):
        view(client, job["token"])
    assert client.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404  # the 20th miss
    assert client.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 429


def test_the_slow_down_is_per_client_address(settings, clock):
    app = create_app(settings)
    app.state.token_misses = MissLimiter(clock=clock)
    with TestClient(app, client=("203.0.113.9", 40000)) as noisy:
        quiet = TestClient(app, client=("198.51.100.7", 40000))
        quiet.app_state.update(noisy.app_state)  # the same running app, another address
        for _ in range(21):
            noisy.get(f"/jobs/token/{UNKNOWN_TOKEN}")
        assert noisy.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 429
        assert quiet.get(f"/jobs/token/{UNKNOWN_TOKEN}").status_code == 404


# --- headers ---------------------------------------------------------------------------------------


def assert_privacy_headers(response) -> None:
    for name, value in PRIVACY_HEADERS.items():
        assert response.headers[name] == value, name
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    for source in csp.split():
        assert not source.startswith(("http:", "https:", "*", "data:", "'unsafe")), source


def test_every_public_answer_carries_the_privacy_headers(client):
    job = create(client)
    token = job["token"]
    for path in (
        f"/jobs/token/{token}",
        f"/jobs/token/{token}/messages",
        f"/track?token={token}",
        f"/track/{token}",
        f"/jobs/token/{UNKNOWN_TOKEN}",
        f"/jobs/token/{UNKNOWN_TOKEN}/messages",
        "/track?token=nope",
        "/track",
    ):
        assert_privacy_headers(client.get(path))
    assert_privacy_headers(client.post(f"/track/{token}"))  # 405 too


def test_the_dashboard_api_is_not_affected(client):
    response = client.get("/jobs")
    assert response.status_code == 200
    assert "content-security-policy" not in response.headers
