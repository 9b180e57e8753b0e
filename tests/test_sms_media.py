"""POST /twilio/sms with pictures (an MMS): raw signed Twilio bodies -> the rows the webhook stores.

The webhook names each picture that is Twilio's media (a media id at once, an
item of the inbound row's `media_fetch`), links it in the relays to dispatchers,
and sends a dispatcher's pictures on with ARRIVED / DONE / R as an MMS; it never
fetches anything itself (sender/media/fetch.py does). Nothing is sent here
(RUN_SENDER=false): the rows are checked as the webhook stored them, so these
cases do not depend on the fetcher or the sender.
"""

from __future__ import annotations

import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx  # what Starlette's TestClient answers with
import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.conversation import DISPATCHER as ROLE
from bot.conversation import Invalid, ReplyTo, parse
from bot.media import TEXT_LINK_SECONDS, LinkKeys, open_link
from bot.segments import count_segments
from config.settings import Settings, load_settings
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.twilio_fake import twilio_environ
from web.app import create_app

C, D = CUSTOMER, DISPATCHER  # Dana Whitfield (job 1001), the first dispatcher
D2 = "+15125550101"
S = "+15125550111"  # a stranger
PHONES = (C, D, D2, S)
ACCOUNT_SID = "AC" + "3f" * 16
JOB = 1001
LOCAL_TWILIO = "http://127.0.0.1:4010"  # TWILIO_API_BASE_URL of the live-mode harness
ACK = "QuickDumpNow: Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."

_sids = iter(range(0x1000, 0x100000))


def twilio_media(n: int, message_sid: str = "MM" + "8a" * 16) -> str:
    """A Media resource URL as Twilio puts it in MediaUrl{i}."""
    return f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/ME{n:032x}"


def mms(
    sender: str,
    text: str,
    urls: tuple[str, ...],
    *,
    num_media: str | None = None,
    types: tuple[str, ...] = (),
    sid: str | None = None,
) -> str:
    """The raw body Twilio POSTs for an MMS (its field order; a fresh MM sid unless given)."""
    sid = sid or f"MM{next(_sids):032x}"
    count = str(len(urls)) if num_media is None else num_media
    fields = [("ToCountry", "US")]
    fields += [(f"MediaContentType{i}", types[i] if i < len(types) else "image/jpeg") for i in range(len(urls))]
    fields += [
        ("ToState", "TX"),
        ("SmsMessageSid", sid),
        ("NumMedia", count),
        ("ToCity", "AUSTIN"),
        ("FromZip", "78731"),
        ("SmsSid", sid),
        ("FromState", "TX"),
        ("SmsStatus", "received"),
        ("FromCity", "AUSTIN"),
        ("Body", text),
        ("FromCountry", "US"),
        ("To", "+15125550123"),
        ("MessagingServiceSid", "MG" + "4e" * 16),
        ("ToZip", "78701"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    fields += [(f"MediaUrl{i}", url) for i, url in enumerate(urls)]
    return urlencode(fields)


def sid_of(body: str) -> str:
    return dict(httpx.QueryParams(body))["MessageSid"]


class Harness:
    """An app (sending nothing) with job 1001 (Dana, junk removal) and two dispatchers."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def post(self, body: str) -> httpx.Response:
        url = self.settings.public_base_url + "/twilio/sms"
        fields = dict(httpx.QueryParams(body))
        signature = RequestValidator(str(self.settings.webhook_secret)).compute_signature(url, fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        return self.client.post("/twilio/sms", content=body.encode(), headers=headers)

    def call(self, fn: Any, *args: Any) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(fn, *args)

    @property
    def store(self) -> Any:
        return self.client.app_state["services"].store

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every stored row (internal keys too) of the phones in play, by id."""
        return {m["id"]: m for phone in PHONES for m in self.call(self.store.phone_messages, phone)}

    def inbound(self, sid: str) -> dict[str, Any]:
        row = self.call(self.store.find_message_by_sid, sid)
        assert row is not None
        return dict(row)

    def opens(self, link: str) -> str | None:
        """The media id a relay's link opens for this business now (None: none)."""
        prefix = f"{self.settings.public_base_url}/m/default/"
        assert link.startswith(prefix), link
        keys = LinkKeys.from_secret(str(self.settings.secret_key))
        return open_link(keys, "default", link.removeprefix(prefix), time.time())


def _harness(environ: dict[str, str]) -> Iterator[Harness]:
    settings = load_settings(environ, env_file=None)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        assert client.post("/jobs", json=job_body()).json()["id"] == JOB
        yield Harness(client, settings)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Harness]:
    """Local use (no Twilio settings): the simulator's loopback pictures are fetched too."""
    yield from _harness(base_environ(tmp_path, DISPATCHER_NUMBERS=f"{D},{D2}", RUN_SENDER="false"))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Harness]:
    """Twilio settings (a local Twilio at TWILIO_API_BASE_URL): only Twilio's media and that origin's."""
    environ = twilio_environ(
        tmp_path, DISPATCHER_NUMBERS=f"{D},{D2}", RUN_SENDER="false", TWILIO_API_BASE_URL=LOCAL_TWILIO
    )
    yield from _harness(environ)


def replies_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [message.text or "" for message in ET.fromstring(response.content).findall("./Message")]


# --- a customer's pictures -> relays with links ------------------------------------------------------

LINK = "(https://sms\\.example\\.test/m/default/\\S+)"
EVIL = "https://evil.example/x.jpg?token=abc123"
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
LOOPBACK = "http://127.0.0.1:8000/2010-04-01/Accounts/x/Messages/y/Media/z"
NOT_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SIX_LOOKALIKE = "https://api.twilio.com.evil.example" + twilio_media(1).removeprefix("https://api.twilio.com")


@dataclass(frozen=True)
class Case:
    label: str
    body: str  # the raw signed form
    kept: tuple[str, ...]  # the MediaUrls kept for the fetcher, in order
    relay: str  # each dispatcher's relay; {link} placeholders: the kept pictures' links, in order
    harness: str = "app"  # or "live"


WORDS = "How much for this?"
FRAME = "Dana (1001, scheduled): {} Reply: R 1001 <text>"
THREE = (twilio_media(1), twilio_media(2), twilio_media(3))
ELEVEN = tuple(twilio_media(n) for n in range(11))
CASES = [
    Case("one picture with words", mms(C, WORDS, (twilio_media(1),)), (twilio_media(1),),
         FRAME.format(f"{WORDS} Photo: {{link}}")),
    Case("three pictures", mms(C, WORDS, THREE, types=("image/jpeg", "image/png", "image/heic")), THREE,
         FRAME.format(f"{WORDS} Photos: {{link}} {{link}} {{link}}")),
    Case("a picture with no words", mms(C, "", (twilio_media(1),)), (twilio_media(1),),
         FRAME.format("Photo: {link}")),
    Case("NumMedia 1 with two URLs: the second is no picture of the text", mms(C, WORDS, THREE[:2], num_media="1"),
         THREE[:1], FRAME.format(f"{WORDS} Photo: {{link}}")),
    Case("NumMedia 3 with one URL: two announced, never to be fetched", mms(C, WORDS, THREE[:1], num_media="3"),
         THREE[:1], FRAME.format(f"{WORDS} Photos: {{link}} (2 pictures unavailable)")),
    Case("NumMedia 0 with a URL: no picture", mms(C, WORDS, THREE[:1], num_media="0"), (), FRAME.format(WORDS)),
    Case("NumMedia not a number: no picture", mms(C, WORDS, THREE[:1], num_media="1e3"), (), FRAME.format(WORDS)),
    Case("11 pictures: the first 10 kept", mms(C, "", ELEVEN, num_media="11"), ELEVEN[:10],
         FRAME.format("Photos: " + " ".join(["{link}"] * 10))),
    Case("a URL that is not Twilio's: dropped", mms(C, WORDS, (EVIL,)), (),
         FRAME.format(f"{WORDS} Photo: (picture unavailable)")),
    Case("Twilio's API but not a Media resource: dropped", mms(C, WORDS, (NOT_MEDIA, twilio_media(2))),
         (twilio_media(2),), FRAME.format(f"{WORDS} Photos: {{link}} (picture unavailable)")),
    Case("a host that only starts like Twilio's: dropped", mms(C, WORDS, (SIX_LOOKALIKE,)), (),
         FRAME.format(f"{WORDS} Photo: (picture unavailable)")),
    Case("forged but signed: the cloud metadata address, live", mms(C, WORDS, (METADATA,)), (),
         FRAME.format(f"{WORDS} Photo: (picture unavailable)"), harness="live"),
    Case("forged but signed: a loopback address, live", mms(C, WORDS, (LOOPBACK,)), (),
         FRAME.format(f"{WORDS} Photo: (picture unavailable)"), harness="live"),
    Case("the local Twilio of TWILIO_API_BASE_URL, live", mms(C, WORDS, (LOCAL_TWILIO + "/media/ME1",)),
         (LOCAL_TWILIO + "/media/ME1",), FRAME.format(f"{WORDS} Photo: {{link}}"), harness="live"),
    Case("Twilio's media, live", mms(C, WORDS, (twilio_media(7),)), (twilio_media(7),),
         FRAME.format(f"{WORDS} Photo: {{link}}"), harness="live"),
    Case("a loopback address in local use (the simulator)", mms(C, WORDS, (LOOPBACK,)), (LOOPBACK,),
         FRAME.format(f"{WORDS} Photo: {{link}}")),
    Case("a picture from a number with no job", mms(S, "", (twilio_media(1),)), (twilio_media(1),),
         "+15125550111 (no open job): Photo: {link} Reply: R +15125550111 <text>"),
    Case("STATUS with a picture is for a person: relayed", mms(C, "STATUS", (twilio_media(1),)), (twilio_media(1),),
         FRAME.format("STATUS Photo: {link}")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_a_customer_s_pictures_are_named_for_the_fetcher_and_linked_in_the_relays(
    request: pytest.FixtureRequest, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    harness: Harness = request.getfixturevalue(case.harness)
    before = harness.rows()
    caplog.set_level(logging.WARNING, logger="qdn.sms")
    assert replies_of(harness.post(case.body)) == [ACK]
    added = [m for i, m in harness.rows().items() if i not in before]

    # The inbound row: the words as typed, and each kept picture for the fetcher, due now.
    form = dict(httpx.QueryParams(case.body))
    inbound = harness.inbound(sid_of(case.body))
    assert inbound["body"] == form["Body"]
    fetch = inbound.get("media_fetch", [])
    assert [item["url"] for item in fetch] == list(case.kept)
    ids = [item["id"] for item in fetch]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)
    if case.kept:
        assert inbound["media"] == [] and inbound["media_attempts"] == 0
        assert inbound["media_due_at"] == inbound["created_at"]
        types = {form[f"MediaUrl{i}"]: form[f"MediaContentType{i}"] for i in range(11) if f"MediaUrl{i}" in form}
        assert [item["type"] for item in fetch] == [types[item["url"]] for item in fetch]
    else:
        assert "media_due_at" not in inbound or inbound["media_due_at"] is None  # nothing is ever fetched

    # One relay to each dispatcher, with a link per kept picture (in order), waiting for the fetch.
    relays = [m for m in added if m["kind"] == "relay"]
    assert sorted(m["to"] for m in relays) == [D, D2]
    pattern = re.escape(case.relay).replace(re.escape("{link}"), LINK)
    for relay in relays:
        found = re.fullmatch(pattern, relay["body"])
        assert found, relay["body"]
        assert [harness.opens(link) for link in found.groups()] == ids
        assert relay.get("media", []) == [] and relay.get("media_wait_sid") == (inbound["twilio_sid"] if ids else None)
        # Plain GSM-7 around the person's words: a link costs no UCS-2.
        assert count_segments(relay["body"]).encoding == "GSM-7"
    # The links are good for a week.
    for link in re.findall(LINK, relays[0]["body"]):
        expiry = int(link.rsplit(".", 2)[1], 36)
        assert abs(expiry - (time.time() + TEXT_LINK_SECONDS)) < 60

    # A URL never fetched is logged short: its origin at most, never the whole URL.
    count = min(int(form["NumMedia"]), 10) if form["NumMedia"].isdigit() else 0
    announced = [form[f"MediaUrl{i}"] for i in range(count) if f"MediaUrl{i}" in form]
    dropped = [url for url in announced if url not in case.kept]
    warnings = [r.getMessage() for r in caplog.records if r.name == "qdn.sms"]
    assert len(warnings) == len(dropped)
    for url in dropped:
        assert all(url not in warning for warning in warnings)
    assert all("abc123" not in warning and "security-credentials" not in warning for warning in warnings)


def test_a_repeated_delivery_names_its_pictures_once(app: Harness) -> None:
    body = mms(C, WORDS, THREE)
    before = app.rows()
    first, second = app.post(body), app.post(body)
    assert replies_of(first) == replies_of(second) == [ACK]
    added = [m for i, m in app.rows().items() if i not in before]
    assert sorted((m["direction"], m["kind"]) for m in added) == [
        ("inbound", "text"),
        ("outbound", "relay"),
        ("outbound", "relay"),
        ("outbound", "system"),
    ]
    assert len(app.inbound(sid_of(body))["media_fetch"]) == 3


def test_a_relay_with_ten_links_and_a_long_text_stays_one_text_keeping_every_link(app: Harness) -> None:
    words = "The pile is behind the garage, next to the fence. " * 40
    body = mms(C, words[:1600], ELEVEN[:10])
    app.post(body)
    relay = next(m["body"] for m in app.rows().values() if m["kind"] == "relay" and m["to"] == D)
    assert len(relay) <= 1600
    assert len(re.findall(LINK, relay)) == 10
    assert relay.startswith("Dana (1001, scheduled): The pile is behind") and "... Photos: " in relay
    assert relay.endswith(" Reply: R 1001 <text>")
    assert count_segments(relay).encoding == "GSM-7"


def test_an_emoji_in_the_words_is_the_only_thing_that_makes_a_relay_ucs2(app: Harness) -> None:
    app.post(mms(C, "this 👍", (twilio_media(1),)))
    relay = next(m["body"] for m in app.rows().values() if m["kind"] == "relay" and m["to"] == D)
    assert count_segments(relay.replace("👍", "")).encoding == "GSM-7"


def test_an_opted_out_customer_s_picture_still_reaches_the_dispatchers(app: Harness) -> None:
    app.post(mms(C, "STOP", ()))
    body = mms(C, "the gate", (twilio_media(1),))
    assert replies_of(app.post(body)) == []
    relay = [m for m in app.rows().values() if m["kind"] == "relay" and m["to"] == D][-1]["body"]
    assert re.fullmatch(
        r"Dana \(1001, scheduled\) is opted out of texts; call \(512\) 555-0199\. They wrote: the gate Photo: " + LINK,
        relay,
    )


# --- a dispatcher's pictures -> the customer, as an MMS ----------------------------------------------


@dataclass(frozen=True)
class Sent:
    label: str
    text: str
    urls: tuple[str, ...]
    reply: str
    kind: str | None  # the kind of the row to the customer carrying the pictures (None: no row)
    body: str | None = None  # that row's body (None: not checked: a status template)


SENT = [
    Sent("DONE with a picture: proof of pick-up", f"DONE {JOB}", (twilio_media(1),),
         "1001 -> complete. Customer texted, with the photo.", "notification"),
    Sent("ARRIVED with two pictures: where it was dropped", f"ARRIVED {JOB}", THREE[:2],
         "1001 -> arrived. Customer texted, with 2 photos.", "notification"),
    Sent("EN ROUTE with a picture: it goes too", f"EN ROUTE {JOB} 20", (twilio_media(1),),
         "1001 -> en route (ETA 20 min). Customer texted, with the photo.", "notification"),
    Sent("R with words and a picture", f"R {JOB} Here's the trailer", (twilio_media(1),),
         "Sent to Dana (1001), with the photo.", "relay", "Here's the trailer"),
    Sent("R with a picture and no words", f"R {JOB}", (twilio_media(1),),
         "Sent to Dana (1001), with the photo.", "relay", ""),
    Sent("R to a phone with a picture", f"R {S} Is this yours?", (twilio_media(1),),
         f"Sent to {S}, with the photo.", "relay", "Is this yours?"),
    Sent("R with no words and a picture that is not Twilio's: nothing to send",
         f"R {JOB}", (EVIL,), "What should it say? e.g. R 1042 Running 10 min late", None),
    Sent("DONE with a picture that is not Twilio's: the text alone", f"DONE {JOB}", (EVIL,),
         "1001 -> complete. Customer texted.", "notification"),
    Sent("a picture and no command", "", (twilio_media(1),),
         "Got the photo. To send it to the customer, text it with ARRIVED 1042, DONE 1042 or R 1042.", None),
    Sent("a picture with words that are no command", "the gate is locked", (twilio_media(1),),
         "Got the photo. To send it to the customer, text it with ARRIVED 1042, DONE 1042 or R 1042.", None),
]  # fmt: skip


@pytest.mark.parametrize("case", SENT, ids=[case.label for case in SENT])
def test_a_dispatcher_s_pictures_go_to_the_customer_as_an_mms(app: Harness, case: Sent) -> None:
    before = app.rows()
    body = mms(D, case.text, case.urls)
    assert replies_of(app.post(body)) == [case.reply]
    added = [m for i, m in app.rows().items() if i not in before]
    inbound = app.inbound(sid_of(body))
    ids = [item["id"] for item in inbound.get("media_fetch", [])]
    assert [item["url"] for item in inbound.get("media_fetch", [])] == [u for u in case.urls if u != EVIL]

    to_customer = [m for m in added if m["direction"] == "outbound" and m["kind"] in ("notification", "relay")]
    if case.kind is None:
        assert to_customer == []
        return
    (row,) = to_customer
    assert row["kind"] == case.kind and row["status"] == "pending"
    if case.body is not None:
        assert row["body"] == case.body
    if ids:
        # The pictures as they will be once fetched: the sender waits for this text's fetch.
        assert row["media"] == [{"id": media_id} for media_id in ids]
        assert row["media_wait_sid"] == inbound["twilio_sid"]
    else:
        assert row.get("media", []) == [] and row.get("media_wait_sid") is None


def test_a_move_that_changes_nothing_sends_no_picture(app: Harness) -> None:
    app.post(mms(D, f"ARRIVED {JOB}", ()))
    before = app.rows()
    assert replies_of(app.post(mms(D, f"ARRIVED {JOB}", (twilio_media(1),)))) == [
        "1001 is already arrived; nothing sent."
    ]
    assert [m["direction"] for m in app.rows().values() if m["id"] not in before] == ["inbound", "outbound"]


def test_the_status_api_still_sends_no_picture(app: Harness) -> None:
    response = app.client.post(f"/jobs/{JOB}/status", json={"status": "arrived"})
    assert response.status_code == 200
    row = next(m for m in app.rows().values() if m["id"] == response.json()["text"]["id"])
    assert "media_wait_sid" not in row and row.get("media", []) == []


# --- the message log as dashboards read it -------------------------------------------------------------


def test_every_message_shows_media_and_a_picture_sent_shows_its_dashboard_url(app: Harness) -> None:
    body = mms(D, f"DONE {JOB}", (twilio_media(1),))
    app.post(body)
    (media_id,) = [item["id"] for item in app.inbound(sid_of(body))["media_fetch"]]
    for listing in (
        app.client.get(f"/jobs/{JOB}/messages").json()["messages"],
        app.client.get("/messages", params={"phone": C}).json()["messages"],
    ):
        assert all(isinstance(m["media"], list) for m in listing)
        done = [m for m in listing if m["kind"] == "notification" and m["media"]]
        assert [m["media"] for m in done] == [
            [{"id": media_id, "type": None, "size": None, "url": f"https://sms.example.test/media/{media_id}"}]
        ]  # its type and size are known once the picture is fetched
    # The dispatcher's own text is in the job's conversation; its pictures are not kept yet.
    inbound = [m for m in app.client.get(f"/jobs/{JOB}/messages").json()["messages"] if m["direction"] == "inbound"]
    assert [m["media"] for m in inbound] == [[]]


# --- the grammar: a picture completes "R 1042" ---------------------------------------------------------


def test_r_with_no_words_is_complete_only_with_a_picture() -> None:
    assert parse("R 1042", ROLE, with_pictures=True) == ReplyTo("R 1042", ROLE, body="", job_id=1042)
    assert parse(f"R {S}", ROLE, with_pictures=True) == ReplyTo(f"R {S}", ROLE, body="", phone=S)
    assert isinstance(parse("R 1042", ROLE), Invalid)
    assert isinstance(parse("R", ROLE, with_pictures=True), Invalid)  # still: to whom?
    assert parse("R 1042 hi", ROLE, with_pictures=True) == parse("R 1042 hi", ROLE)
