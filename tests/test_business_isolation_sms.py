"""Two businesses, one customer: what each business's texts and webhooks can reach of the other's.

One deployment carries the default business and "acme" (tests/businesses.py): each
its own number, dispatcher, Twilio account, name and time zone; the same customer
has job 1001 at both, and a dispatcher works for both. Every test runs twice, each
business playing A (jobs 1001 and 1002) in turn, so each leak is looked for from
both sides.

The case table is in the style of tests/test_sms_webhook.py: one signed Twilio
request per case (after earlier texts, `given`), with the HTTP status, the TwiML
answer (read with ElementTree, matched whole so another business's job in it
fails the case), the log rows it adds to the business texted -- and, for every
case, the other business's jobs, texts and phone states exactly as they were,
and no word of the other business's data in the answer.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import respx

from tests.businesses import (
    ACME,
    ACME_ACCOUNT_SID,
    ACME_AUTH_TOKEN,
    CUSTOMER,
    DEFAULT,
    NOBODYS_NUMBER,
    OTHER_CUSTOMER,
    SHARED_DISPATCHER,
    SIDES,
    STRANGER,
    Business,
    World,
    call,
    drain_all,
    two_businesses,
)
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_ORIGIN,
    API_SECRET,
    PUBLIC_BASE_URL,
    FakeTwilio,
    basic_auth,
    message_json,
)

A, B, NOBODY = "A", "B", "nobody"
C, C2, DA, DB, DS, S = "C", "C2", "DA", "DB", "DS", "S"  # who texts: see World phones below


def phone_of(world: World, who: str) -> str:
    """A sender's phone: the shared customer, A's other customer, each side's own dispatcher, the
    dispatcher of both, a stranger."""
    return {
        C: CUSTOMER,
        C2: OTHER_CUSTOMER,
        DA: world.a.dispatcher,
        DB: world.b.dispatcher,
        DS: SHARED_DISPATCHER,
        S: STRANGER,
    }[who]


# --- expected log rows: (direction, kind, who, job_id, status) -------------------------------------

Row = tuple[str, str, str, int | None, str]
JOB = 1001


def got(kind: str, who: str, job: int | None = JOB) -> Row:
    return ("inbound", kind, who, job, "received")


def answered(who: str, job: int | None = JOB, kind: str = "command") -> tuple[Row, Row]:
    """A text understood and answered in TwiML (a reply is logged `sent`)."""
    return got(kind, who, job), ("outbound", "reply", who, job, "sent")


def queued(kind: str, who: str, job: int | None = JOB, status: str = "pending") -> Row:
    """A text queued to send (nothing sends here: it stays `pending`, or `skipped` when opted out)."""
    return ("outbound", kind, who, job, status)


def acked(who: str, job: int | None = JOB) -> Row:
    return ("outbound", "system", who, job, "sent")


def relayed(side: str, job: int | None = JOB) -> tuple[Row, Row]:
    """A customer's text relayed to the dispatchers of the business texted (its own and the shared one)."""
    return queued("relay", DA if side == A else DB, job), queued("relay", DS, job)


def free_text(side: str, who: str, job: int | None = JOB) -> tuple[Row, ...]:
    return got("text", who, job), *relayed(side, job), acked(who, job)


# --- expected answers: placeholders are the texted business's ------------------------------------

STATUS_1001 = "{name}: Job 1001 ({service}) is scheduled for Sat Jun 15, {clock}. Track: {url}"
TOKEN_OWNER = "{name}: Hi {first}, job 1001 ({service}) is scheduled for Sat Jun 15, {clock}. Track: {url}"
TOKEN_MISS = "{name}: That code doesn't match any job. Check the link in our texts, or text STATUS."
NO_OPEN_JOBS = "{name}: no open jobs for this number. Text the code from your tracking link, or call {phone}."
HELP = (
    "{name} job texts: text STATUS for your jobs, or reply to reach a person. "
    "To cancel a job text CANCEL JOB or call {phone}. Msg & data rates may apply. Text STOP to opt out."
)
ACK = "{name}: Thanks, we got your message. A person will reply soon. Urgent? Call {phone}."
OPTED_IN = "{name}: You're opted back in to job texts. Text HELP for help, STOP to opt out."
A_JOBS = (
    "Open jobs (2):\n1002 scheduled - Pat L., junk removal\n1001 scheduled for Sat Jun 15, {clock} - {short}, {service}"
)
B_JOBS = "Open jobs (1):\n1001 scheduled for Sat Jun 15, {clock} - {short}, {service}"
JOB_DETAIL = "1001 {customer}, {service}: scheduled for Sat Jun 15, {clock}.\n(512) 555-0199, {address}"
EN_ROUTE = "1001 -> en route. Customer texted."
EN_ROUTE_NOT_TEXTED = "1001 -> en route. Customer has opted out; not texted."
CANCELLED = "1001 -> cancelled. Customer texted."
NO_JOB_1002 = "No job 1002."


@dataclass(frozen=True)
class Case:
    label: str
    to: str  # A, B or NOBODY: whose number is texted
    sender: str  # C, C2, DA, DB, DS or S
    text: str  # {A1001} / {B1001}: that side's job 1001 token; {C}: the shared customer's phone
    key: str = "own"  # whose key signs it: "own" (the business texted), A or B
    status: int = 200
    replies: tuple[str, ...] = ()  # expected <Message> bodies, whole, placeholders filled in
    rows: tuple[Row, ...] = ()  # rows this text adds to the business texted, in any order
    given: tuple[tuple[str, str, str], ...] = ()  # earlier texts: (to, sender, text)
    job: dict[str, Any] = field(default_factory=lambda: {"status": "scheduled"})  # the texted side's 1001 after


STOP_AT_A = ((A, C, "STOP"),)
STOP_AT_B = ((B, C, "STOP"),)
CASES = [
    # --- the shared customer: each business answers with its own jobs only
    Case("STATUS to A: A's job alone", A, C, "STATUS", replies=(STATUS_1001,), rows=answered(C)),
    Case("STATUS to B: B's job alone", B, C, "STATUS", replies=(STATUS_1001,), rows=answered(C)),
    Case("STATUS to B from A's other customer: B knows no job of hers", B, C2, "STATUS", replies=(NO_OPEN_JOBS,),
         rows=answered(C2, None)),
    Case("A's token to A's number: the owner's answer", A, C, "{A1001}", replies=(TOKEN_OWNER,), rows=answered(C)),
    Case("B's token to B's number: the owner's answer", B, C, "{B1001}", replies=(TOKEN_OWNER,), rows=answered(C)),
    Case("A's token to B's number: doesn't match there", B, C, "{A1001}", replies=(TOKEN_MISS,), rows=answered(C)),
    Case("B's token to A's number: doesn't match there", A, C, "{B1001}", replies=(TOKEN_MISS,), rows=answered(C)),
    Case("A's token to B's number from a stranger: doesn't match", B, S, "{A1001}", replies=(TOKEN_MISS,),
         rows=answered(S, None)),
    Case("HELP to A: A's name and phone", A, C, "HELP", replies=(HELP,), rows=answered(C)),
    Case("HELP to B: B's name and phone", B, C, "HELP", replies=(HELP,), rows=answered(C)),
    Case("free text to A: to A's dispatchers alone", A, C, "Can you come before noon?", replies=(ACK,),
         rows=free_text(A, C)),
    Case("free text to B: to B's dispatchers alone", B, C, "Can you come before noon?", replies=(ACK,),
         rows=free_text(B, C)),
    # The acknowledgement's interval is kept per business: A's does not silence B's.
    Case("free text to B just after one to A: B acknowledges too", B, C, "Hello?", given=((A, C, "Hi A"),),
         replies=(ACK,), rows=free_text(B, C)),
    # --- opt-outs are per business
    Case("STOP to A: opted out at A, A's dispatchers told", A, C, "STOP", rows=(got("command", C), *relayed(A))),
    Case("after STOP to A, A answers nothing", A, C, "STATUS", given=STOP_AT_A,
         rows=(got("command", C), *relayed(A))),
    Case("after STOP to A, B still answers", B, C, "STATUS", given=STOP_AT_A, replies=(STATUS_1001,),
         rows=answered(C)),
    Case("after STOP to A, START to B is an ordinary text there", B, C, "START", given=STOP_AT_A, replies=(ACK,),
         rows=free_text(B, C)),
    Case("after STOP to A, START to A opts back in", A, C, "START", given=STOP_AT_A, replies=(OPTED_IN,),
         rows=(got("command", C), acked(C))),
    Case("after STOP to A, A's move is not texted", A, DA, "EN ROUTE 1001", given=STOP_AT_A,
         replies=(EN_ROUTE_NOT_TEXTED,), rows=(*answered(DA), queued("notification", C, status="skipped")),
         job={"status": "en_route"}),
    Case("after STOP to B, A's move is texted", A, DA, "EN ROUTE 1001", given=STOP_AT_B, replies=(EN_ROUTE,),
         rows=(*answered(DA), queued("notification", C)), job={"status": "en_route"}),
    Case("after STOP to A, B's move is texted", B, DB, "EN ROUTE 1001", given=STOP_AT_A, replies=(EN_ROUTE,),
         rows=(*answered(DB), queued("notification", C)), job={"status": "en_route"}),
    Case("after STOP to B, A's dispatcher's R to the phone is sent", A, DA, "R {C} Running late", given=STOP_AT_B,
         replies=(f"Sent to {CUSTOMER}.",), rows=(*answered(DA, None), queued("relay", C, None))),
    # --- dispatchers: their own business's jobs, through their own business's number
    Case("A's dispatcher moves A's 1001", A, DA, "EN ROUTE 1001", replies=(EN_ROUTE,),
         rows=(*answered(DA), queued("notification", C)), job={"status": "en_route"}),
    Case("B's dispatcher moves B's 1001", B, DB, "EN ROUTE 1001", replies=(EN_ROUTE,),
         rows=(*answered(DB), queued("notification", C)), job={"status": "en_route"}),
    Case("the shared dispatcher, to A's number, cancels A's 1001", A, DS, "CANCEL 1001", replies=(CANCELLED,),
         rows=(*answered(DS), queued("notification", C)), job={"status": "cancelled"}),
    Case("the shared dispatcher, to B's number, cancels B's 1001", B, DS, "CANCEL 1001", replies=(CANCELLED,),
         rows=(*answered(DS), queued("notification", C)), job={"status": "cancelled"}),
    Case("A's dispatcher to B's number is a customer there: nothing moves", B, DA, "EN ROUTE 1001", replies=(ACK,),
         rows=free_text(B, DA, None)),
    Case("B's dispatcher to A's number is a customer there: nothing moves", A, DB, "EN ROUTE 1001", replies=(ACK,),
         rows=free_text(A, DB, None)),
    Case("JOBS from A's dispatcher: A's open jobs", A, DA, "JOBS", replies=(A_JOBS,), rows=answered(DA, None)),
    Case("JOBS from B's dispatcher: B's open jobs", B, DB, "JOBS", replies=(B_JOBS,), rows=answered(DB, None)),
    Case("JOBS from the shared dispatcher to A's number: A's", A, DS, "JOBS", replies=(A_JOBS,),
         rows=answered(DS, None)),
    Case("JOBS from the shared dispatcher to B's number: B's", B, DS, "JOBS", replies=(B_JOBS,),
         rows=answered(DS, None)),
    Case("JOBS from A's dispatcher to B's number: a customer's text there", B, DA, "JOBS", replies=(ACK,),
         rows=free_text(B, DA, None)),
    Case("1001 from A's dispatcher: A's customer", A, DA, "1001", replies=(JOB_DETAIL,), rows=answered(DA)),
    Case("1001 from B's dispatcher: B's customer", B, DB, "1001", replies=(JOB_DETAIL,), rows=answered(DB)),
    Case("A's job 1002 from B's dispatcher: no such job", B, DB, "1002", replies=(NO_JOB_1002,),
         rows=answered(DB, None)),
    Case("a move of A's job 1002 by B's dispatcher: no such job", B, DB, "EN ROUTE 1002", replies=(NO_JOB_1002,),
         rows=answered(DB, None)),
    Case("R to A's job 1002 from B's dispatcher: no such job", B, DB, "R 1002 On our way", replies=(NO_JOB_1002,),
         rows=answered(DB, None)),
    Case("R 1001 from A's dispatcher: A's customer, from A's number", A, DA, "R 1001 Running late",
         replies=("Sent to Dana (1001).",), rows=(*answered(DA), queued("relay", C))),
    Case("R 1001 from B's dispatcher: B's customer, from B's number", B, DB, "R 1001 Running late",
         replies=("Sent to Dana (1001).",), rows=(*answered(DB), queued("relay", C))),
    Case("R to a phone from A's dispatcher: from A's number", A, DA, "R {C} Running late",
         replies=(f"Sent to {CUSTOMER}.",), rows=(*answered(DA, None), queued("relay", C, None))),
    Case("R to a phone from the shared dispatcher, to B's number: from B's number", B, DS, "R {C} Running late",
         replies=(f"Sent to {CUSTOMER}.",), rows=(*answered(DS, None), queued("relay", C, None))),
    # --- routing and keys: nothing stored anywhere
    Case("A's number signed with B's key: 403", A, C, "STATUS", key=B, status=403),
    Case("B's number signed with A's key: 403", B, C, "STATUS", key=A, status=403),
    Case("a move to A's number signed with B's key: 403, nothing moves", A, DA, "EN ROUTE 1001", key=B, status=403),
    Case("a move to B's number signed with A's key: 403, nothing moves", B, DB, "EN ROUTE 1001", key=A, status=403),
    Case("STOP to A's number signed with B's key: 403, not opted out", A, C, "STOP", key=B, status=403),
]  # fmt: skip


@pytest.mark.parametrize(
    ("signer", "status"),
    [("default", 404), ("acme", 403)],
    ids=["the deployment's key: 404", "a business's own key: 403, no hint which numbers are served"],
)
@pytest.mark.parametrize("text", ["STATUS", "EN ROUTE 1001"])
def test_a_number_nobody_owns_stores_nothing_and_tells_only_the_deployment(
    world: World, signer: str, status: int, text: str
) -> None:
    before = {business.slug: world.snapshot(business) for business in (world.a, world.b)}
    key = next(business.key for business in (world.a, world.b) if business.slug == signer)
    form = world.sms_form(NOBODYS_NUMBER, phone_of(world, DS), text)

    response = world.post_webhook("/twilio/sms", form, key)

    assert response.status_code == status
    assert response.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]
    assert {business.slug: world.snapshot(business) for business in (world.a, world.b)} == before


@pytest.fixture(params=list(SIDES))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with two_businesses(tmp_path, request.param) as world:
        yield world


def fill_text(world: World, text: str) -> str:
    return (
        text.replace("{A1001}", world.token(world.a)).replace("{B1001}", world.token(world.b)).replace("{C}", CUSTOMER)
    )


def expected(world: World, template: str, texted: Business) -> str:
    """A reply as the texted business words it: its name, phone, job 1001 and tracking link."""
    return template.format(
        name=texted.name,
        phone=texted.phone,
        service=texted.service,
        first=texted.first_name,
        short=texted.short_name,
        customer=texted.customer_name,
        address=texted.address,
        clock=texted.clock,
        url=f"https://sms.example.test/track?token={world.token(texted)}",
    )


def replies_of(response: httpx2.Response) -> list[str]:
    """The <Message> bodies of a TwiML answer."""
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("./Message")]


def send(world: World, to: str, sender: str, text: str, key: str = "own") -> httpx2.Response:
    number = NOBODYS_NUMBER if to == NOBODY else world.side(to).number
    signer = (world.side(to) if key == "own" else world.side(key)).key
    form = world.sms_form(number, phone_of(world, sender), fill_text(world, text))
    return world.post_webhook("/twilio/sms", form, signer)


def as_rows(world: World, messages: list[dict[str, Any]]) -> Counter[Row]:
    who = {phone_of(world, symbol): symbol for symbol in (C, C2, DA, DB, DS, S)}
    return Counter((m["direction"], m["kind"], who[m["phone"]], m["job_id"], m["status"]) for m in messages)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_a_text_reaches_only_the_business_texted(world: World, case: Case) -> None:
    for to, sender, text in case.given:
        assert send(world, to, sender, text).status_code == 200
    before = {business.slug: world.snapshot(business) for business in (world.a, world.b)}

    response = send(world, case.to, case.sender, case.text, case.key)

    assert response.status_code == case.status, response.text
    texted = world.side(case.to) if case.to != NOBODY else None
    untouched = [business for business in (world.a, world.b) if business != texted or case.status != 200]
    for business in untouched:
        assert world.snapshot(business) == before[business.slug], f"{business.slug}'s data changed"
    if case.status != 200:
        code = {403: "forbidden", 404: "not_found"}[case.status]
        assert response.json()["error"]["code"] == code
        return
    assert texted is not None
    other = world.other(texted)
    world.assert_nothing_of(other, response.text)

    replies = replies_of(response)
    assert replies == [expected(world, template, texted) for template in case.replies]
    added = [m for i, m in world.messages(texted).items() if i not in before[texted.slug]["messages"]]
    assert as_rows(world, added) == Counter(case.rows)
    # Everything it logged went through its own number, and nothing it said names the other business's
    # data (a text in is logged as the person typed it, whatever code it holds: that is the record).
    for message in added:
        ours = message["to"] if message["direction"] == "inbound" else message["from"]
        assert ours == texted.number, message
        if message["direction"] == "outbound":
            world.assert_nothing_of(other, message["body"])
    job = world.api(texted, "GET", "/jobs/1001").json()
    assert job["token"] == world.token(texted)
    assert {key: job[key] for key in case.job} == case.job


# --- beyond one text -----------------------------------------------------------------------------


def test_stop_at_one_business_leaves_the_others_texts_alone(world: World) -> None:
    """STOP to A: A's texts to the customer are skipped; B's still go out (queued `pending`); START at A
    brings A's back, and B never noticed."""
    a, b = world.a, world.b
    assert replies_of(world.text(a, CUSTOMER, "STOP")) == []

    moved_b = world.api(b, "POST", "/jobs/1001/status", json={"status": "en_route", "eta_minutes": 20})
    moved_a = world.api(a, "POST", "/jobs/1001/status", json={"status": "en_route", "eta_minutes": 20})
    assert moved_b.json()["text"] == {"id": moved_b.json()["text"]["id"], "status": "pending", "reason": None}
    assert moved_a.json()["text"]["status"] == "skipped"
    texted_b = world.api(b, "POST", "/jobs/1001/messages", json={"body": "Ten minutes out"})
    texted_a = world.api(a, "POST", "/jobs/1001/messages", json={"body": "Ten minutes out"})
    assert (texted_b.status_code, texted_b.json()["status"]) == (201, "pending")
    assert (texted_a.status_code, texted_a.json()["status"]) == (201, "skipped")
    assert call(world.client, world.store(a).is_opted_out, CUSTOMER)
    assert not call(world.client, world.store(b).is_opted_out, CUSTOMER)

    assert replies_of(world.text(a, CUSTOMER, "START")) == [expected(world, OPTED_IN, a)]
    arrived_a = world.api(a, "POST", "/jobs/1001/status", json={"status": "arrived"})
    assert arrived_a.json()["text"]["status"] == "pending"
    # B's customer texts: its booking, its move and its dashboard text, none skipped, none from A.
    to_customer = [m for m in world.messages(b).values() if m["direction"] == "outbound" and m["phone"] == CUSTOMER]
    assert [(m["kind"], m["status"], m["from"]) for m in to_customer] == [
        ("notification", "pending", b.number),
        ("notification", "pending", b.number),
        ("relay", "pending", b.number),
    ]


def test_each_business_words_its_texts_in_its_own_time_zone(world: World) -> None:
    """The same appointment (SCHEDULED_FOR, in UTC) is booked at each business's local time."""
    for business in (world.a, world.b):
        booking = next(
            m for m in world.messages(business).values() if m["kind"] == "notification" and m["job_id"] == JOB
        )
        assert business.name in booking["body"] and business.appointment in booking["body"], booking["body"]
        assert world.other(business).appointment not in booking["body"]


# --- sending and delivery reports: each business's own Twilio account ------------------------------


ACME_MESSAGES = f"{API_ORIGIN}/2010-04-01/Accounts/{ACME_ACCOUNT_SID}/Messages.json"


class AcmeTwilio:
    """acme's own Twilio account (another account SID, so another URL): accepts what it is sent."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.creates: list[httpx.Request] = []
        self._sids = (f"SM{n:032x}" for n in itertools.count(0xAC00))
        router.post(ACME_MESSAGES).mock(side_effect=self._create)

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.creates.append(request)
        return httpx.Response(201, json=message_json(next(self._sids), FakeTwilio.form(request)))


@dataclass
class Live:
    world: World
    accounts: dict[str, tuple[list[httpx.Request], str]]  # slug -> (its account's create requests, its auth)

    def sid_of(self, business: Business, job_id: int = JOB) -> str:
        """The Twilio SID of the booking text of the business's job."""
        rows = call(self.world.client, self.world.store(business).job_messages, job_id)
        (booking,) = [m for m in rows if m["kind"] == "notification"]
        assert booking["status"] == "queued" and booking["twilio_sid"], booking
        return str(booking["twilio_sid"])


@pytest.fixture(params=list(SIDES))
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """Both businesses sending, each through its own account (the default's: API key; acme's: auth token)."""
    with respx.mock(assert_all_called=False) as router:
        default_account, acme_account = FakeTwilio(router), AcmeTwilio(router)
        with two_businesses(tmp_path, request.param, RUN_SENDER="true") as world:
            drain_all(world.client)
            yield Live(
                world,
                {
                    DEFAULT.slug: (default_account.creates, basic_auth(API_KEY, API_SECRET)),
                    ACME.slug: (acme_account.creates, basic_auth(ACME_ACCOUNT_SID, ACME_AUTH_TOKEN)),
                },
            )


def test_each_business_sends_through_its_own_account_from_its_own_number(live: Live) -> None:
    world = live.world
    world.api(world.b, "POST", "/jobs/1001/messages", json={"body": "Ten minutes out"})
    assert world.text(world.a, world.a.dispatcher, "R 1001 Running late").status_code == 200
    drain_all(world.client)

    sent = {slug: [(FakeTwilio.form(r), r.headers["authorization"]) for r in creates]
            for slug, (creates, _) in live.accounts.items()}  # fmt: skip
    expected_to = {world.a.slug: [CUSTOMER, OTHER_CUSTOMER, CUSTOMER], world.b.slug: [CUSTOMER, CUSTOMER]}
    for business in (world.a, world.b):
        _, auth = live.accounts[business.slug]
        forms = sent[business.slug]
        assert sorted(form["To"] for form, _ in forms) == sorted(expected_to[business.slug])
        for form, used in forms:
            assert used == auth
            assert form["From"] == business.number
            assert form["StatusCallback"].startswith(f"{PUBLIC_BASE_URL}/twilio/{business.slug}/status?m=")
            world.assert_nothing_of(world.other(business), form["Body"])
        bookings = [form["Body"] for form, _ in forms if "booked" in form["Body"]]
        assert len(bookings) == len(expected_to[business.slug]) - 1
        assert all(body.startswith(business.name + ": ") for body in bookings)
    assert [form["Body"] for form, _ in sent[world.a.slug]].count("Running late") == 1
    assert [form["Body"] for form, _ in sent[world.b.slug]].count("Ten minutes out") == 1


@dataclass(frozen=True)
class Report:
    label: str
    about: str  # A or B: whose message the callback names ("unknown": a SID nobody has, From B's number)
    key: str  # A or B: whose key signs it
    status: int
    fields: dict[str, str] = field(default_factory=lambda: {"MessageStatus": "delivered"})
    applied: dict[str, Any] = field(default_factory=dict)  # the message's fields afterwards, when applied


UNKNOWN = "unknown"
REPORTS = [
    Report("A's text, signed with A's key: applied at A", A, A, 204, applied={"status": "delivered"}),
    Report("B's text, signed with B's key: applied at B", B, B, 204, applied={"status": "delivered"}),
    Report("A's text, signed with B's key: 403", A, B, 403),
    Report("B's text, signed with A's key: 403", B, A, 403),
    Report("A's text refused by its carrier (21610), A's key: opted out at A alone", A, A, 204,
           fields={"MessageStatus": "undelivered", "ErrorCode": "21610"},
           applied={"status": "undelivered", "error_code": 21610}),
    Report("21610 for A's text signed with B's key: 403, nobody opted out", A, B, 403,
           fields={"MessageStatus": "undelivered", "ErrorCode": "21610"}),
    Report("a SID nobody has, from B's number, B's key: 204, nothing changes", UNKNOWN, B, 204),
    Report("a SID nobody has, from B's number, A's key: 403", UNKNOWN, A, 403),
]  # fmt: skip


@pytest.mark.parametrize("report", REPORTS, ids=[report.label for report in REPORTS])
def test_a_status_callback_is_checked_and_applied_by_the_business_whose_text_it_names(
    live: Live, report: Report
) -> None:
    world = live.world
    about = world.b if report.about == UNKNOWN else world.side(report.about)
    sid = "SM" + "0f" * 16 if report.about == UNKNOWN else live.sid_of(about)
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACME_ACCOUNT_SID if about == ACME else ACCOUNT_SID,
        "From": about.number,
        "To": CUSTOMER,
        "ApiVersion": "2010-04-01",
        **report.fields,
    }
    before = {business.slug: world.snapshot(business) for business in (world.a, world.b)}

    response = world.post_webhook("/twilio/status", form, world.side(report.key).key)

    assert response.status_code == report.status, response.text
    for business in (world.a, world.b):
        if business == about and report.applied:
            continue
        assert world.snapshot(business) == before[business.slug], f"{business.slug}'s data changed"
    if not report.applied:
        return
    message = call(world.client, world.store(about).find_message_by_sid, sid)
    assert {key: message[key] for key in report.applied} == report.applied
    changed = world.snapshot(about)
    assert changed["jobs"] == before[about.slug]["jobs"]
    opted_out = report.fields.get("ErrorCode") == "21610"
    assert call(world.client, world.store(about).is_opted_out, CUSTOMER) is opted_out
    assert not call(world.client, world.store(world.other(about)).is_opted_out, CUSTOMER)


def test_replies_carry_no_word_of_the_other_business(world: World) -> None:
    """Belt and braces over the table: every kind of answer, to both numbers, checked for the other's data."""
    texts = ["STATUS", "HELP", "{A1001}", "{B1001}", "where is the truck?"]
    for business in (world.a, world.b):
        for text in texts:
            answer = " ".join(replies_of(world.text(business, CUSTOMER, fill_text(world, text))))
            world.assert_nothing_of(world.other(business), answer)
        for command in ("JOBS", "1001", "R 1001 hello", "EN ROUTE 1001 20"):
            answer = " ".join(replies_of(world.text(business, SHARED_DISPATCHER, command)))
            world.assert_nothing_of(world.other(business), answer)
