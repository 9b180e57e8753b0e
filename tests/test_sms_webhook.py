"""POST /twilio/sms: raw Twilio bodies, signed with the real algorithm, one table of cases.

In the style of nyaruka/courier's handlers/twiml/handlers_test.go: each case
is one request (after optional earlier texts, `given`), with the HTTP status,
the TwiML <Message> bodies (read with ElementTree, never by substring) and the
message-log rows it adds (direction, kind, phone, job_id, status) once the
sender is idle. The app runs in console mode (no Twilio settings), so
queued texts end `sent`, or `skipped` for an opted-out phone.
"""

from __future__ import annotations

import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx2 as httpx  # what Starlette's TestClient answers with
import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.conversation import guards
from bot.jobs import iso_utc
from bot.redaction import redact
from bot.segments import count_segments
from config.settings import Settings, load_settings
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.twilio_fake import drain
from web.app import create_app

C = CUSTOMER  # Dana Whitfield, the customer of job 1001
D = DISPATCHER
D2 = "+15125550101"  # a second dispatcher: relays go to each one
S = "+15125550111"  # a stranger: no job, not a dispatcher
PHONES = (C, D, D2, S)
BUSINESS_NUMBER = "+15125550123"  # the Twilio number people text (To)
ACCOUNT_SID = "AC" + "3f" * 16
MESSAGING_SERVICE_SID = "MG" + "4e" * 16
JOB = 1001
SECOND_JOB = 1002

# --- raw Twilio bodies ---------------------------------------------------------

# Exactly what Twilio POSTs for an inbound SMS (field order included), here from the customer.
RECEIVE_STATUS = (
    "ToCountry=US&ToState=TX&SmsMessageSid=SM5f3b6c2e1d0a4f9e8b7c6d5e4f3a2b1c&NumMedia=0&ToCity=AUSTIN"
    "&FromZip=78731&SmsSid=SM5f3b6c2e1d0a4f9e8b7c6d5e4f3a2b1c&FromState=TX&SmsStatus=received&FromCity=AUSTIN"
    "&Body=STATUS&FromCountry=US&To=%2B15125550123&MessagingServiceSid=MG4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e"
    "&ToZip=78701&NumSegments=1&MessageSid=SM5f3b6c2e1d0a4f9e8b7c6d5e4f3a2b1c"
    "&AccountSid=AC3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f&From=%2B15125550199&ApiVersion=2010-04-01"
)
# A picture with no words: Twilio's MMS fields, an MM sid, an empty Body.
RECEIVE_MMS_ONLY = (
    "ToCountry=US&MediaContentType0=image%2Fjpeg&ToState=TX&SmsMessageSid=MM8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
    "&NumMedia=1&ToCity=AUSTIN&FromZip=78731&SmsSid=MM8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d&FromState=TX"
    "&SmsStatus=received&FromCity=AUSTIN&Body=&FromCountry=US&To=%2B15125550123"
    "&MessagingServiceSid=MG4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e&ToZip=78701&NumSegments=1"
    "&MessageSid=MM8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d&AccountSid=AC3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f"
    "&From=%2B15125550199&ApiVersion=2010-04-01"
    "&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f"
    "%2FMessages%2FMM8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d%2FMedia%2FME1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
)

_sids = iter(range(0x1000, 0x100000))


def inbound(sender: str, text: str, *, drop: tuple[str, ...] = (), **extra: str) -> str:
    """RECEIVE_STATUS with another sender, text and a fresh MessageSid; `drop` leaves fields out."""
    sid = f"SM{next(_sids):032x}"
    count = count_segments(text)
    replaced = {
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "MessageSid": sid,
        "From": sender,
        "Body": text,
        "NumSegments": str(max(1, count.segments)),
    }
    fields = [(key, replaced.get(key, value)) for key, value in parse_qsl(RECEIVE_STATUS, keep_blank_values=True)]
    fields = [(key, value) for key, value in fields if key not in drop] + list(extra.items())
    return urlencode(fields)


STATUS_FROM_CUSTOMER = RECEIVE_STATUS
STATUS_POLITELY = inbound(C, "  Status please? ")
WHATS_MY_STATUS = inbound(C, "what's my status")
STATUS_FROM_STRANGER = inbound(S, "STATUS")
TOKEN_FROM_CUSTOMER = inbound(C, "{token}")
TOKEN_LOOSE_FROM_CUSTOMER = inbound(C, "  {token_loose} ")
TOKEN_FROM_STRANGER = inbound(S, "{token}")
UNKNOWN_TOKEN = inbound(C, "K7M2-9XPQ-2HTR-4VWA-C3DF")
HELP_FROM_CUSTOMER = inbound(C, "HELP", OptOutType="HELP")
INFO_FROM_CUSTOMER = inbound(C, "info")
STOP_FROM_CUSTOMER = inbound(C, "STOP", OptOutType="STOP")
START_FROM_CUSTOMER = inbound(C, "START", OptOutType="START")
FREE_TEXT = inbound(C, "Can you come before noon? Gate code is 4512")
CANCEL_JOB_REQUEST = inbound(C, "Please cancel my job, we don't need it anymore")
EMOJI_TEXT = inbound(C, "Thanks!! 👍🚛 see you soon 😊")
LONG_TEXT = inbound(C, ("The pile is behind the garage, next to the fence. " * 40)[:1600])
CONTROL_CHARACTERS = inbound(C, "STATUS\x00\x07\r\n")
EN_ROUTE_FROM_STRANGER = inbound(S, f"EN ROUTE {JOB}")
EN_ROUTE_FROM_CUSTOMER = inbound(C, f"EN ROUTE {JOB} 20")

EN_ROUTE = inbound(D, f"EN ROUTE {JOB}")
ENROUTE_WITH_ETA = inbound(D, f"ENROUTE {JOB} 20")
ETA_AFTER_THE_JOB = inbound(D, f"{JOB} en route eta 20")
OMW = inbound(D, f"OMW {JOB}")
ARRIVED = inbound(D, f"ARRIVED {JOB}")
HERE = inbound(D, f"HERE {JOB}")
DONE = inbound(D, f"DONE {JOB}")
COMPLETE_WITH_TOTAL = inbound(D, f"COMPLETE {JOB} 350")
DONE_WITH_DOLLARS = inbound(D, f"done {JOB} $1,200.00")
CANCEL_THE_JOB = inbound(D, f"CANCEL {JOB}")
EN_ROUTE_NO_SUCH_JOB = inbound(D, "EN ROUTE 1043")
JOBS = inbound(D, "JOBS")
STATUS_FROM_DISPATCHER = inbound(D, "STATUS")
SHOW_JOB = inbound(D, f"{JOB}")
STATUS_OF_JOB = inbound(D, f"STATUS {JOB}")
R_TO_JOB = inbound(D, f"R {JOB} Running 10 min late, sorry!")
REPLY_TO_JOB = inbound(D, f"REPLY {JOB} Running 10 min late, sorry!")
R_TO_PHONE = inbound(D, f"R {S} Wrong number? This is QuickDumpNow.")
R_WITHOUT_TEXT = inbound(D, f"R {JOB}")
HELP_FROM_DISPATCHER = inbound(D, "HELP")
GIBBERISH_FROM_DISPATCHER = inbound(D, "what's for lunch")
CANCEL_FROM_DISPATCHER = inbound(D, "CANCEL")
NOT_XML_SAFE = inbound(D, f"DONE {JOB} x\uffff")

NO_FROM = inbound(C, "STATUS", drop=("From",))
NO_TO = inbound(C, "STATUS", drop=("To",))
NO_MESSAGE_SID = inbound(C, "STATUS", drop=("MessageSid",))
FROM_NOT_A_PHONE = inbound("+1", "STATUS")

# --- expected answers (placeholders: {url}, {url2} tracking links; {clock} a local time) ------

BIZ = "QuickDumpNow"
STATUS_1001 = BIZ + ": Job 1001 (junk removal) is scheduled. Track: {url}"
STATUS_1001_EN_ROUTE = BIZ + ": Job 1001 (junk removal) is en route, ETA {clock}. Track: {url}"
STATUS_TWO_JOBS = (
    BIZ + ": your open jobs, soonest first:\n"
    "1002 dumpster delivery: scheduled. {url2}\n"
    "1001 junk removal: scheduled. {url}"
)
NO_OPEN_JOBS = BIZ + ": no open jobs for this number. Text the code from your tracking link, or call (512) 555-0123."
TOKEN_OWNER = BIZ + ": Hi Dana, job 1001 (junk removal) is scheduled. Track: {url}"
TOKEN_OTHER = BIZ + ": That junk removal job is scheduled. Track: {url}"
TOKEN_MISS = BIZ + ": That code doesn't match any job. Check the link in our texts, or text STATUS."
HELP = (
    BIZ + " job texts: text STATUS for your jobs, or reply to reach a person. "
    "To cancel a job text CANCEL JOB or call (512) 555-0123. Msg & data rates may apply. Text STOP to opt out."
)
ACK = BIZ + ": Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."
ACK_CANCEL = BIZ + ": Thanks, we got your cancel request. A person will confirm soon. Urgent? Call (512) 555-0123."
OPTED_IN = BIZ + ": You're opted back in to job texts. Text HELP for help, STOP to opt out."
EN_ROUTE_20 = "1001 -> en route (ETA 20 min). Customer texted."
JOB_DETAIL = "1001 Dana Whitfield, junk removal: scheduled.\n(512) 555-0199, 4512 Ridgeview Dr, Austin, TX 78731"
OPEN_JOBS = "Open jobs (1):\n1001 scheduled - Dana W., junk removal"
COMMANDS = (
    "EN ROUTE 1042 20, ARRIVED 1042, DONE 1042 350, CANCEL 1042, JOBS, TODAY, TOMORROW, 1042, "
    "R 1042 <text>, R <phone> <text>."
)

# --- expected log rows ---------------------------------------------------------

Row = tuple[str, str, str, int | None, str]


def got(kind: str, phone: str, job: int | None = JOB) -> Row:
    """An inbound text as logged."""
    return ("inbound", kind, phone, job, "received")


def sent(kind: str, phone: str, job: int | None = JOB, status: str = "sent") -> Row:
    """An outbound text (a TwiML reply, or a queued text once the queue is idle)."""
    return ("outbound", kind, phone, job, status)


def relayed(job: int | None = JOB, status: str = "sent") -> tuple[Row, Row]:
    """The relay of a customer's text: one to each dispatcher."""
    return sent("relay", D, job, status), sent("relay", D2, job, status)


def answered(phone: str, job: int | None = JOB, kind: str = "command") -> tuple[Row, Row]:
    """A text understood and answered with a TwiML reply."""
    return got(kind, phone, job), sent("reply", phone, job)


def move(status: str) -> dict[str, Any]:
    return {"status": status}


# --- the case table --------------------------------------------------------------

VALID, MISSING, EMPTY, WRONG_KEY, INTERNAL_URL = "valid", "missing", "empty", "wrong key", "internal URL"
NEW_JOB = "a second open job for the customer (dumpster delivery, 1002)"


@dataclass(frozen=True)
class Case:
    label: str
    body: str  # the raw form body Twilio posts
    signature: str = VALID
    status: int = 200
    replies: tuple[str, ...] = ()  # expected <Message> bodies, in order
    rows: tuple[Row, ...] = ()  # log rows this request adds, in any order
    given: tuple[Any, ...] = ()  # earlier signed texts (phone, text), or NEW_JOB
    job: dict[str, Any] = field(default_factory=lambda: {"status": "scheduled"})  # job 1001 afterwards
    deliveries: int = 1  # Twilio delivering the same body again (same MessageSid)
    query: str = ""  # the query string of the webhook URL configured at Twilio
    via_proxy: bool = False  # posted to an internal http:// address with X-Forwarded-* headers
    content_type: str = "application/x-www-form-urlencoded"


STOPPED = ((C, "STOP"),)
# Numbers in form fields as no Twilio request carries them; each must read as absent.
ODD_NUMBERS = {
    "in superscript digits (²)": "²",
    "in Arabic-Indic digits (٣)": "٣",
    "in fullwidth digits (１)": "１",
    "of 5,000 digits": "7" * 5000,
    "negative": "-1",
}
CASES = [
    # --- customers: STATUS
    Case("customer STATUS", STATUS_FROM_CUSTOMER, replies=(STATUS_1001,), rows=answered(C)),
    Case("STATUS with spaces, a polite word and a question mark", STATUS_POLITELY, replies=(STATUS_1001,),
         rows=answered(C)),
    Case("what's my status", WHATS_MY_STATUS, replies=(STATUS_1001,), rows=answered(C)),
    Case("STATUS, two open jobs, no appointments: newest first, logged on it", STATUS_FROM_CUSTOMER, given=(NEW_JOB,),
         replies=(STATUS_TWO_JOBS,), rows=answered(C, SECOND_JOB)),
    Case("STATUS while en route shows the ETA as a clock time", STATUS_FROM_CUSTOMER,
         given=((D, f"EN ROUTE {JOB} 20"),), replies=(STATUS_1001_EN_ROUTE,), rows=answered(C),
         job={"status": "en_route", "eta_minutes": 20}),
    Case("STATUS from a number with no jobs", STATUS_FROM_STRANGER, replies=(NO_OPEN_JOBS,), rows=answered(S, None)),
    # --- customers: tokens
    Case("token from the job's customer", TOKEN_FROM_CUSTOMER, replies=(TOKEN_OWNER,), rows=answered(C)),
    Case("token in lower case with spaces", TOKEN_LOOSE_FROM_CUSTOMER, replies=(TOKEN_OWNER,), rows=answered(C)),
    Case("token from another number: status only, kept out of the job", TOKEN_FROM_STRANGER, replies=(TOKEN_OTHER,),
         rows=answered(S, None)),
    Case("unknown token", UNKNOWN_TOKEN, replies=(TOKEN_MISS,), rows=answered(C)),
    # --- customers: HELP / INFO
    Case("HELP", HELP_FROM_CUSTOMER, replies=(HELP,), rows=answered(C)),
    Case("INFO", INFO_FROM_CUSTOMER, replies=(HELP,), rows=answered(C)),
    # --- customers: opt-out and opt-in
    Case("STOP: empty TwiML, dispatchers told", STOP_FROM_CUSTOMER, rows=(got("command", C), *relayed())),
    *[
        Case(f"{word} opts out", inbound(C, word), rows=(got("command", C), *relayed()))
        for word in ("STOPALL", "unsubscribe", "CANCEL", "End", "QUIT", "revoke", "OPTOUT", "  Stop. ")
    ],
    Case("STOP again: no news for dispatchers", STOP_FROM_CUSTOMER, given=STOPPED, rows=(got("command", C),)),
    Case("a status change after STOP texts nothing", ARRIVED, given=STOPPED,
         replies=("1001 -> arrived. Customer has opted out; not texted.",),
         rows=(*answered(D), sent("notification", C, status="skipped")), job=move("arrived")),
    Case("text from an opted-out number: logged and relayed, no answer", FREE_TEXT, given=STOPPED,
         rows=(got("text", C), *relayed())),
    Case("STATUS from an opted-out number: no answer", STATUS_FROM_CUSTOMER, given=STOPPED,
         rows=(got("command", C), *relayed())),
    Case("START after STOP: confirmation", START_FROM_CUSTOMER, given=STOPPED, replies=(OPTED_IN,),
         rows=(got("command", C), sent("system", C))),
    *[
        Case(f"{word} after STOP opts in", inbound(C, word), given=STOPPED, replies=(OPTED_IN,),
             rows=(got("command", C), sent("system", C)))
        for word in ("UNSTOP", "yes")
    ],
    Case("after START texts resume", ARRIVED, given=((C, "STOP"), (C, "START")),
         replies=("1001 -> arrived. Customer texted.",), rows=(*answered(D), sent("notification", C)),
         job=move("arrived")),
    Case("START when not opted out is ordinary text", START_FROM_CUSTOMER, replies=(ACK,),
         rows=(got("text", C), *relayed(), sent("system", C))),
    # --- customers: anything else
    Case("free text: relayed to each dispatcher, acknowledged", FREE_TEXT, replies=(ACK,),
         rows=(got("text", C), *relayed(), sent("system", C))),
    Case("second free text within ACK_INTERVAL_HOURS: relayed, not acknowledged", FREE_TEXT,
         given=((C, "Is the driver close?"),), rows=(got("text", C), *relayed())),
    Case("a cancel request in words", CANCEL_JOB_REQUEST, replies=(ACK_CANCEL,),
         rows=(got("text", C), *relayed(), sent("system", C))),
    Case("free text from a number with no job", inbound(S, "hi, do you take mattresses?"), replies=(ACK,),
         rows=(got("text", S, None), *relayed(None), sent("system", S, None))),
    Case("emoji", EMOJI_TEXT, replies=(ACK,), rows=(got("text", C), *relayed(), sent("system", C))),
    Case("1,600 characters", LONG_TEXT, replies=(ACK,), rows=(got("text", C), *relayed(), sent("system", C))),
    Case("control characters around STATUS", CONTROL_CHARACTERS, replies=(STATUS_1001,), rows=answered(C)),
    # A picture Twilio announces but gives no URL for: nothing to fetch, the dispatchers still hear of it.
    # (Pictures that are fetched, and the relays that wait for them: tests/test_sms_media.py.)
    Case("a picture with no words and no URL: relayed to dispatchers", inbound(C, "", drop=("NumMedia",), NumMedia="1"),
         replies=(ACK,), rows=(got("text", C), *relayed(), sent("system", C))),
    # NumMedia as Twilio never sends it (digits str.isdigit() accepts but int() refuses, or more
    # digits than int() parses): no picture count, never a 500.
    *[
        Case(f"NumMedia {label}, no words: a text with no pictures", inbound(C, "", drop=("NumMedia",), NumMedia=value),
             replies=(ACK,), rows=(got("text", C), *relayed(), sent("system", C)))
        for label, value in ODD_NUMBERS.items()
    ],
    Case("EN ROUTE from a stranger is free text; the job stays", EN_ROUTE_FROM_STRANGER, replies=(ACK,),
         rows=(got("text", S, None), *relayed(None), sent("system", S, None))),
    Case("EN ROUTE from the customer is free text; the job stays", EN_ROUTE_FROM_CUSTOMER, replies=(ACK,),
         rows=(got("text", C), *relayed(), sent("system", C))),
    # --- dispatchers: moves (one notification each)
    Case("EN ROUTE", EN_ROUTE, replies=("1001 -> en route. Customer texted.",),
         rows=(*answered(D), sent("notification", C)), job={"status": "en_route", "eta_minutes": None}),
    Case("ENROUTE with an ETA", ENROUTE_WITH_ETA, replies=(EN_ROUTE_20,),
         rows=(*answered(D), sent("notification", C)), job={"status": "en_route", "eta_minutes": 20}),
    Case("job first, then en route eta", ETA_AFTER_THE_JOB, replies=(EN_ROUTE_20,),
         rows=(*answered(D), sent("notification", C)), job={"status": "en_route", "eta_minutes": 20}),
    Case("OMW", OMW, replies=("1001 -> en route. Customer texted.",), rows=(*answered(D), sent("notification", C)),
         job=move("en_route")),
    Case("EN ROUTE again with a new ETA texts the new one", inbound(D, f"EN ROUTE {JOB} 35"),
         given=((D, f"EN ROUTE {JOB} 20"),), replies=("1001 -> en route (ETA 35 min). Customer texted.",),
         rows=(*answered(D), sent("notification", C)), job={"status": "en_route", "eta_minutes": 35}),
    Case("EN ROUTE again with no ETA changes nothing", EN_ROUTE, given=((D, f"EN ROUTE {JOB} 20"),),
         replies=("1001 is already en route (ETA 20 min); nothing sent.",), rows=answered(D),
         job={"status": "en_route", "eta_minutes": 20}),
    Case("ARRIVED", ARRIVED, replies=("1001 -> arrived. Customer texted.",),
         rows=(*answered(D), sent("notification", C)), job={"status": "arrived", "eta_minutes": None}),
    Case("HERE", HERE, replies=("1001 -> arrived. Customer texted.",), rows=(*answered(D), sent("notification", C)),
         job=move("arrived")),
    Case("DONE", DONE, replies=("1001 -> complete. Customer texted.",), rows=(*answered(D), sent("notification", C)),
         job={"status": "complete", "total": None}),
    Case("COMPLETE with a total", COMPLETE_WITH_TOTAL, replies=("1001 -> complete ($350.00). Customer texted.",),
         rows=(*answered(D), sent("notification", C)), job={"status": "complete", "total": 350}),
    Case("done with $1,200.00 records the total", DONE_WITH_DOLLARS,
         replies=("1001 -> complete ($1,200.00). Customer texted.",), rows=(*answered(D), sent("notification", C)),
         job={"status": "complete", "total": 1200}),
    Case("CANCEL a job", CANCEL_THE_JOB, replies=("1001 -> cancelled. Customer texted.",),
         rows=(*answered(D), sent("notification", C)), job=move("cancelled")),
    Case("a refused move says why and texts nobody", EN_ROUTE, given=((D, f"DONE {JOB}"),),
         replies=("1001 is complete; it can't go en route.",), rows=answered(D), job=move("complete")),
    Case("a move back is refused", OMW, given=((D, f"ARRIVED {JOB}"),),
         replies=("1001 has arrived; it can't go back to en route.",), rows=answered(D), job=move("arrived")),
    Case("no such job", EN_ROUTE_NO_SUCH_JOB, replies=("No job 1043.",), rows=answered(D, None)),
    # --- dispatchers: lookups, relays, help
    Case("JOBS", JOBS, replies=(OPEN_JOBS,), rows=answered(D, None)),
    Case("STATUS from a dispatcher lists open jobs", STATUS_FROM_DISPATCHER,
         replies=(OPEN_JOBS,), rows=answered(D, None)),
    Case("a job number", SHOW_JOB,
         replies=(JOB_DETAIL,),
         rows=answered(D)),
    Case("STATUS and a job number", STATUS_OF_JOB,
         replies=(JOB_DETAIL,),
         rows=answered(D)),
    Case("R to a job's customer", R_TO_JOB, replies=("Sent to Dana (1001).",), rows=(*answered(D), sent("relay", C))),
    Case("REPLY to a job's customer", REPLY_TO_JOB, replies=("Sent to Dana (1001).",),
         rows=(*answered(D), sent("relay", C))),
    Case("R to a phone", R_TO_PHONE, replies=(f"Sent to {S}.",), rows=(*answered(D, None), sent("relay", S, None))),
    Case("R to an opted-out customer", R_TO_JOB, given=STOPPED, replies=("Customer has opted out; not texted.",),
         rows=(*answered(D), sent("relay", C, status="skipped"))),
    Case("R with no text", R_WITHOUT_TEXT, replies=("What should it say? e.g. R 1042 Running 10 min late",),
         rows=answered(D, None)),
    Case("dispatcher HELP", HELP_FROM_DISPATCHER, replies=("Commands: " + COMMANDS,), rows=answered(D, None)),
    Case("dispatcher text not understood", GIBBERISH_FROM_DISPATCHER,
         replies=("Didn't understand. Commands: " + COMMANDS,), rows=answered(D, None, kind="text")),
    Case("a dispatcher's bare CANCEL opts that phone out", CANCEL_FROM_DISPATCHER, rows=(got("command", D, None),)),
    Case("relays skip an opted-out dispatcher", FREE_TEXT, given=((D, "CANCEL"),), replies=(ACK,),
         rows=(got("text", C), sent("relay", D, status="skipped"), sent("relay", D2), sent("system", C))),
    Case("an answer with a character XML cannot carry", NOT_XML_SAFE,
         replies=('Didn\'t understand "x". e.g. DONE 1042 350',), rows=answered(D, None)),
    # --- signatures: 403 and nothing stored
    Case("missing signature", STATUS_FROM_CUSTOMER, signature=MISSING, status=403),
    Case("empty signature", STATUS_FROM_CUSTOMER, signature=EMPTY, status=403),
    Case("signed with another key", STATUS_FROM_CUSTOMER, signature=WRONG_KEY, status=403),
    Case("signed over the internal URL", STATUS_FROM_CUSTOMER, signature=INTERNAL_URL, status=403),
    Case("a move with a bad signature moves nothing", EN_ROUTE, signature=WRONG_KEY, status=403),
    Case("no params, unsigned", "", signature=MISSING, status=403),
    # --- proxies and query strings: the URL Twilio called is what counts
    Case("behind a proxy: the app sees http://10.0.0.7:8000", STATUS_FROM_CUSTOMER, via_proxy=True,
         replies=(STATUS_1001,), rows=answered(C)),
    Case("a webhook URL with a query string", STATUS_FROM_CUSTOMER, query="site=austin&v=2", replies=(STATUS_1001,),
         rows=answered(C)),
    # --- malformed: 400 and nothing stored
    Case("no params, signed", "", status=400),
    Case("no From", NO_FROM, status=400),
    Case("no To", NO_TO, status=400),
    Case("no MessageSid", NO_MESSAGE_SID, status=400),
    Case("From is not a phone number", FROM_NOT_A_PHONE, status=400),
    Case("not a form", '{"Body": "STATUS"}', status=400, content_type="application/json"),
    Case("broken percent-escape", RECEIVE_STATUS.replace("Body=STATUS", "Body=%E2%9C"), status=400),
    # --- the same delivery twice: logged and acted on once, answered the same
    Case("duplicate customer text", FREE_TEXT, deliveries=2, replies=(ACK,),
         rows=(got("text", C), *relayed(), sent("system", C))),
    Case("duplicate dispatcher move", ENROUTE_WITH_ETA, deliveries=2,
         replies=(EN_ROUTE_20,), rows=(*answered(D), sent("notification", C)),
         job={"status": "en_route", "eta_minutes": 20}),
    Case("duplicate STOP", STOP_FROM_CUSTOMER, deliveries=2, rows=(got("command", C), *relayed())),
]  # fmt: skip


# --- the harness ---------------------------------------------------------------------


class Harness:
    """An app in console mode with job 1001 (Dana, junk removal) and two dispatchers."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.tokens: dict[int, str] = {}

    @property
    def signing_key(self) -> str:
        return str(self.settings.webhook_secret)

    def new_job(self, **overrides: Any) -> dict[str, Any]:
        job = self.client.post("/jobs", json=job_body(**overrides)).json()
        self.tokens[job["id"]] = job["token"]
        drain(self.client)
        return job

    def fill_in(self, body: str) -> list[tuple[str, str]]:
        """The body's fields with the job's real token where the constant has a placeholder."""
        token = self.tokens[JOB]
        loose = token.lower().replace("-", " ")
        return [
            (key, value.replace("{token}", token).replace("{token_loose}", loose))
            for key, value in parse_qsl(body, keep_blank_values=True)
        ]

    def post(self, case: Case) -> httpx.Response:
        form = case.content_type == "application/x-www-form-urlencoded"
        fields = self.fill_in(case.body) if form else []
        # The body goes out byte for byte as the constant has it, unless a token had to be filled in.
        raw = urlencode(fields) if "%7Btoken" in case.body else case.body
        path = "/twilio/sms" + (f"?{case.query}" if case.query else "")
        public_url = self.settings.public_base_url + path
        headers = {"Content-Type": case.content_type}
        if case.signature == VALID:
            headers["X-Twilio-Signature"] = self.sign(public_url, dict(fields))
        elif case.signature == EMPTY:
            headers["X-Twilio-Signature"] = ""
        elif case.signature == WRONG_KEY:
            headers["X-Twilio-Signature"] = RequestValidator("not-the-key").compute_signature(public_url, dict(fields))
        elif case.signature == INTERNAL_URL:
            headers["X-Twilio-Signature"] = self.sign("http://testserver" + path, dict(fields))
        url = path
        if case.via_proxy:
            # What a TLS-terminating proxy hands the app: plain http to an internal address.
            url = "http://10.0.0.7:8000" + path
            headers |= {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": "54.172.60.1",
                "X-Forwarded-Host": "sms.example.test",
            }
        return self.client.post(url, content=raw.encode(), headers=headers)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.signing_key).compute_signature(url, params)

    def text(self, phone: str, words: str) -> httpx.Response:
        """A signed text from `phone` with a fresh MessageSid (drained afterwards)."""
        response = self.post(Case("", inbound(phone, words)))
        assert response.status_code == 200, response.text
        drain(self.client)
        return response

    def log(self) -> dict[str, dict[str, Any]]:
        """Every logged text of the phones in play, by id."""
        rows: dict[str, dict[str, Any]] = {}
        for phone in PHONES:
            for message in self.client.get("/messages", params={"phone": phone}).json()["messages"]:
                rows[message["id"]] = message
        return rows

    def job(self, job_id: int = JOB) -> dict[str, Any]:
        return self.client.get(f"/jobs/{job_id}").json()

    def call(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)` awaited in the app's event loop (the store belongs to it)."""
        assert self.client.portal is not None, "the client is used outside its `with` block"
        return self.client.portal.call(fn, *args)

    def phone_state(self, phone: str) -> dict[str, Any]:
        store = self.client.app_state["services"].store
        return self.call(store.get_phone, phone)

    def rewind_last_ack(self, phone: str, by: timedelta) -> None:
        """As if the last acknowledgement to `phone` went out `by` earlier (guards.py keeps `last_ack_at`,
        and when each recent automatic answer went out, which moves back with it)."""
        store = self.client.app_state["services"].store

        def back(stamp: str) -> str:
            return iso_utc(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - by)

        def earlier(state: dict[str, Any]) -> dict[str, Any]:
            answers = {digest: back(at) for digest, at in state.get(guards.ANSWERS, {}).items()}
            return {**state, "last_ack_at": back(state["last_ack_at"]), guards.ANSWERS: answers}

        self.call(store.update_phone, phone, earlier)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(tmp_path)


def _harness(tmp_path: Path, **overrides: str) -> Iterator[Harness]:
    settings = load_settings(
        base_environ(tmp_path, DISPATCHER_NUMBERS=f"{D},{D2}", SEND_RATE_PER_SECOND="1000", **overrides), env_file=None
    )
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        harness = Harness(client, settings)
        assert harness.new_job()["id"] == JOB
        yield harness


def replies_of(response: httpx.Response) -> list[str]:
    """The <Message> bodies of a TwiML answer."""
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("./Message")]


# The day is named too when the ETA falls on another local day (an ETA given just before midnight).
CLOCK = r"(?:[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2}, )?\d{1,2}:\d\d [AP]M"


def expected(template: str, harness: Harness) -> str:
    """A regular expression for an expected reply: the template's text, its placeholders filled in."""
    values = {"url": harness.settings.tracking_url(harness.tokens[JOB])}
    if SECOND_JOB in harness.tokens:
        values["url2"] = harness.settings.tracking_url(harness.tokens[SECOND_JOB])
    parts = re.split(r"(\{\w+\})", template)
    return "".join(
        (CLOCK if part == "{clock}" else re.escape(values[part[1:-1]])) if re.fullmatch(r"\{\w+\}", part)
        else re.escape(part)
        for part in parts
    )  # fmt: skip


def as_rows(messages: Iterable[dict[str, Any]]) -> Counter[Row]:
    return Counter((m["direction"], m["kind"], m["phone"], m["job_id"], m["status"]) for m in messages)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_inbound_sms_cases(app: Harness, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for step in case.given:
        if step == NEW_JOB:
            app.new_job(service_type="dumpster delivery", address="77 Elm St, Austin, TX 78704")
        else:
            app.text(*step)
    before_log, before_job = app.log(), app.job()

    responses = [app.post(case) for _ in range(case.deliveries)]
    drain(app.client)
    no_secrets_in(caplog.records, app, loggers=("qdn.sms", "qdn.signature"))

    added = [message for message_id, message in app.log().items() if message_id not in before_log]
    assert as_rows(added) == Counter(case.rows)
    for response in responses:
        assert response.status_code == case.status, response.text
    if case.status != 200:
        assert responses[0].json()["error"]["code"] == {400: "bad_request", 403: "forbidden"}[case.status]
        assert app.job() == before_job
        return
    answers = [replies_of(response) for response in responses]
    assert all(answer == answers[0] for answer in answers), "a repeated delivery is answered the same way"
    assert len(answers[0]) == len(case.replies), answers[0]
    for reply, template in zip(answers[0], case.replies, strict=True):
        assert re.fullmatch(expected(template, app), reply), reply
    job = app.job()
    assert {key: job[key] for key in case.job} == case.job
    # One notification per move (sent or skipped), none without one.
    notifications = sum(1 for row in case.rows if row[1] == "notification")
    assert len(job["history"]) - len(before_job["history"]) == notifications

    # The inbound row is the text as Twilio delivered it, under its MessageSid.
    form = dict(app.fill_in(case.body))
    inbound_rows = [m for m in added if m["direction"] == "inbound"]
    assert [(m["twilio_sid"], m["from"], m["to"], m["body"]) for m in inbound_rows] == [
        (form["MessageSid"], form["From"], form["To"], form["Body"])
    ]
    # A TwiML reply is logged with the words the person read.
    reply_rows = [m["body"] for m in added if m["direction"] == "outbound" and m["kind"] in ("reply", "system")]
    assert sorted(reply_rows) == sorted(answers[0])


def no_secrets_in(records: list[logging.LogRecord], harness: Harness, loggers: tuple[str, ...] = ("qdn",)) -> None:
    """What reaches the process's stderr (records through web.logging.redact) carries no full phone
    number, tracking token or signing key."""
    text = "\n".join(redact(record.getMessage()) for record in records if record.name.startswith(loggers))
    for secret in (*PHONES, *(phone[2:] for phone in PHONES), *harness.tokens.values(), harness.signing_key):
        assert secret not in text


# --- beyond one request --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "effect"),
    [(ENROUTE_WITH_ETA, sent("notification", C)), (FREE_TEXT, sent("relay", D))],
    ids=["dispatcher move", "customer text"],
)
def test_ten_deliveries_at_once_are_logged_and_acted_on_once_and_answered_alike(app: Harness, body, effect) -> None:
    case = Case("at once", body)
    before = app.log()
    start = threading.Barrier(10)

    def deliver(_: int) -> httpx.Response:
        start.wait()
        return app.post(case)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(deliver, range(10)))
    drain(app.client)

    assert [response.status_code for response in responses] == [200] * 10
    answers = {tuple(replies_of(response)) for response in responses}
    assert len(answers) == 1 and len(next(iter(answers))) == 1
    added = as_rows(m for i, m in app.log().items() if i not in before)
    assert sum(count for row, count in added.items() if row[0] == "inbound") == 1
    assert added[effect] == 1
    if effect[1] == "notification":
        assert len(app.job()["history"]) == 2  # scheduled, en route: moved once


def test_stop_then_a_status_change_then_start(app: Harness) -> None:
    """The opt-out story end to end: nothing at all is sent while opted out, texts resume after START."""
    assert replies_of(app.text(C, "STOP")) == []
    assert replies_of(app.text(D, f"EN ROUTE {JOB} 20")) == [
        "1001 -> en route (ETA 20 min). Customer has opted out; not texted."
    ]
    assert app.client.post(f"/jobs/{JOB}/messages", json={"body": "Running late"}).json()["status"] == "skipped"
    assert replies_of(app.text(C, "where are you?")) == []  # no acknowledgement either
    assert replies_of(app.text(C, "START")) == [OPTED_IN]
    assert replies_of(app.text(D, f"ARRIVED {JOB}")) == ["1001 -> arrived. Customer texted."]

    to_customer = [m for m in app.log().values() if m["direction"] == "outbound" and m["phone"] == C]
    notifications = [(m["body"].split(",")[0], m["status"]) for m in to_customer if m["kind"] == "notification"]
    assert [status for _, status in notifications] == ["sent", "skipped", "sent"]  # booked, en route, arrived
    skipped = next(m for m in to_customer if m["status"] == "skipped" and m["kind"] == "notification")
    assert "opted out" in skipped["error_message"]
    assert [m["kind"] for m in to_customer if m["kind"] in ("reply", "system")] == ["system"]  # only the opt-in


def test_a_token_from_another_number_shows_no_name_phone_or_address(app: Harness) -> None:
    (answer,) = replies_of(app.post(Case("", TOKEN_FROM_STRANGER)))
    for private in ("Dana", "Whitfield", "0199", "555", "Ridgeview", "4512", "78731"):
        assert private not in answer.replace(app.tokens[JOB], "")
    assert app.tokens[JOB] in answer and "scheduled" in answer
    # ...and the stranger's text is not part of Dana's conversation.
    assert [m["phone"] for m in app.client.get(f"/jobs/{JOB}/messages").json()["messages"]] == [C]


def test_twenty_unknown_tokens_from_one_number_are_throttled(app: Harness) -> None:
    """Guessing codes by text is no faster than on the web: 20 misses a minute stop the lookups.

    After 20 misses even the right code is not looked up for that number (it is
    told to wait), while another number still gets its answer.
    """
    throttled = "QuickDumpNow: Too many codes tried. Please wait a minute, then try again."
    answers = [
        replies_of(app.text(S, f"K7M2-9XPQ-2HTR-4VWA-{n:04d}".replace("0", "A").replace("1", "B"))) for n in range(21)
    ]
    # "Doesn't match" once: the same answer is not sent again within 10 minutes (SPEC "No answer twice").
    assert answers[:20] == [[TOKEN_MISS]] + [[]] * 19
    assert answers[20] == [throttled]
    assert replies_of(app.text(S, app.tokens[JOB])) == []  # not looked up: no status, and "wait" said already
    assert app.phone_state(S)["token_misses"]["count"] >= 20
    (other,) = replies_of(app.text(C, app.tokens[JOB]))
    assert re.fullmatch(expected(TOKEN_OWNER, app), other)
    # Every text is still logged, answered or not.
    inbound_from_s = [m for m in app.log().values() if m["direction"] == "inbound" and m["phone"] == S]
    assert len(inbound_from_s) == 22


def test_a_capped_number_of_automatic_answers_an_hour_to_one_number(app: Harness) -> None:
    limit = guards.AUTO_REPLY_LIMIT
    # A different answer each time (another job's code), so only the hourly cap holds them back.
    codes = [app.tokens[JOB]] + [app.new_job()["token"] for _ in range(limit)]
    answers = [replies_of(app.text(S, code)) for code in codes]
    assert all(len(answer) == 1 for answer in answers[:limit])
    assert answers[limit] == []
    # A dispatcher's commands are a person's work: never capped.
    assert all(len(replies_of(app.text(D, "JOBS"))) == 1 for _ in range(12))


@pytest.fixture
def hourly_acks(tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(tmp_path, ACK_INTERVAL_HOURS="1")


def test_free_text_is_acknowledged_at_most_once_per_ack_interval(hourly_acks: Harness) -> None:
    app = hourly_acks
    assert replies_of(app.text(C, "Can you come before noon?")) == [ACK]
    assert replies_of(app.text(C, "Hello??")) == []
    app.rewind_last_ack(C, timedelta(minutes=59))
    assert replies_of(app.text(C, "Anyone there?")) == []
    app.rewind_last_ack(C, timedelta(minutes=2))  # now 61 minutes ago
    assert replies_of(app.text(C, "Still waiting")) == [ACK]
    # Every one of them reached the dispatchers.
    relays = [m["body"] for m in app.log().values() if m["kind"] == "relay" and m["phone"] == D]
    assert len(relays) == 4 and all(r.startswith("Dana (1001, scheduled): ") for r in relays)


def test_with_no_dispatcher_a_free_text_is_logged_and_the_customer_told_to_call(tmp_path: Path) -> None:
    settings = load_settings(base_environ(tmp_path, DISPATCHER_NUMBERS=""), env_file=None)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        app = Harness(client, settings)
        app.new_job()
        assert replies_of(app.text(C, "Can you come before noon?")) == [
            "QuickDumpNow: Thanks, we got your message. For a quick answer call (512) 555-0123."
        ]
        assert [(m["direction"], m["kind"]) for m in app.log().values() if m["kind"] != "notification"] == [
            ("inbound", "text"),
            ("outbound", "system"),
        ]  # logged; relayed to nobody


def test_relays_carry_the_words_as_typed_within_one_text(app: Harness) -> None:
    for body in (EMOJI_TEXT, LONG_TEXT, RECEIVE_MMS_ONLY):
        app.post(Case("", body))
    drain(app.client)
    relays = [m["body"] for m in app.log().values() if m["kind"] == "relay" and m["phone"] == D]
    emoji, long, mms = relays
    assert emoji == "Dana (1001, scheduled): Thanks!! 👍🚛 see you soon 😊 Reply: R 1001 <text>"
    assert len(long) <= 1600 and long.endswith("... Reply: R 1001 <text>")
    assert long.startswith("Dana (1001, scheduled): The pile is behind the garage")
    # A picture is a private link to it (tests/test_sms_media.py checks it opens the picture).
    assert re.fullmatch(
        r"Dana \(1001, scheduled\): Photo: https://sms\.example\.test/m/default/\S+ Reply: R 1001 <text>", mms
    )
    inbound_bodies = [m["body"] for m in app.log().values() if m["direction"] == "inbound"]
    assert len(inbound_bodies[1]) == 1600  # the log keeps the text whole


@pytest.mark.parametrize(
    ("num_media", "relayed_text"),
    [("2", "Photos: (2 pictures unavailable)"), *[(value, "") for value in ODD_NUMBERS.values()]],
    ids=["2", *ODD_NUMBERS],
)
def test_only_plain_digits_count_pictures(app: Harness, num_media: str, relayed_text: str) -> None:
    """NumMedia is read as ASCII digits of a sane length: '٣' (which int() takes) is no count either."""
    response = app.post(Case("", inbound(C, "", drop=("NumMedia",), NumMedia=num_media)))
    drain(app.client)
    assert response.status_code == 200 and replies_of(response) == [ACK]
    relays = [m["body"] for m in app.log().values() if m["kind"] == "relay" and m["phone"] == D]
    assert relays == [f"Dana (1001, scheduled): {relayed_text} Reply: R 1001 <text>"]


def test_a_dispatcher_move_takes_the_same_path_as_the_api(app: Harness) -> None:
    """EN ROUTE by text and POST /jobs/{id}/status: one notification each, the same words, the same rules."""
    api_job = app.new_job()["id"]
    app.text(D, f"EN ROUTE {JOB} 20")
    assert app.client.post(f"/jobs/{api_job}/status", json={"status": "en_route", "eta_minutes": 20}).status_code == 200
    drain(app.client)

    def story(job_id: int) -> tuple[list[str], list[str]]:
        messages = app.client.get(f"/jobs/{job_id}/messages").json()["messages"]
        notes = [m["body"].replace(str(job_id), "<id>").replace(app.tokens[job_id], "<token>") for m in messages
                 if m["kind"] == "notification"]  # fmt: skip
        return notes, [entry["status"] for entry in app.job(job_id)["history"]]

    by_text, by_api = story(JOB), story(api_job)
    assert len(by_text[0]) == 2  # booked, en route
    assert by_text[0][1].split("around")[0] == by_api[0][1].split("around")[0]
    assert by_text[1] == by_api[1] == ["scheduled", "en_route"]
    assert app.job(JOB)["history"][-1]["by"] == D and app.job(api_job)["history"][-1]["by"] == "api"

    # A refused move reads the same both ways.
    app.text(D, f"DONE {JOB}")
    app.client.post(f"/jobs/{api_job}/status", json={"status": "complete"})
    (refused,) = replies_of(app.text(D, f"OMW {JOB}"))
    api = app.client.post(f"/jobs/{api_job}/status", json={"status": "en_route"})
    assert api.status_code == 409
    assert refused.rstrip(".") == api.json()["error"]["message"].replace(str(api_job), str(JOB)).rstrip(".")


def test_an_oversized_webhook_is_refused_before_anything_is_stored(app: Harness) -> None:
    before = app.log()
    response = app.post(Case("", inbound(C, "x" * 70_000)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert app.log() == before


def test_the_job_log_reads_the_dispatchers_text_before_the_status_text_it_caused(app: Harness) -> None:
    for command in (f"EN ROUTE {JOB} 20", f"ARRIVED {JOB}", f"DONE {JOB} 350"):
        app.text(D, command)
    messages = app.client.get(f"/jobs/{JOB}/messages").json()["messages"]
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("outbound", "notification"),  # booked
        *[("inbound", "command"), ("outbound", "reply"), ("outbound", "notification")] * 3,
    ]
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)


def test_r_texts_the_dispatchers_words_as_typed_from_the_business_number(app: Harness) -> None:
    app.text(D, f"R {JOB}: Running 10 min late, sorry! -Mike")
    app.text(D, f"reply {S} Wrong number? This is QuickDumpNow.")
    relays = [m for m in app.log().values() if m["kind"] == "relay"]
    assert [(m["to"], m["from"], m["body"], m["job_id"]) for m in relays] == [
        (C, BUSINESS_NUMBER, "Running 10 min late, sorry! -Mike", JOB),
        (S, BUSINESS_NUMBER, "Wrong number? This is QuickDumpNow.", None),
    ]


def test_operational_logs_carry_no_full_phone_even_for_a_text_with_no_job(
    app: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app.text(D, f"R {S} Wrong number? This is QuickDumpNow.")
    no_secrets_in(caplog.records, app)


def test_a_phones_log_reads_each_text_before_its_answer(app: Harness) -> None:
    for _ in range(3):
        app.text(C, "STATUS")  # 1001-2 .. 1001-7
    app.text(C, "hello there")  # 1001-8, its relays 1001-9 and 1001-10, the acknowledgement 1001-11
    messages = app.client.get("/messages", params={"phone": C}).json()["messages"]
    assert [m["body"] for m in messages][-2:] == ["hello there", ACK]
