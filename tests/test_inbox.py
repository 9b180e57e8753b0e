"""The office inbox over HTTP, in-process (SPEC "The office inbox"), on TinyDB and PostgreSQL.

Login by a texted code, the conversations with "Needs reply" first, a conversation's actions
calling the same services as the text commands, and the safety rules: CSRF and Origin, session
expiry and revocation, the 6th code try refused, another business's conversation the same 404 as
a missing one, no phone or token in any inbox URL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.testclient import TestClient

from config.settings import load_settings
from handlers.inbox import session as sessions
from tests.pg import fresh_database, require_postgres
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.test_sms_webhook import inbound
from tests.twilio_fake import sign
from web.app import create_app

ORIGIN = "http://testserver"
SECRET_KEY = "inbox-tests-secret-key-0123456789abcdef"
OTHER_DISPATCHER = "+15125550142"
CODE_TEXT = re.compile(r"^QuickDumpNow: your inbox code is (\d{6})\. It expires in 10 minutes\.$")


@contextmanager
def database(backend: str, tmp_path: Path, name: str) -> Iterator[str]:
    if backend == "tinydb":
        yield f"tinydb:///{tmp_path}/data/qdn.json"
        return
    require_postgres()
    with fresh_database(name) as url:
        yield url


@pytest.fixture(params=["tinydb", "postgresql"])
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with database(request.param, tmp_path, request.node.name) as url:
        yield base_environ(tmp_path, DATABASE_URL=url, SEND_RATE_PER_SECOND="1000", SECRET_KEY=SECRET_KEY)


@contextmanager
def app_client(environ: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(environ, env_file=None)), follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(environ: dict[str, str]) -> Iterator[TestClient]:
    with app_client(environ) as test_client:
        yield test_client


def api(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


def texts_to(client: TestClient, phone: str) -> list[dict[str, Any]]:
    answer = client.get("/messages", params={"phone": phone}, headers=api(client))
    assert answer.status_code == 200
    return [m for m in answer.json()["messages"] if m["direction"] == "outbound"]


def codes_texted(client: TestClient, phone: str = DISPATCHER) -> list[str]:
    return [match[1] for m in texts_to(client, phone) if (match := CODE_TEXT.match(m["body"]))]


def post(client: TestClient, path: str, data: dict[str, str], origin: str | None = ORIGIN) -> Any:
    headers = {"Origin": origin} if origin else {}
    return client.post(path, data=data, headers=headers)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found[1]


def log_in(client: TestClient, phone: str = DISPATCHER) -> str:
    """Ask for a code, type it: the inbox page's CSRF token."""
    assert post(client, "/inbox/login", {"phone": phone}).status_code == 200
    code = codes_texted(client, phone)[-1]
    answer = post(client, "/inbox/login/code", {"code": code})
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox"
    page = client.get("/inbox")
    assert page.status_code == 200
    return csrf_of(page.text)


def book(client: TestClient, **fields: Any) -> dict[str, Any]:
    answer = client.post("/jobs", json=job_body(**fields), headers=api(client))
    assert answer.status_code == 201, answer.text
    return answer.json()


def customer_texts(client: TestClient, body: str, phone: str = CUSTOMER) -> None:
    """A customer's text through the Twilio webhook, signed as Twilio signs it."""
    settings = client.app_state["tenants"].settings
    raw = inbound(phone, body)
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    signature = sign(settings.public_base_url + "/twilio/sms", fields, str(settings.webhook_secret))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    assert client.post("/twilio/sms", content=raw.encode(), headers=headers).status_code == 200


def conversation_links(html: str) -> list[str]:
    return re.findall(r'href="(/inbox/c/[^"]+)"', html)


# -- logging in --------------------------------------------------------------------------------


def test_the_login_page_has_labelled_fields(client: TestClient) -> None:
    page = client.get("/inbox/login")
    assert page.status_code == 200
    assert '<label for="phone">Phone number</label>' in page.text
    assert ">Text me a code</button>" in page.text
    assert "<script" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_a_dispatcher_is_texted_a_code_and_logs_in_with_it(client: TestClient) -> None:
    assert client.get("/inbox").headers["location"] == "/inbox/login"
    answer = post(client, "/inbox/login", {"phone": "(512) 555-0100"})
    assert answer.status_code == 200
    assert '<label for="code">Code</label>' in answer.text and ">Log in</button>" in answer.text
    (code,) = codes_texted(client)
    sent = next(m for m in texts_to(client, DISPATCHER) if CODE_TEXT.match(m["body"]))
    assert sent["kind"] == "system"
    cookie = client.cookies.get(sessions.PENDING_COOKIE)
    assert cookie and code not in cookie
    answer = post(client, "/inbox/login/code", {"code": code})
    assert answer.status_code == 303
    session_cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie.replace("Lax", "lax")
    assert "Max-Age=43200" in session_cookie  # INBOX_SESSION_HOURS=12
    assert client.get("/inbox").status_code == 200
    # once: the same code again is refused
    post(client, "/inbox/login", {"phone": DISPATCHER})
    assert post(client, "/inbox/login/code", {"code": code}).status_code == 400


def test_any_other_number_gets_the_same_page_and_no_text(client: TestClient) -> None:
    dispatcher = post(client, "/inbox/login", {"phone": DISPATCHER})
    stranger = post(client, "/inbox/login", {"phone": "+15125550177"})
    assert stranger.status_code == dispatcher.status_code == 200
    assert stranger.text == dispatcher.text
    assert texts_to(client, "+15125550177") == []
    assert post(client, "/inbox/login/code", {"code": "000000"}).status_code == 400


def test_the_sixth_try_is_refused_even_with_the_right_code(client: TestClient) -> None:
    post(client, "/inbox/login", {"phone": DISPATCHER})
    (code,) = codes_texted(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert post(client, "/inbox/login/code", {"code": wrong}).status_code == 400
    refused = post(client, "/inbox/login/code", {"code": code})
    assert refused.status_code == 400
    assert client.cookies.get(sessions.COOKIE) is None


def test_code_requests_are_throttled_per_phone(client: TestClient) -> None:
    for _ in range(5):
        assert post(client, "/inbox/login", {"phone": DISPATCHER}).status_code == 200
    slowed = post(client, "/inbox/login", {"phone": DISPATCHER})
    assert slowed.status_code == 429 and "Too many codes" in slowed.text
    assert len(codes_texted(client)) == 5


def test_an_opted_out_dispatcher_is_told_to_text_start_and_gets_no_text(client: TestClient) -> None:
    from tests.test_track_api import call, services_of

    call(client, services_of(client).store.update_phone, DISPATCHER, lambda state: {**state, "opted_out": True})
    answer = post(client, "/inbox/login", {"phone": DISPATCHER})
    assert answer.status_code == 409 and "text START" in answer.text
    assert codes_texted(client) == []


# -- CSRF, Origin, expiry, revocation ------------------------------------------------------------


def test_a_login_post_from_another_origin_is_refused(client: TestClient) -> None:
    assert post(client, "/inbox/login", {"phone": DISPATCHER}, origin="https://evil.example").status_code == 403
    assert post(client, "/inbox/login", {"phone": DISPATCHER}, origin=None).status_code == 403
    assert codes_texted(client) == []


def test_an_action_without_the_csrf_token_or_from_another_origin_is_refused(client: TestClient) -> None:
    job = book(client)
    customer_texts(client, "Can you come earlier?")
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    before = len(texts_to(client, CUSTOMER))
    data = {"job": str(job["id"]), "body": "On our way soon"}
    assert post(client, f"{link}/reply", data).status_code == 403
    assert post(client, f"{link}/reply", {**data, "csrf": "forged"}).status_code == 403
    assert post(client, f"{link}/reply", {**data, "csrf": csrf}, origin="https://evil.example").status_code == 403
    assert len(texts_to(client, CUSTOMER)) == before
    assert post(client, f"{link}/reply", {**data, "csrf": csrf}).status_code == 303
    assert texts_to(client, CUSTOMER)[-1]["body"] == "On our way soon"


def session_cookie(client: TestClient, hours_ago: float) -> str:
    """A session cookie as our own key signed it `hours_ago` (itsdangerous stamps it in its signer)."""

    class SignedThen(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - hours_ago * 3600)

    settings = client.app_state["tenants"].settings
    signer = URLSafeTimedSerializer(sessions.signing_key(settings), salt=sessions.SALT_SESSION, signer=SignedThen)
    return signer.dumps({"p": DISPATCHER, "b": "default", "c": "x"})


def test_a_session_expires_after_inbox_session_hours(client: TestClient) -> None:
    client.cookies.set(sessions.COOKIE, session_cookie(client, 11.9), path="/inbox")
    assert client.get("/inbox").status_code == 200
    client.cookies.set(sessions.COOKIE, session_cookie(client, 12.01), path="/inbox")
    assert client.get("/inbox").headers["location"] == "/inbox/login"


def test_a_forged_session_cookie_is_refused(client: TestClient) -> None:
    forged = URLSafeTimedSerializer(b"not our key", salt=sessions.SALT_SESSION).dumps(
        {"p": DISPATCHER, "b": "default", "c": "x"}
    )
    client.cookies.set(sessions.COOKIE, forged, path="/inbox")
    assert client.get("/inbox").headers["location"] == "/inbox/login"


def test_a_phone_taken_off_the_dispatcher_list_loses_its_session(environ: dict[str, str]) -> None:
    with app_client(environ) as client:
        log_in(client)
        cookie = client.cookies.get(sessions.COOKIE)
    with app_client({**environ, "DISPATCHER_NUMBERS": OTHER_DISPATCHER}) as client:
        client.cookies.set(sessions.COOKIE, cookie or "", path="/inbox")
        assert client.get("/inbox").headers["location"] == "/inbox/login"


def test_log_out_ends_the_session(client: TestClient) -> None:
    csrf = log_in(client)
    assert post(client, "/inbox/logout", {"csrf": csrf}).headers["location"] == "/inbox/login"
    assert client.get("/inbox").headers["location"] == "/inbox/login"


@pytest.mark.parametrize("path", ["/inbox", "/inbox/today", "/inbox/events", "/inbox/business", "/inbox/c/" + "0" * 24])
def test_every_inbox_page_and_the_event_stream_need_a_session(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox/login"


@pytest.mark.parametrize("action", ["reply", "status", "reschedule"])
def test_an_action_without_a_session_does_nothing(client: TestClient, action: str) -> None:
    job = book(client)
    before = len(texts_to(client, CUSTOMER))
    data = {"job": str(job["id"]), "body": "hi", "status": "cancelled", "date": "2031-01-01"}
    assert post(client, f"/inbox/c/{'0' * 24}/{action}", data).headers["location"] == "/inbox/login"
    assert client.get(f"/jobs/{job['id']}", headers=api(client)).json()["status"] == "scheduled"
    assert len(texts_to(client, CUSTOMER)) == before
