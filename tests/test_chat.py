"""`qdn chat` with piped input, against a stand-in for the service's /twilio/sms on a real uvicorn.

The stand-in checks signatures with twilio's RequestValidator against
PUBLIC_BASE_URL + path -- as the real webhook does -- and answers TwiML built
with MessagingResponse. It also serves GET /messages?phone=..., where texts
the "service" sends the phone later show up. End-to-end chat tests against
the real service come with the real /twilio/sms.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.media import TEXT_LINK_SECONDS, LinkKeys, open_link
from bot.phones import normalize_phone
from cli.webhook_form import PLACEHOLDER_BUSINESS_NUMBER, inbound_sms_form, twiml_messages
from config.settings import DEV_WEBHOOK_SECRET_FILE, load_settings
from tests.support import API_TOKEN, CUSTOMER, ROOT, base_environ, free_port

pytestmark = pytest.mark.e2e

PUBLIC_BASE_URL = "https://sms.example.test"  # what base_environ sets: the service sits behind a proxy


def outbound(message_id: str, phone: str, kind: str, body: str, status: str = "sent") -> dict[str, Any]:
    return {
        "id": message_id,
        "direction": "outbound",
        "kind": kind,
        "job_id": 1001,
        "phone": phone,
        "from": "+15125550123",
        "to": phone,
        "body": body,
        "twilio_sid": None,
        "status": status,
        "error_code": None,
        "error_message": None,
        "created_at": "2026-11-27T18:00:00.000Z",
        "updated_at": "2026-11-27T18:00:00.000Z",
    }


@dataclass
class StandIn:
    """A tiny service answering the webhook contract; `secret` is the key it checks signatures with."""

    secret: str
    received: list[dict[str, str]] = field(default_factory=list)
    texts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    url: str = ""
    token: str = API_TOKEN  # the dashboard token GET /messages answers to
    numbers: tuple[str, ...] = ()  # the businesses' numbers, when it checks `To` (a 404 for another)
    pictures: list[tuple[int, str | None, bytes]] = field(default_factory=list)  # what fetching MediaUrl0 got
    paths: list[str] = field(default_factory=list)  # the address each text received was posted to
    # GET /admin/businesses with this admin token, when set: (token, the businesses it lists)
    admin: tuple[str, list[dict[str, Any]]] | None = None

    async def sms(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        if self.numbers and form.get("To") not in self.numbers:
            message = "No business texts from this number."
            return JSONResponse({"error": {"code": "not_found", "message": message}}, status_code=404)
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not RequestValidator(self.secret).validate(
            PUBLIC_BASE_URL + request.url.path, form, signature
        ):
            return JSONResponse({"error": {"code": "forbidden", "message": "Bad signature."}}, status_code=403)
        self.received.append(form)
        self.paths.append(request.url.path)
        phone, body = form["From"], form["Body"].strip().upper()
        reply = MessagingResponse()
        if int(form.get("NumMedia", "0")):  # fetch the picture as the service would, while the chat runs
            async with httpx.AsyncClient() as client:
                got = await client.get(form["MediaUrl0"])
            self.pictures.append((got.status_code, got.headers.get("content-type"), got.content))
        if body == "STATUS":
            reply.message("Job 1001 (junk removal) is scheduled. Track: https://sms.example.test/track?token=T")
            self.texts.setdefault(phone, []).append(outbound(f"r{len(self.received)}", phone, "reply", "(logged)"))
        elif body == "NOTIFY":  # as if a dispatcher moved the job: a text sent out of band
            n = len(self.texts.get(phone, []))
            self.texts.setdefault(phone, []).append(
                outbound(f"n{n}", phone, "notification", "QuickDumpNow: your crew is on the way. ETA 20 min.")
            )
        elif body == "SKIPPED":  # a notification the service logged but did not send (opted out)
            self.texts.setdefault(phone, []).append(
                outbound("s1", phone, "notification", "On the way.", status="skipped")
            )
        elif body == "SEND":  # the sender hands this phone's queued texts to Twilio
            for text in self.texts.get(phone, []):
                text["status"] = "sent" if text["status"] == "pending" else text["status"]
            reply.message("(sent)")
        elif body == "PICTURE":  # the business sends the phone a picture (an MMS)
            text = outbound("m1", phone, "notification", "Dropped off.")
            picture = {
                "id": "Zk3q8Xw1",
                "type": "image/jpeg",
                "size": 2048,
                "url": "https://sms.example.test/media/Zk3q8Xw1",
            }
            self.texts.setdefault(phone, []).append({**text, "media": [picture]})
        elif body == "LINES":
            reply.message("Open jobs (2):\n1001 scheduled - Dana W.\n1002 arrived - Priya R.")
        elif body == "TWO":
            reply.message("first & <one>")
            reply.message("second")
        elif body != "STOP":
            reply.message(f"Got it: {form['Body']}")
        return Response(str(reply), media_type="text/xml")

    async def messages(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": {"code": "unauthorized", "message": "nope"}}, status_code=401)
        phone = normalize_phone(request.query_params["phone"])
        return JSONResponse({"messages": self.texts.get(phone, [])})

    async def business(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": {"code": "unauthorized", "message": "nope"}}, status_code=401)
        return JSONResponse({"slug": "default", "name": "QuickDumpNow", "phone": None, "timezone": "America/Chicago"})

    async def businesses(self, request: Request) -> JSONResponse:
        token, businesses = self.admin or ("", [])
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": {"code": "unauthorized", "message": "nope"}}, status_code=401)
        return JSONResponse({"businesses": businesses})

    def app(self) -> Starlette:
        admin = [Route("/admin/businesses", self.businesses)] if self.admin else []
        return Starlette(
            routes=[
                Route("/twilio/sms", self.sms, methods=["POST"]),
                Route("/twilio/{business}/sms", self.sms, methods=["POST"]),
                Route("/messages", self.messages),
                Route("/business", self.business),
                *admin,
            ]
        )


@pytest.fixture
def serve_stand_in() -> Iterator[Any]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(stand_in: StandIn) -> StandIn:
        port = free_port()
        config = uvicorn.Config(stand_in.app(), host="127.0.0.1", port=port, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            assert thread.is_alive(), "stand-in did not start"
            time.sleep(0.01)
        servers.append((server, thread))
        stand_in.url = f"http://127.0.0.1:{port}"
        return stand_in

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def installed(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Settings for an installation whose service has started once (so its dev secret exists)."""
    env = base_environ(tmp_path, **overrides)
    load_settings(env, env_file=None)  # what `qdn serve` does at first start
    return env


def dev_secret(env: dict[str, str]) -> str:
    return str(load_settings(env, env_file=None, read_only=True).webhook_secret)


@dataclass
class Run:
    code: int
    out: str
    err: str


def qdn_chat(env: dict[str, str], *args: str) -> dict[str, Any]:
    """The command line and environment of `qdn chat` (subprocess keyword arguments)."""
    return {
        "args": [sys.executable, "-m", "web", "chat", *args],
        "env": {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
    }


def chat(env: dict[str, str], cwd: Path, stdin: str, *args: str) -> Run:
    """`qdn chat` as a person runs it, with piped input."""
    done = subprocess.run(**qdn_chat(env, *args), input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60)
    return Run(done.returncode, done.stdout, done.stderr)


def one_line_error(run: Run) -> str:
    assert run.code != 0
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("qdn: ")
    return lines[0]


# -- talking to the service -------------------------------------------------


def test_piped_texts_get_the_twiml_replies_printed(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, "STATUS\n\nwhere is my driver?\nTWO\nSTOP\n", "--from", "(512) 555-0199", "--url",
               stand_in.url, "--wait", "0")  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith(f"Simulated phone {CUSTOMER} texting QuickDumpNow at +15125550123")
    assert lines[1:] == [
        "> STATUS",
        "< Job 1001 (junk removal) is scheduled. Track: https://sms.example.test/track?token=T",
        "> where is my driver?",
        "< Got it: where is my driver?",
        "> TWO",
        "< first & <one>",
        "< second",
        "> STOP",
        "  (no reply)",
    ]  # the blank line sent nothing; the logged "reply" row was not printed a second time
    assert [form["Body"] for form in stand_in.received] == ["STATUS", "where is my driver?", "TWO", "STOP"]
    # The settings' own number is configured in Twilio with the default business's address.
    assert set(stand_in.paths) == {"/twilio/default/sms"}


def test_the_webhook_form_looks_like_twilios(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    assert (
        chat(env, tmp_path, "hello\nhello\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0").code == 0
    )
    first, second = stand_in.received
    assert re.fullmatch(r"SM[0-9a-f]{32}", first["MessageSid"])
    assert first["MessageSid"] != second["MessageSid"]  # two texts, not one delivered twice
    assert first["SmsSid"] == first["SmsMessageSid"] == first["MessageSid"]
    assert first["From"] == CUSTOMER and first["To"] == "+15125550123"  # BUSINESS_PHONE without Twilio
    assert re.fullmatch(r"AC[0-9a-f]{32}", first["AccountSid"])
    assert (first["ApiVersion"], first["SmsStatus"], first["NumMedia"], first["NumSegments"]) == (
        "2010-04-01", "received", "0", "1"
    )  # fmt: skip
    assert (first["FromCountry"], first["ToCountry"]) == ("US", "US")


def test_texts_sent_to_the_phone_later_are_printed_once(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    # Sent before this chat began: history, not news.
    stand_in.texts[CUSTOMER] = [outbound("old", CUSTOMER, "notification", "Your job is booked.")]
    run = chat(env, tmp_path, "NOTIFY\nhi\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0.2")
    assert run.code == 0, run.err
    assert run.out.count("< [notification] QuickDumpNow: your crew is on the way. ETA 20 min.") == 1
    assert "Your job is booked." not in run.out
    assert "< Got it: hi" in run.out


def test_a_text_queued_before_the_phone_was_on_shows_when_it_goes_out(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    stand_in.texts[CUSTOMER] = [
        outbound("went", CUSTOMER, "notification", "Your job is booked."),
        outbound("queued", CUSTOMER, "notification", "The crew is on the way.", status="pending"),
    ]
    run = chat(env, tmp_path, "hi\nSEND\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0.2")
    assert run.code == 0, run.err
    assert run.out.count("< [notification] The crew is on the way.") == 1  # once sent, not while queued
    assert run.out.index("> SEND") < run.out.index("< [notification] The crew is on the way.")
    assert "Your job is booked." not in run.out  # went out before the phone was on: history


def test_a_multi_line_reply_stays_together_on_screen(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, "LINES\n", "--from", "512-555-0100", "--url", stand_in.url, "--wait", "0")
    assert run.out.splitlines()[1:] == [
        "> LINES",
        "< Open jobs (2):",
        "  1001 scheduled - Dana W.",
        "  1002 arrived - Priya R.",
    ]


def test_a_skipped_text_is_shown_as_not_sent(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, "SKIPPED\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0")
    assert "< [notification] On the way.  (not sent: this phone has opted out)" in run.out


def test_with_twilio_settings_it_signs_with_the_auth_token(tmp_path, serve_stand_in):
    env = installed(
        tmp_path,
        TWILIO_ACCOUNT_SID="AC" + "a1" * 16,
        TWILIO_AUTH_TOKEN="f3" * 16,
        TWILIO_FROM_NUMBER="+15125550188",
    )
    stand_in = serve_stand_in(StandIn("f3" * 16))
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0")
    assert run.code == 0, run.err
    assert stand_in.received[0]["To"] == "+15125550188"
    assert stand_in.received[0]["AccountSid"] == "AC" + "a1" * 16


# -- another business's number (--to) ---------------------------------------

ACME_NUMBER = "+15125550777"
ACME_TOKEN = "qdn_" + "acme-dashboard-token-" + "x" * 22  # a business's dashboard token (handlers/tenancy.py)
LIVE_AUTH_TOKEN = "f3" * 16
# The deployment's Twilio account, texted through its Messaging Service (BUSINESS_PHONE is its number).
LIVE_WITH_A_MESSAGING_SERVICE = {
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": LIVE_AUTH_TOKEN,
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "4e" * 16,
}


@pytest.mark.parametrize("typed", ["512-555-0777", "(512) 555-0777", "+1 512 555 0777", "5125550777"])
def test_to_texts_another_business_number_in_any_usual_format(tmp_path, serve_stand_in, typed):
    env = installed(tmp_path, **LIVE_WITH_A_MESSAGING_SERVICE)
    stand_in = serve_stand_in(StandIn(LIVE_AUTH_TOKEN))
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", typed, "--url", stand_in.url, "--wait", "0")
    assert run.code == 0, run.err
    header, *rest = run.out.splitlines()
    assert header == f"Simulated phone {CUSTOMER} texting {ACME_NUMBER} via {stand_in.url}"  # not "QuickDumpNow"
    assert rest[:2] == [
        "> STATUS",
        "< Job 1001 (junk removal) is scheduled. Track: https://sms.example.test/track?token=T",
    ]
    (form,) = stand_in.received
    assert (form["From"], form["To"], form["ToCountry"]) == (CUSTOMER, ACME_NUMBER, "US")
    # The deployment's Messaging Service would route the text to the default business instead.
    assert "MessagingServiceSid" not in form
    # The service would not list its businesses (no admin API here): the address that routes by `To`.
    assert stand_in.paths == ["/twilio/sms"]


def test_to_another_business_number_posts_to_that_business_address(tmp_path, serve_stand_in):
    env = installed(tmp_path, **LIVE_WITH_A_MESSAGING_SERVICE)
    admin_token = str(load_settings(env, env_file=None, read_only=True).admin_token)
    listed = [{"slug": "default", "numbers": []}, {"slug": "bolt", "numbers": ["+15125550778"]},
              {"slug": "acme", "numbers": ["+15125550776", ACME_NUMBER]}]  # fmt: skip
    stand_in = serve_stand_in(StandIn(LIVE_AUTH_TOKEN, admin=(admin_token, listed)))
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", "512-555-0777", "--url", stand_in.url,
               "--wait", "0")  # fmt: skip
    assert run.code == 0, run.err
    assert stand_in.paths == ["/twilio/acme/sms"]  # signed over that URL: the stand-in checked it
    # A number none of them owns: the address that routes by `To` (the service says who owns it, or 404).
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", "512-555-0779", "--url", stand_in.url,
               "--wait", "0")  # fmt: skip
    assert run.code == 0, run.err
    assert stand_in.paths == ["/twilio/acme/sms", "/twilio/sms"]


def test_to_the_settings_own_number_is_the_default(tmp_path, serve_stand_in):
    env = installed(tmp_path, **LIVE_WITH_A_MESSAGING_SERVICE)
    stand_in = serve_stand_in(StandIn(LIVE_AUTH_TOKEN))
    run = chat(env, tmp_path, "hi\n", "--from", "512-555-0199", "--to", "512.555.0123", "--url", stand_in.url,
               "--wait", "0")  # fmt: skip
    assert run.code == 0, run.err
    assert (
        run.out.splitlines()[0] == f"Simulated phone {CUSTOMER} texting QuickDumpNow at +15125550123 via {stand_in.url}"
    )
    (form,) = stand_in.received
    assert (form["To"], form["MessagingServiceSid"]) == ("+15125550123", "MG" + "4e" * 16)
    assert stand_in.paths == ["/twilio/default/sms"]


@pytest.mark.parametrize("typed", ["call the office", "555-0777", "+1 512 555 07777 1"])
def test_a_bad_to_is_one_line_and_sends_nothing(tmp_path, serve_stand_in, typed):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    line = one_line_error(
        chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", typed, "--url", stand_in.url)
    )
    assert line.startswith("qdn: --to: ") and repr(typed) in line
    assert stand_in.received == []


def test_a_number_no_business_owns_is_one_line(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env), numbers=("+15125550123",)))
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", "512-555-0777", "--url", stand_in.url)
    assert one_line_error(run) == (
        f"qdn: no business of the service at {stand_in.url} texts from {ACME_NUMBER} (404); "
        "--to must be one of a business's numbers"
    )


def test_another_business_texts_are_read_with_qdn_api_token(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env), token=ACME_TOKEN))  # API_TOKEN would be refused
    env["QDN_API_TOKEN"] = ACME_TOKEN
    stand_in.texts[CUSTOMER] = [outbound("old", CUSTOMER, "notification", "Acme: your job is booked.")]
    run = chat(env, tmp_path, "NOTIFY\n", "--from", "512-555-0199", "--to", "512-555-0777", "--url", stand_in.url,
               "--wait", "0.2")  # fmt: skip
    assert run.code == 0, run.err
    assert run.out.count("< [notification] QuickDumpNow: your crew is on the way. ETA 20 min.") == 1
    assert "your job is booked" not in run.out


def test_a_refused_qdn_api_token_names_it(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env), token=ACME_TOKEN))
    env["QDN_API_TOKEN"] = "qdn_not-acmes"
    line = one_line_error(chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", "512-555-0777",
                               "--url", stand_in.url))  # fmt: skip
    assert line.startswith(f"qdn: the service at {stand_in.url} refused QDN_API_TOKEN (401)")
    assert "not-acmes" not in line


def test_a_business_with_its_own_twilio_account_refuses_the_deployments_signature(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn("acmes-own-auth-token-" + "f3" * 8))  # it checks its own account's token
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--to", "512-555-0777", "--url", stand_in.url)
    line = one_line_error(run)
    assert "refused the signed text (403)" in line
    assert line.endswith(f"or {ACME_NUMBER} is a business's with its own Twilio account")
    assert stand_in.received == []


# -- refusals and errors ----------------------------------------------------


def test_the_local_secret_is_made_per_installation(tmp_path):
    one = dev_secret(installed(tmp_path / "one"))
    two = dev_secret(installed(tmp_path / "two"))
    assert one and two and one != two
    assert len(one) >= 32
    assert (tmp_path / "one" / "data" / DEV_WEBHOOK_SECRET_FILE).read_text().strip() == one
    # Not a constant hidden in the code: neither value appears in any source file.
    for source in [*ROOT.glob("*/*.py"), *ROOT.glob("*/*/*.py")]:
        if ".venv" not in source.parts:
            text = source.read_text(errors="replace")
            assert one not in text and two not in text, source


def test_a_text_signed_with_another_installations_secret_is_refused(tmp_path, serve_stand_in):
    service_env = installed(tmp_path / "service")
    stand_in = serve_stand_in(StandIn(dev_secret(service_env)))
    other_env = installed(tmp_path / "other")  # a different data folder: a different secret
    run = chat(other_env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0")
    line = one_line_error(run)
    assert "refused the signed text (403)" in line
    assert "Job 1001" not in run.out
    assert stand_in.received == []


def test_a_wrong_public_base_url_is_refused_too(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    env["PUBLIC_BASE_URL"] = "https://somewhere-else.example.test"  # the URL is part of what is signed
    line = one_line_error(chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--url", stand_in.url))
    assert "403" in line and "PUBLIC_BASE_URL=https://somewhere-else.example.test" in line


def test_a_bad_phone_is_one_line(tmp_path):
    env = installed(tmp_path)
    line = one_line_error(chat(env, tmp_path, "STATUS\n", "--from", "call me maybe"))
    assert "--from" in line and "not a phone number" in line


def test_no_service_is_one_line_that_says_what_to_do(tmp_path):
    env = installed(tmp_path, PORT=str(free_port()))
    line = one_line_error(chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199"))
    assert line == (
        f"qdn: cannot reach the QDN service at http://127.0.0.1:{env['PORT']}; is `qdn serve` running? "
        "use --url to point elsewhere"
    )


def test_before_the_service_ever_ran_it_says_so_and_makes_nothing(tmp_path):
    env = base_environ(tmp_path)  # never started: no data folder yet
    del env["API_TOKEN"]
    line = one_line_error(chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199"))
    assert "no API token" in line and "qdn serve" in line
    assert not (tmp_path / "data").exists()


def test_pointing_at_something_else_says_so(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, "STATUS\n", "--from", "512-555-0199", "--url", stand_in.url + "/nothing-here")
    assert "is that the QDN service?" in one_line_error(run)
    assert stand_in.received == []


# -- TwiML parsing ----------------------------------------------------------


def test_twiml_bodies_are_read_from_the_xml():
    response = MessagingResponse()
    response.message("a < b & c")
    response.message("second\nline")
    assert twiml_messages(str(response)) == ["a < b & c", "second\nline"]
    assert twiml_messages(str(MessagingResponse())) == []
    assert twiml_messages("<Response><Message><Body>nested</Body></Message></Response>") == ["nested"]


@pytest.mark.parametrize("junk", ["not xml", "<html><body>hi</body></html>", ""])
def test_a_reply_that_is_not_twiml_is_reported(junk):
    from cli.api_client import CliError

    with pytest.raises(CliError, match="not TwiML"):
        twiml_messages(junk)


def test_the_placeholder_business_number_is_used_when_none_is_set(tmp_path):
    env = base_environ(tmp_path)
    del env["BUSINESS_PHONE"]
    form = inbound_sms_form(load_settings(env, env_file=None), CUSTOMER, "x" * 161)
    assert form["To"] == PLACEHOLDER_BUSINESS_NUMBER
    assert form["NumSegments"] == "2"


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("é" * 160, "1"),  # GSM-7 though not ASCII
        ("{" * 80, "1"),  # two septets each: 160
        ("{" * 81, "2"),
        ("🚚" * 35, "1"),  # UCS-2, a surrogate pair each: 70 units
        ("🚚" * 36, "2"),
    ],
)
def test_num_segments_is_counted_as_twilio_counts_it(tmp_path, body, segments):
    env = base_environ(tmp_path)
    assert inbound_sms_form(load_settings(env, env_file=None), CUSTOMER, body)["NumSegments"] == segments


# -- at a terminal -----------------------------------------------------------


class Terminal:
    """`qdn chat` with a pseudo-terminal for stdin and stdout, as a person at a keyboard runs it."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(**qdn_chat(env, *args), stdin=slave, stdout=slave, stderr=slave, cwd=cwd)
        os.close(slave)
        self.screen = ""

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_for(self, text: str, deadline_seconds: float = 20) -> str:
        """Read the screen until `text` shows up (the deadline only stops a hung test)."""
        deadline = time.monotonic() + deadline_seconds
        while text not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode()
                except OSError:  # the child closed the terminal
                    break
        assert text in self.screen, self.screen
        return self.screen

    def stop(self) -> None:
        if self.process.poll() is None:  # a failed test left it at its prompt
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)


def test_at_a_terminal_it_prompts_and_shows_texts_as_they_arrive(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    terminal = Terminal(env, tmp_path, "--from", "512-555-0199", "--url", stand_in.url)
    try:
        terminal.wait_for("Ctrl-D to quit.\r\n> ")
        terminal.type(b"STATUS\n")
        terminal.wait_for("< Job 1001 (junk removal) is scheduled.")
        terminal.type(b"NOTIFY\n")
        # Shown while the phone sits at its prompt: nobody pressed a key for it.
        screen = terminal.wait_for("< [notification] QuickDumpNow: your crew is on the way. ETA 20 min.\r\n> ")
        assert screen.count("STATUS\r\n") == 1  # the terminal echoes what you type; chat does not repeat it
        terminal.type(b"\x04")  # Ctrl-D
        assert terminal.process.wait(20) == 0
    finally:
        terminal.stop()


# -- pictures (/photo) ----------------------------------------------------------


def test_photo_sends_an_mms_whose_picture_can_be_fetched_while_the_chat_runs(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    picture = tmp_path / "junk pile.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0" + b"junk" * 100)
    run = chat(env, tmp_path, f'/photo "{picture}" How much to haul this?\n', "--from", "512-555-0199", "--url",
               stand_in.url, "--wait", "0")  # fmt: skip
    assert run.code == 0, run.err
    (form,) = stand_in.received
    assert form["Body"] == "How much to haul this?"
    assert (form["NumMedia"], form["MediaContentType0"]) == ("1", "image/jpeg")
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/2010-04-01/Accounts/AC[0-9a-f]{32}/Messages/MM[0-9a-f]{32}/Media/ME[0-9a-f]{32}",
        form["MediaUrl0"],
    )
    assert stand_in.pictures == [(200, "image/jpeg", picture.read_bytes())]
    assert "< Got it: How much to haul this?" in run.out


def test_a_photo_with_no_words_is_a_picture_only_text(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    picture = tmp_path / "gate.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    assert chat(env, tmp_path, f"/photo {picture}\n", "--from", "512-555-0199", "--url", stand_in.url,
                "--wait", "0").code == 0  # fmt: skip
    (form,) = stand_in.received
    assert (form["Body"], form["NumMedia"], form["MediaContentType0"]) == ("", "1", "image/png")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("/photo", "/photo needs a file"),
        ("/photo /no/such/file.jpg", "cannot read /no/such/file.jpg"),
        ('/photo "unclosed.jpg', "/photo: No closing quotation"),
    ],
)
def test_a_bad_photo_line_is_one_line_and_the_chat_goes_on(tmp_path, serve_stand_in, line, said):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, f"{line}\nhello\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0")
    assert run.code == 0, run.err
    assert f"qdn: {said}" in run.out
    assert [form["Body"] for form in stand_in.received] == ["hello"]  # nothing sent for the bad line


def test_photo_is_refused_against_a_live_service(tmp_path, serve_stand_in):
    env = installed(tmp_path, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="live-token",
                    TWILIO_FROM_NUMBER="+15125550123")  # fmt: skip
    stand_in = serve_stand_in(StandIn("live-token"))
    picture = tmp_path / "a.jpg"
    picture.write_bytes(b"\xff\xd8\xff")
    run = chat(env, tmp_path, f"/photo {picture}\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "0")
    assert "qdn: /photo works in local use only" in run.out
    assert stand_in.received == []


def test_a_picture_the_phone_receives_is_shown_as_its_link(tmp_path, serve_stand_in):
    env = installed(tmp_path)
    stand_in = serve_stand_in(StandIn(dev_secret(env)))
    run = chat(env, tmp_path, "PICTURE\nhi\n", "--from", "512-555-0199", "--url", stand_in.url, "--wait", "1.5")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    at = lines.index("< [notification] Dropped off.")
    # Not the dashboard's /media/ link (it needs the API token: a 401 on a phone): the signed public one.
    link = re.fullmatch(r"  \[picture\] https://sms\.example\.test(/m/default/(\S+))", lines[at + 1])
    assert link, lines[at + 1]
    keys = LinkKeys.from_secret(str(load_settings(env, env_file=None, read_only=True).secret_key))
    assert open_link(keys, "default", link[2], time.time()) == "Zk3q8Xw1"
    assert open_link(keys, "default", link[2], time.time() + TEXT_LINK_SECONDS - 60) == "Zk3q8Xw1"  # as an MMS's
