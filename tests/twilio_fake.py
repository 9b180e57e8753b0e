"""A small fake of Twilio's Messages API, speaking its wire format, for respx and the benchmark.

`FakeTwilio(router)` answers `POST .../Messages.json` like Twilio (201 with a
queued message) and `GET .../Messages.json` with the messages it holds, and
records every form it receives. Script failures for the next sends with
`fail_next(...)`: an HTTP error (status, Twilio code), an httpx exception
raised before anything reached Twilio, or `ACCEPTED_THEN_TIMEOUT` (Twilio
keeps the message, the client sees a read timeout). `FakeTwilio(router,
accounts=[...])` answers for several accounts; `credentials(request)` says
which account and basic-auth user a request used.

`TwilioServer(accounts)` is the same API on a local port, for a real service
process (TWILIO_API_BASE_URL=server.url): several accounts, each with the
credentials it accepts (401, Twilio's 20003, for any other), every request
recorded with the account in its path and the basic-auth user it came with.
It also keeps pictures as Twilio does (`add_media`): a Media resource answers
an authenticated GET with a 307 to its "media host" (a path of the same local
server, which serves the bytes without auth), and records DELETEs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

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
OLD_STATUS_CALLBACK = f"{PUBLIC_BASE_URL}/twilio/status"  # the address before texts named their business


def status_callback_url(message_id: str, business: str = "default") -> str:
    """The StatusCallback a text carries: its business's status address, naming the message (SPEC)."""
    return f"{PUBLIC_BASE_URL}/twilio/{business}/status?m={message_id}"


API_ORIGIN = "https://api.twilio.com"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
ACCEPTED_THEN_TIMEOUT = "accepted-then-timeout"
ACCEPTED_THEN_HANG = "accepted-then-hang"  # Twilio keeps the message; its answer never comes
HOLD_GUARD_SECONDS = 120.0  # TwilioServer.hold_sends: only a test that forgot let_go() waits this long

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


def twilio_form(sender: str, to: str, sid: str, account_sid: str, body: str = "STATUS") -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (Messaging webhook), in its usual order."""
    return {
        "ToCountry": "US",
        "ToState": "TX",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "AUSTIN",
        "FromZip": "78704",
        "SmsSid": sid,
        "FromState": "TX",
        "SmsStatus": "received",
        "FromCity": "AUSTIN",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "78701",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def status_callback_form(sid: str, sender: str, to: str, account_sid: str, status: str) -> dict[str, str]:
    """The fields Twilio posts to a StatusCallback for an outbound SMS, in its usual order."""
    return {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sign(url: str, params: Mapping[str, str], key: str = AUTH_TOKEN, algorithm: str | None = None) -> str:
    """The X-Twilio-Signature Twilio would send, by the SDK's own algorithm."""
    return RequestValidator(key).compute_signature(url, dict(params), algorithm)


def messages_path(account_sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Messages.json"


def message_json(
    sid: str,
    form: Mapping[str, str],
    status: str = "queued",
    created: datetime | None = None,
    account_sid: str = ACCOUNT_SID,
) -> dict:
    created = created or datetime.now(UTC)
    return {
        "account_sid": account_sid,
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
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
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


_ACCOUNT_IN_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/")


def account_in(path: str) -> str | None:
    """The account SID a Twilio REST path names (`/2010-04-01/Accounts/AC.../...`)."""
    found = _ACCOUNT_IN_PATH.match(path)
    return found["account"] if found else None


def basic_user(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) of a basic Authorization header; None without one."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def credentials(request: httpx.Request) -> tuple[str | None, str | None]:
    """(account SID in the path, basic-auth user) of a request the service made to Twilio."""
    user = basic_user(request.headers.get("authorization"))
    return account_in(request.url.path), user[0] if user else None


class FakeTwilio:
    """Twilio's Messages endpoints on a respx router; remembers what it was sent.

    `accounts`: the account SIDs it answers for (default: the deployment's, ACCOUNT_SID);
    `url` is the first one's Messages URL.
    """

    def __init__(
        self, router: respx.MockRouter, origin: str = API_ORIGIN, accounts: Iterable[str] = (ACCOUNT_SID,)
    ) -> None:
        urls = [origin + messages_path(account) for account in accounts]
        self.url = urls[0]
        self.creates: list[httpx.Request] = []  # every create request, including refused ones
        self.held: list[dict] = []  # messages Twilio has (accepted), oldest first
        self.lookups: list[httpx.Request] = []
        self.script: deque[Any] = deque()
        self.release = asyncio.Event()  # ends an ACCEPTED_THEN_HANG wait (as a read timeout)
        self.rewrite: Callable[[str], str] | None = None  # how Twilio keeps a body (smart encoding), if not as sent
        self._sids = (f"SM{n:032x}" for n in itertools.count(0xA000))
        for url in urls:
            router.post(url).mock(side_effect=self._create)
            router.get(url).mock(side_effect=self._list)

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

    @staticmethod
    def media_urls(request: httpx.Request) -> list[str]:
        """Every `MediaUrl` of a create, in order (an MMS repeats the field)."""
        return parse_qs(request.content.decode()).get("MediaUrl", [])

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.creates.append(request)
        outcome = self.script.popleft() if self.script else None
        if isinstance(outcome, int):
            status, payload = error_json(outcome)
            return httpx.Response(status, json=payload)
        if isinstance(outcome, type) and issubclass(outcome, httpx.TransportError):
            raise outcome("scripted failure", request=request)
        message = message_json(next(self._sids), self.form(request), account_sid=account_in(request.url.path) or "")
        if self.rewrite is not None:
            message = {**message, "body": self.rewrite(message["body"])}
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
        account = account_in(request.url.path)
        found = [
            m
            for m in reversed(self.held)  # newest first, like Twilio
            if m["account_sid"] == account
            and ("To" not in query or m["to"] == query["To"])
            and ("From" not in query or m["from"] == query["From"])
        ]
        return httpx.Response(200, content=json.dumps(page_json(found)))


@dataclass(frozen=True)
class Received:
    """One request the service made to TwilioServer."""

    method: str
    path: str
    account_sid: str | None  # the account in the path
    user: str | None  # the basic-auth user: an API key (SK...) or the account SID
    authorization: str | None  # the header as sent
    form: dict[str, str]  # a create's form; a lookup's query
    status: int  # what the fake answered
    media_urls: tuple[str, ...] = ()  # a create's MediaUrl fields, in order (an MMS)


CDN_PATH = "/media-host/"  # where a Media resource redirects: Twilio's media store, played by the same server
MEDIA_SEGMENT = "/Media/"


@dataclass(frozen=True)
class StoredMedia:
    """A picture TwilioServer keeps, and the path its media host serves it at."""

    data: bytes
    content_type: str
    cdn_path: str


AUTHENTICATE_ERROR = {
    "code": 20003,
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
}


class TwilioServer:
    """Twilio's Messages API on a local port: creates (201) and lookups, for several accounts.

        with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}, other_sid: {...}}) as twilio:
            environ["TWILIO_API_BASE_URL"] = twilio.url

    `accounts` maps each account SID to the basic-auth (user, password) pairs Twilio would accept
    for it: its API keys and secrets, or the SID itself and its auth token. A request naming an
    account it does not know, or with credentials not that account's, gets Twilio's 401 (20003).
    """

    def __init__(self, accounts: Mapping[str, Mapping[str, str]]) -> None:
        self.accounts = {sid: dict(users) for sid, users in accounts.items()}
        self.received: list[Received] = []
        self.held: list[dict[str, Any]] = []  # messages accepted, oldest first, each with its account_sid
        self._sids = (f"SM{n:032x}" for n in itertools.count(0xB05000))
        self.media: dict[str, StoredMedia] = {}  # Media resource path -> the picture Twilio keeps
        self.media_fetches: list[Received] = []  # GETs of Media resources (not of the CDN)
        self.media_deletes: list[Received] = []
        self._media_sids = (f"ME{n:032x}" for n in itertools.count(0xC0FFEE))
        self._lock = threading.Lock()
        self._holding = 0  # creates still to hold open (hold_sends)
        self._let_go = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fields = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
                media = tuple(value for key, value in fields if key == "MediaUrl")
                status, payload = fake._create(self.path, self.headers.get("Authorization"), dict(fields), media)
                if status == 201 and fake._held_open():
                    fake._let_go.wait(HOLD_GUARD_SECONDS)  # kept (a lookup finds it); the answer waits
                with suppress(OSError):  # the sender may be gone (killed while it waited)
                    self._answer(status, payload)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.startswith(CDN_PATH) or MEDIA_SEGMENT in parts.path:
                    self._media(*fake._media_get(parts.path, self.headers.get("Authorization")))
                    return
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                self._answer(*fake._lookup(parts.path, self.headers.get("Authorization"), query))

            def do_DELETE(self) -> None:
                status = fake._media_delete(self.path, self.headers.get("Authorization"))
                if status == 204:
                    self.send_response(204)
                    self.end_headers()
                else:
                    self._answer(status, AUTHENTICATE_ERROR if status == 401 else error_json(404)[1])

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _media(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TwilioServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def hold_sends(self, count: int) -> None:
        """Keep the next `count` texts (a lookup finds them) but hold their answers until `let_go()`:
        sends in flight, as long as a test needs them to be (a sender killed mid-send, a slow Twilio)."""
        with self._lock:
            self._holding = count
            self._let_go.clear()

    def let_go(self) -> None:
        """Answer the held sends (to whoever still listens), and hold no more."""
        with self._lock:
            self._holding = 0
        self._let_go.set()

    def _held_open(self) -> bool:
        with self._lock:
            if self._holding <= 0:
                return False
            self._holding -= 1
            return True

    def creates(self, account_sid: str | None = None) -> list[Received]:
        """The creates received (for `account_sid` only, when given), refused ones included, oldest first."""
        with self._lock:
            return [
                r for r in self.received if r.method == "POST" and (account_sid is None or r.account_sid == account_sid)
            ]

    def _authenticated(self, path: str, authorization: str | None) -> tuple[str | None, str | None, bool]:
        account = account_in(path)
        pair = basic_user(authorization)
        users = self.accounts.get(account or "", {})
        return account, pair[0] if pair else None, pair is not None and users.get(pair[0]) == pair[1]

    def _record(
        self, method: str, path: str, authorization: str | None, form: dict[str, str], status: int, media: tuple = ()
    ) -> None:
        account, user, _ = self._authenticated(path, authorization)
        self.received.append(Received(method, path, account, user, authorization, form, status, media))

    def _create(
        self, path: str, authorization: str | None, form: dict[str, str], media: tuple[str, ...] = ()
    ) -> tuple[int, dict[str, Any]]:
        account, _, allowed = self._authenticated(path, authorization)
        with self._lock:
            if not allowed or path != messages_path(account or ""):
                status, payload = (401, AUTHENTICATE_ERROR) if not allowed else error_json(404)
                self._record("POST", path, authorization, form, status, media)
                return status, payload
            message = message_json(next(self._sids), form, account_sid=account or "")
            message["num_media"] = str(len(media))
            self.held.append(message)
            self._record("POST", path, authorization, form, 201, media)
            return 201, message

    # -- pictures ----------------------------------------------------------------

    def add_media(self, account_sid: str, message_sid: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Keep a picture as Twilio keeps an inbound MMS's; returns its MediaUrl (as a webhook names it)."""
        path = f"/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{next(self._media_sids)}"
        with self._lock:
            self.media[path] = StoredMedia(data, content_type, f"{CDN_PATH}{next(self._media_sids).lower()}")
        return self.url + path

    def media_kept(self, media_url: str) -> bool:
        """Whether Twilio still has the picture at `media_url` (False once the service deleted it)."""
        with self._lock:
            return urlsplit(media_url).path in self.media

    def _media_get(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            for stored in self.media.values():
                if path == stored.cdn_path:  # the media host: a long unguessable path, no auth (like S3's)
                    return 200, {"Content-Type": stored.content_type}, stored.data
            account, user, allowed = self._authenticated(path, authorization)
            found = self.media.get(path)
            status = 307 if allowed and found else (401 if not allowed else 404)
            self.media_fetches.append(Received("GET", path, account, user, authorization, {}, status))
            if status == 307 and found is not None:
                return 307, {"Location": self.url + found.cdn_path, "Content-Type": "text/html"}, b""
            payload = AUTHENTICATE_ERROR if status == 401 else error_json(404)[1]
            return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _media_delete(self, path: str, authorization: str | None) -> int:
        resource = path.split("?")[0].removesuffix(".json")
        account, user, allowed = self._authenticated(resource, authorization)
        with self._lock:
            status = 401 if not allowed else (204 if self.media.pop(resource, None) else 404)
            self.media_deletes.append(Received("DELETE", resource, account, user, authorization, {}, status))
            return status

    def _lookup(self, path: str, authorization: str | None, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account, _, allowed = self._authenticated(path, authorization)
        with self._lock:
            self._record("GET", path, authorization, query, 200 if allowed else 401)
            if not allowed:
                return 401, AUTHENTICATE_ERROR
            found = [
                m
                for m in reversed(self.held)  # newest first, like Twilio
                if m["account_sid"] == account
                and ("To" not in query or m["to"] == query["To"])
                and ("From" not in query or m["from"] == query["From"])
            ]
            return 200, page_json(found)
