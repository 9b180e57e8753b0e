"""A live app on either backend, Twilio faked at its HTTP side: for the consent and undeliverable tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import respx
from starlette.testclient import TestClient

from config.settings import load_settings
from tests.store_contract.conftest import URL_MAKERS
from tests.support import API_TOKEN, CUSTOMER
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER, PUBLIC_BASE_URL, FakeTwilio, sign, twilio_environ, twilio_form
from web.app import create_app

BACKENDS = ["tinydb", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty store's DATABASE_URL, once per backend (PostgreSQL: skips without a server)."""
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        yield url


@contextlib.contextmanager
def live_app(tmp_path: Path, database_url: str, **overrides: str) -> Iterator[tuple[TestClient, FakeTwilio]]:
    """The app with its sender, on `database_url`, texting through the fake Twilio."""
    settings = load_settings(twilio_environ(tmp_path, DATABASE_URL=database_url, **overrides), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            yield client, twilio


_sids = iter(range(1, 10**6))


def text_in(client: TestClient, words: str, sender: str = CUSTOMER) -> str:
    """A signed inbound SMS from `sender`; its MessageSid."""
    sid = f"SM{next(_sids):032x}"
    form = twilio_form(sender, FROM_NUMBER, sid, ACCOUNT_SID, words)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(f"{PUBLIC_BASE_URL}/twilio/sms", form),
    }
    response = client.post("/twilio/sms", content=urlencode(form), headers=headers)
    assert response.status_code == 200, response.text
    return sid


def status_report(client: TestClient, message: dict[str, Any], status: str, **extra: str) -> int:
    """A signed status callback for `message` (at the address its text named); the answer's status."""
    form = {
        "SmsSid": message["twilio_sid"],
        "SmsStatus": status,
        "MessageStatus": status,
        "To": message["to"],
        "MessageSid": message["twilio_sid"],
        "AccountSid": ACCOUNT_SID,
        "From": FROM_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    path = f"/twilio/default/status?m={message['id']}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(f"{PUBLIC_BASE_URL}{path}", form),
    }
    return client.post(path, content=urlencode(form), headers=headers).status_code
