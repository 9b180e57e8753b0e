"""Registering a business straight into a running TestClient app, for tests of several businesses.

    token = register_business(client, {"slug": "acme", "name": "Acme Hauling", "numbers": ["+15125550200"]})
    client.get("/jobs", headers=bearer(token))      # acme's jobs alone

This does what the admin API (POST /admin/businesses) does with a body --
clean it (bot/businesses.py), seal its Twilio and events secrets with
SECRET_KEY, keep only the hash of its first dashboard token, add it to the
deployment's registry and run it -- without going through that API, so
tests of what one business can see of another do not depend on it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx  # what Starlette's TestClient answers with
from starlette.testclient import TestClient

from bot.businesses import clean_business
from bot.jobs import utc_now
from config.secret_box import SecretBox
from config.settings import load_settings
from handlers.admin_views import new_record
from handlers.tenancy import Tenants, new_dashboard_token, token_hash
from store import BusinessRecord, Store
from tests.support import API_TOKEN
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, sign, twilio_environ
from web.app import create_app


def bearer(token: str) -> dict[str, str]:
    """The Authorization header a dashboard of the business with this token sends."""
    return {"Authorization": f"Bearer {token}"}


def tenants_of(client: TestClient) -> Tenants:
    tenants: Tenants = client.app_state["tenants"]
    return tenants


def call(client: TestClient, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` awaited in the app's event loop (its stores belong to it)."""
    assert client.portal is not None, "the client is used outside its `with` block"
    return client.portal.call(partial(fn, *args, **kwargs))


def business_record(box: SecretBox, payload: dict[str, Any], token: str) -> BusinessRecord:
    """The registry record for an admin body, with `token` as its one dashboard token (as the admin API makes it)."""
    kept = {"id": "tok_" + secrets.token_hex(4), "hash": token_hash(token), "created_at": utc_now()}
    return new_record(clean_business(payload, creating=True), box, kept)


def register_business(client: TestClient, payload: dict[str, Any], *, token: str | None = None) -> str:
    """Add and run the business an admin body describes; its dashboard token (made if not given).

    The numbers the default business sends from are reserved, as the admin API reserves them.
    """
    tenants = tenants_of(client)
    assert tenants.box is not None, "SECRET_KEY is needed to run registered businesses"
    token = token or new_dashboard_token()
    record = business_record(tenants.box, payload, token)
    call(client, tenants.deployment.add_business, record, reserved=tenants.default.addresses)
    call(client, tenants.put, record)
    return token


# --- two businesses sharing a customer ------------------------------------------------------------
#
# The default business (the settings': live Twilio settings, its own number, API_TOKEN) and "acme"
# (a registered business with its own number, dispatcher, Twilio account and time zone). One of
# them plays A, the other B, so a test runs from both sides: A has jobs 1001 (the shared customer)
# and 1002 (A's other customer); B has job 1001 (the same customer). Nothing is sent
# (RUN_SENDER=false): queued texts stay `pending`, so what a request queued is what the log shows.

CUSTOMER = "+15125550199"  # a customer of both businesses
OTHER_CUSTOMER = "+15125550142"  # A's customer of job 1002; unknown to B
SHARED_DISPATCHER = "+15125550400"  # a dispatcher of both businesses
STRANGER = "+15125550111"  # nobody's customer, nobody's dispatcher
NOBODYS_NUMBER = "+15125550999"  # a Twilio number no business owns
SCHEDULED_FOR = "2030-06-15T15:00:00Z"  # an appointment both businesses book, each shows it in its own zone
ACME_ACCOUNT_SID = "AC" + "a1" * 16
ACME_AUTH_TOKEN = "acme-auth-token-93b1e0"


@dataclass(frozen=True)
class Business:
    """One business of the pair, and what distinguishes its data from the other's."""

    slug: str
    name: str
    number: str  # the Twilio number its customers text (To), and its texts' `from`
    phone: str  # its phone, as its texts print it
    timezone: str
    dispatcher: str  # its own dispatcher (not the other's)
    key: str  # what Twilio signs its webhooks with
    customer_name: str  # the shared customer, as this business knows her (job 1001)
    service: str  # job 1001's service
    address: str  # job 1001's address
    notes: str  # job 1001's notes
    appointment: str  # SCHEDULED_FOR as its booking text and page say it, in its zone
    clock: str  # SCHEDULED_FOR's local time of day

    @property
    def first_name(self) -> str:
        return self.customer_name.split()[0]

    @property
    def short_name(self) -> str:
        first, last = self.customer_name.split()
        return f"{first} {last[0]}."

    def job_1001(self) -> dict[str, Any]:
        return {
            "customer_name": self.customer_name,
            "customer_phone": "(512) 555-0199",
            "service_type": self.service,
            "address": self.address,
            "notes": self.notes,
            "scheduled_for": SCHEDULED_FOR,
        }


DEFAULT = Business(
    slug="default",
    name="QuickDumpNow",
    number="+15125550123",
    phone="(512) 555-0123",
    timezone="America/Chicago",
    dispatcher="+15125550100",
    key=AUTH_TOKEN,
    customer_name="Dana Whitfield",
    service="junk removal",
    address="4512 Ridgeview Dr, Austin, TX 78731",
    notes="Gate code 4512",
    appointment="Sat Jun 15, 10:00 AM",
    clock="10:00 AM",
)
ACME = Business(
    slug="acme",
    name="Acme Hauling",
    number="+15125550200",
    phone="(512) 555-0201",
    timezone="America/Los_Angeles",
    dispatcher="+15125550300",
    key=ACME_AUTH_TOKEN,
    customer_name="Dana Okafor",
    service="dumpster delivery",
    address="88 Lakeshore Blvd, Austin, TX 78741",
    notes="Leave it on the driveway",
    appointment="Sat Jun 15, 8:00 AM",
    clock="8:00 AM",
)
ACME_PAYLOAD = {
    "slug": "acme",
    "name": ACME.name,
    "phone": "+15125550201",
    "timezone": ACME.timezone,
    "numbers": [ACME.number],
    "dispatchers": [ACME.dispatcher, SHARED_DISPATCHER],
    "twilio": {"account_sid": ACME_ACCOUNT_SID, "auth_token": ACME_AUTH_TOKEN},
}
OTHER_JOB = {  # A's job 1002
    "customer_name": "Pat Lee",
    "customer_phone": OTHER_CUSTOMER,
    "service_type": "junk removal",
    "address": "77 Elm St, Austin, TX 78704",
}
SIDES = {"default is A": (DEFAULT, ACME), "acme is A": (ACME, DEFAULT)}


def two_business_environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The deployment's settings: the default business live on its own number, sending nothing."""
    own = {"DISPATCHER_NUMBERS": f"{DEFAULT.dispatcher},{SHARED_DISPATCHER}", "TIMEZONE": DEFAULT.timezone}
    return twilio_environ(tmp_path, **(own | {"RUN_SENDER": "false"} | overrides))


class World:
    """One app carrying two businesses, A and B, that share a customer and a dispatcher."""

    def __init__(self, client: TestClient, a: Business, b: Business, tokens: dict[str, str]) -> None:
        self.client = client
        self.a, self.b = a, b
        self.bearers = tokens  # dashboard token by slug
        self.jobs: dict[tuple[str, int], dict[str, Any]] = {}  # (slug, id) -> the job as created
        self._sids = itertools.count(0x5000)

    # -- who's who
    def side(self, name: str) -> Business:
        """The business playing `name`: "A" or "B"."""
        return {"A": self.a, "B": self.b}[name]

    def other(self, business: Business) -> Business:
        return self.b if business == self.a else self.a

    def token(self, business: Business, job_id: int = 1001) -> str:
        return str(self.jobs[business.slug, job_id]["token"])

    def store(self, business: Business) -> Store:
        tenant = tenants_of(self.client).get(business.slug)
        assert tenant is not None
        return tenant.services.store

    # -- the dashboard API, as each business's dashboard calls it
    def api(self, business: Business, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = bearer(self.bearers[business.slug]) | kwargs.pop("headers", {})
        return self.client.request(method, path, headers=headers, **kwargs)

    def create_job(self, business: Business, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api(business, "POST", "/jobs", json=body)
        assert response.status_code == 201, response.text
        job = response.json()
        self.jobs[business.slug, job["id"]] = job
        return job

    # -- Twilio's webhooks
    def sms_form(self, to: str, sender: str, body: str) -> dict[str, str]:
        """What Twilio posts for a text from `sender` to the number `to`, with a fresh MessageSid."""
        sid = f"SM{next(self._sids):032x}"
        return {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "To": to,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }

    def post_webhook(self, path: str, form: dict[str, str], key: str) -> httpx.Response:
        """`form` posted to `path`, signed with `key` by Twilio's own algorithm."""
        signature = sign(PUBLIC_BASE_URL + path, form, key)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        return self.client.post(path, content=urlencode(form), headers=headers)

    def text(self, to: Business, sender: str, body: str, *, key: str | None = None) -> httpx.Response:
        """A text from `sender` to `to`'s number, signed with `to`'s key unless told otherwise."""
        return self.post_webhook("/twilio/sms", self.sms_form(to.number, sender, body), key or to.key)

    # -- what each business holds
    def messages(self, business: Business) -> dict[str, dict[str, Any]]:
        """Every text in the business's log to or from the phones in play, by id."""
        store = self.store(business)
        rows: dict[str, dict[str, Any]] = {}
        for phone in PHONES:
            for message in call(self.client, store.phone_messages, phone):
                rows[message["id"]] = message
        return rows

    def snapshot(self, business: Business) -> dict[str, Any]:
        """All the business holds about the phones in play: jobs, texts, phone states."""
        store = self.store(business)
        return {
            "jobs": call(self.client, store.list_jobs),
            "messages": self.messages(business),
            "phones": {phone: call(self.client, store.get_phone, phone) for phone in PHONES},
        }

    def markers(self, business: Business) -> list[str]:
        """Strings only `business`'s data carries: none may show in an answer of the other's."""
        tokens = [str(job["token"]) for (slug, _), job in self.jobs.items() if slug == business.slug]
        last_names = [business.customer_name.split()[1]]
        return [business.name, business.number, business.address, business.notes, *last_names, *tokens]

    def assert_nothing_of(self, business: Business, text: str) -> None:
        for marker in self.markers(business):
            assert marker not in text, f"{business.slug}'s {marker!r} leaked: {text[:500]}"


PHONES = (
    CUSTOMER,
    OTHER_CUSTOMER,
    SHARED_DISPATCHER,
    STRANGER,
    DEFAULT.dispatcher,
    ACME.dispatcher,
    DEFAULT.number,
    ACME.number,
)


@contextmanager
def two_businesses(tmp_path: Path, side: str, **overrides: str) -> Iterator[World]:
    """The running app: A with jobs 1001 (CUSTOMER) and 1002 (OTHER_CUSTOMER), B with job 1001 (CUSTOMER).

    `side` is a key of SIDES; `overrides` are settings (RUN_SENDER="true" sends, through respx).
    """
    a, b = SIDES[side]
    settings = load_settings(two_business_environ(tmp_path, **overrides), env_file=None)
    with TestClient(create_app(settings)) as client:
        tokens = {DEFAULT.slug: API_TOKEN, ACME.slug: register_business(client, ACME_PAYLOAD)}
        world = World(client, a, b, tokens)
        for business in (a, b):
            assert world.create_job(business, business.job_1001())["id"] == 1001
        assert world.create_job(a, OTHER_JOB)["id"] == 1002
        yield world


def drain_all(client: TestClient, deadline: float = 10) -> None:
    """Wait until every business's sender has nothing in flight and nothing due (RUN_SENDER=true)."""
    senders = list(client.app_state["loops"].senders.values())
    assert senders, "no sender runs (RUN_SENDER=false)"

    async def idle() -> None:
        for sender in senders:
            await asyncio.wait_for(sender.wait_idle(), deadline)

    call(client, idle)
