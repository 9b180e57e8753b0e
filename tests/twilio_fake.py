"""A small fake of Twilio's Messages API, speaking its wire format, for respx and the benchmark.

`FakeTwilio(router)` answers `POST .../Messages.json` like Twilio (201 with a
queued message) and `GET .../Messages.json` with the messages it holds, and
records every form it receives. Script failures for the next sends with
`fail_next(...)`: an HTTP error (status, Twilio code), an httpx exception
raised before anything reached Twilio, or `ACCEPTED_THEN_TIMEOUT` (Twilio
keeps the message, the client sees a read timeout).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx
from twilio.request_validator import RequestValidator

from tests.support import base_environ

ACCOUNT_SID = "AC" + "3f" * 16
AUTH_TOKEN = "auth-token-5a1e7c"
API_KEY = "SK" + "9c" * 16
API_SECRET = "api-secret-b7d3e1"
FROM_NUMBER = "+15125550123"
MESSAGING_SERVICE_SID = "MG" + "4e" * 16
PUBLIC_BASE_URL = "https://sms.example.test"
STATUS_CALLBACK = f"{PUBLIC_BASE_URL}/twilio/status"
API_ORIGIN = "https://api.twilio.com"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
ACCEPTED_THEN_TIMEOUT = "accepted-then-timeout"
ACCEPTED_THEN_HANG = "accepted-then-hang"  # Twilio keeps the message; its answer never comes

ERRORS = {
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number +15005550001 is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    30006: (400, "Landline or unreachable carrier"),
}


def drain(client: Any, deadline: float = 10) -> None:
    """Wait until a TestClient app's send worker has nothing in flight and nothing due.

    `deadline` only turns a hung worker into a failure; it is never reached when things work.
    """
    sender = client.app_state["sender"]

    async def idle() -> None:
        await asyncio.wait_for(sender.wait_idle(), deadline)

    client.portal.call(idle)


def twilio_environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Settings for a live (Twilio) configuration with API key sends and a fast rate cap."""
    env = base_environ(
        tmp_path,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_KEY=API_KEY,
        TWILIO_API_SECRET=API_SECRET,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SEND_RATE_PER_SECOND="1000",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value}


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sign(url: str, params: Mapping[str, str], key: str = AUTH_TOKEN, algorithm: str | None = None) -> str:
    """The X-Twilio-Signature Twilio would send, by the SDK's own algorithm."""
    return RequestValidator(key).compute_signature(url, dict(params), algorithm)


def message_json(sid: str, form: Mapping[str, str], status: str = "queued", created: datetime | None = None) -> dict:
    created = created or datetime.now(UTC)
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": form.get("Body"),
        "date_created": format_datetime(created),
        "date_sent": None,
        "date_updated": format_datetime(created),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def error_json(code: int) -> tuple[int, dict]:
    """Twilio's error answer for a Twilio error code, or for an HTTP 5xx status."""
    status, message = ERRORS.get(code) or (code, SERVER_ERRORS.get(code, "Server Error"))
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def page_json(messages: list[dict]) -> dict:
    return {
        "messages": messages,
        "end": max(0, len(messages) - 1),
        "first_page_uri": MESSAGES_PATH + "?PageSize=50&Page=0",
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": MESSAGES_PATH + "?PageSize=50&Page=0",
    }


class FakeTwilio:
    """Twilio's Messages endpoints on a respx router; remembers what it was sent."""

    def __init__(self, router: respx.MockRouter, origin: str = API_ORIGIN) -> None:
        self.url = origin + MESSAGES_PATH
        self.creates: list[httpx.Request] = []  # every create request, including refused ones
        self.held: list[dict] = []  # messages Twilio has (accepted), oldest first
        self.lookups: list[httpx.Request] = []
        self.script: deque[Any] = deque()
        self.release = asyncio.Event()  # ends an ACCEPTED_THEN_HANG wait (as a read timeout)
        self._sids = (f"SM{n:032x}" for n in itertools.count(0xA000))
        router.post(self.url).mock(side_effect=self._create)
        router.get(self.url).mock(side_effect=self._list)

    def fail_next(self, *outcomes: Any) -> None:
        """Outcomes for the next creates: a Twilio error code, an httpx exception class, or a constant."""
        self.script.extend(outcomes)

    @property
    def bodies(self) -> list[str]:
        """Bodies of the texts Twilio accepted, in order."""
        return [m["body"] for m in self.held]

    @staticmethod
    def form(request: httpx.Request) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(request.content.decode(), keep_blank_values=True).items()}

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.creates.append(request)
        outcome = self.script.popleft() if self.script else None
        if isinstance(outcome, int):
            status, payload = error_json(outcome)
            return httpx.Response(status, json=payload)
        if isinstance(outcome, type) and issubclass(outcome, httpx.TransportError):
            raise outcome("scripted failure", request=request)
        message = message_json(next(self._sids), self.form(request))
        self.held.append(message)
        if outcome == ACCEPTED_THEN_TIMEOUT:
            raise httpx.ReadTimeout("timed out waiting for Twilio", request=request)
        if outcome == ACCEPTED_THEN_HANG:
            await self.release.wait()
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(201, json=message)

    def _list(self, request: httpx.Request) -> httpx.Response:
        self.lookups.append(request)
        query = request.url.params
        found = [
            m
            for m in reversed(self.held)  # newest first, like Twilio
            if ("To" not in query or m["to"] == query["To"]) and ("From" not in query or m["from"] == query["From"])
        ]
        return httpx.Response(200, content=json.dumps(page_json(found)))
