"""`qdn chat` against the real service: a real `qdn serve` process in console mode (no Twilio settings).

Set up as the README's walkthrough is: the service and every qdn command run
in one folder and read the same `.env` and `data/` (the API token and the
development webhook secret the service made at first start); nothing is
passed on the command line but the phone. The simulated phones are separate
processes fed through a pipe, and several can be open at once, as in the
walkthrough's terminals.
"""

from __future__ import annotations

import itertools
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.phones import redact_phone
from config.settings import ADMIN_TOKEN_FILE, API_TOKEN_FILE, DEV_WEBHOOK_SECRET_FILE, load_settings
from tests.support import DISPATCHER, ROOT, LiveServer, eventually
from tests.test_media_fetch import jpeg

pytestmark = pytest.mark.e2e

CHICAGO = ZoneInfo("America/Chicago")
HANG_GUARD_SECONDS = 30  # only stops a broken test from hanging; nothing here measures time
_phones = itertools.count(101)


def new_customer_phone() -> tuple[str, str]:
    """A customer of its own per test (STATUS lists a phone's open jobs): (as typed, E.164)."""
    n = next(_phones)
    return f"(512) 555-0{n}", f"+15125550{n}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service as the walkthrough runs it: settings in `.env`, secrets made in ./data at first start."""
    folder = tmp_path_factory.mktemp("install")
    server = LiveServer({}, folder)
    # PUBLIC_BASE_URL names the service differently from where it listens (as behind a proxy):
    # the simulator must sign what Twilio would have called, not the URL it posts to.
    (folder / ".env").write_text(
        f"PORT={server.port}\n"
        f"PUBLIC_BASE_URL=http://localhost:{server.port}\n"
        f"DISPATCHER_NUMBERS={DISPATCHER}\n"
        "BUSINESS_PHONE=+15125550123\n"
        "TIMEZONE=America/Chicago\n"
        "SEND_RATE_PER_SECOND=50\n"  # the console transport keeps the 1/s default pace otherwise
    )
    server.start()
    yield server
    server.stop()


def qdn_environ() -> dict[str, str]:
    """What a person's shell adds: nothing about the service (that is in .env and data/)."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def api(server: LiveServer) -> httpx.Client:
    token = (server.cwd / "data" / API_TOKEN_FILE).read_text().strip()
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def all_sent(server: LiveServer, job_id: int) -> list[dict[str, Any]]:
    """The job's conversation once the sender has nothing left to send for it."""
    with api(server) as client:

        def settled() -> list[dict[str, Any]] | None:
            messages = client.get(f"/jobs/{job_id}/messages").json()["messages"]
            return None if any(m["status"] == "pending" for m in messages) else messages

        return wait_until(settled, f"job {job_id}'s texts were all sent")


def new_job(server: LiveServer, phone: str, **fields: Any) -> dict[str, Any]:
    body = {"customer_name": "Dana Whitfield", "customer_phone": phone, "service_type": "junk removal", **fields}
    with api(server) as client:
        response = client.post("/jobs", json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    all_sent(server, job["id"])  # the booking text has gone: history for a phone switched on later
    return job


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def qdn(server: LiveServer, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Run:
    """One qdn command run to the end, in the service's folder, as a person runs it (`env`: what they export)."""
    done = subprocess.run(
        [sys.executable, "-m", "web", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=server.cwd,
        env={**qdn_environ(), **(env or {})},
        timeout=60,
    )
    return Run(done.returncode, done.stdout, done.stderr)


class Simulator:
    """`qdn chat --from PHONE` left open, typed into through a pipe, its screen read as it prints."""

    def __init__(self, server: LiveServer, phone: str, *more: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web", "chat", "--from", phone, "--wait", "0.5", *more],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=server.cwd,
            env={**qdn_environ(), **(env or {})},
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_for(lambda line: line.startswith("Simulated phone "))  # switched on: what it skips is history

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, match: Callable[[str], bool]) -> str:
        """The first screen line that matches (a hang guard stops a test whose line never comes)."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((line for line in self.lines if match(line)), None) or self.process.poll() is not None,
                HANG_GUARD_SECONDS,
            )
            line = next((line for line in self.lines if match(line)), None)
        assert line is not None, f"not on the screen (found={found!r}):\n" + "\n".join(self.lines)
        return line

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close(self) -> Run:
        """Ctrl-D: the end of the piped input; it shows what is still arriving and exits."""
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        code = self.process.wait(HANG_GUARD_SECONDS)
        self.reader.join(HANG_GUARD_SECONDS)
        err = self.process.stderr.read()
        self._close_pipes()
        return Run(code, "\n".join(self.lines) + "\n", err)

    def kill(self) -> None:
        """Clean-up for a test that failed with the phone still on."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.reader.join(10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


@pytest.fixture
def switch_on(service: LiveServer) -> Iterator[Callable[..., Simulator]]:
    phones: list[Simulator] = []

    def start(phone: str, *more: str, env: dict[str, str] | None = None) -> Simulator:
        phones.append(Simulator(service, phone, *more, env=env))
        return phones[-1]

    yield start
    for phone in phones:
        phone.kill()


def kinds(messages: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [m for m in messages if all(m[key] == value for key, value in match.items())]


# -- (a) a customer asks for the status ---------------------------------------------------


def test_a_customers_status_text_gets_the_jobs_status_and_link(service):
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    run = qdn(service, "chat", "--from", typed, "--wait", "0", stdin="status?\n")
    assert run.code == 0, run.err
    header, sent, reply, *rest = run.lines
    assert header == f"Simulated phone {phone} texting QuickDumpNow at +15125550123 via {service.url}"
    assert sent == "> status?"
    assert reply.startswith(f"< QuickDumpNow: Job {job['id']} (junk removal) is scheduled")
    assert reply.endswith(f"Track: {job['tracking_url']}")
    assert rest == []  # the booking text went out before the phone was switched on: not news

    with api(service) as client:
        logged = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
    (inbound,) = kinds(logged, direction="inbound")
    assert (inbound["kind"], inbound["body"], inbound["phone"], inbound["status"]) == (
        "command", "status?", phone, "received"
    )  # fmt: skip
    assert re.fullmatch(r"SM[0-9a-f]{32}", inbound["twilio_sid"])
    (answer,) = kinds(logged, kind="reply")
    assert "< " + answer["body"] == reply


def test_a_customer_with_no_open_job_is_told_what_to_do(service):
    typed, _ = new_customer_phone()
    run = qdn(service, "chat", "--from", typed, "--wait", "0", stdin="STATUS\n")
    assert run.code == 0, run.err
    (reply,) = [line for line in run.lines if line.startswith("< ")]
    assert "/track?token=" not in reply  # nobody's job
    assert "(512) 555-0123" in reply  # a hint with the business's number, not silence


# -- (b) a dispatcher moves the job; the customer's phone gets the text --------------------


def test_dispatcher_en_route_moves_the_job_and_the_customers_phone_shows_the_text(service, switch_on):
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    customer = switch_on(typed)  # Dana's phone is on, waiting, as in the README's terminal 2

    dispatcher = qdn(service, "chat", "--from", "512-555-0100", "--wait", "0", stdin=f"EN ROUTE {job['id']} 20\n")
    assert dispatcher.code == 0, dispatcher.err
    assert dispatcher.lines[1:] == [
        f"> EN ROUTE {job['id']} 20",
        f"< {job['id']} -> en route (ETA 20 min). Customer texted.",
    ]

    with api(service) as client:
        moved = client.get(f"/jobs/{job['id']}").json()
    assert (moved["status"], moved["eta_minutes"]) == ("en_route", 20)
    assert moved["history"][-1]["by"] == DISPATCHER
    shown_job = qdn(service, "jobs", "show", str(job["id"]))
    assert shown_job.lines[-2].endswith(f"  en route (ETA 20 min)  by dispatcher {DISPATCHER}")

    notification = kinds(all_sent(service, job["id"]), kind="notification")[-1]
    assert notification["phone"] == phone and "20 min" in notification["body"]
    shown = customer.wait_for(lambda line: line.startswith("< [notification] "))
    assert shown == f"< [notification] {notification['body']}"

    run = customer.close()
    assert run.code == 0, run.err
    assert run.out.count("< [notification] ") == 1  # the booking text before it was switched on is history
    assert "Traceback" not in run.err


def test_a_phone_switched_on_after_the_move_shows_the_new_status_when_asked(service):
    """What a person sees who opens the customer's simulator late: no replay of old texts, STATUS is current."""
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    assert qdn(service, "chat", "--from", DISPATCHER, "--wait", "0", stdin=f"omw {job['id']} 15\n").code == 0
    all_sent(service, job["id"])

    run = qdn(service, "chat", "--from", typed, "--wait", "0", stdin="STATUS\n")
    assert run.code == 0, run.err
    assert "[notification]" not in run.out
    (reply,) = [line for line in run.lines if line.startswith("< ")]
    assert f"Job {job['id']} (junk removal) is en route, ETA " in reply


def test_a_refused_move_is_answered_and_changes_nothing(service, switch_on):
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    with api(service) as client:
        assert client.post(f"/jobs/{job['id']}/status", json={"status": "complete"}).status_code == 200
    all_sent(service, job["id"])
    customer = switch_on(typed)

    run = qdn(service, "chat", "--from", DISPATCHER, "--wait", "0", stdin=f"EN ROUTE {job['id']}\nARRIVED 99999\n")
    assert run.lines[1:] == [
        f"> EN ROUTE {job['id']}",
        f"< {job['id']} is complete; it can't go en route.",
        "> ARRIVED 99999",
        "< No job 99999.",
    ]
    with api(service) as client:
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "complete"
    assert "[notification]" not in customer.close().out


# -- (c) qdn log shows both sides ------------------------------------------------------------


def local_clock(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(CHICAGO).strftime("%H:%M")


def customer_and_dispatcher_talk(server: LiveServer) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """A job whose customer asked for the status and whose dispatcher moved it: (job, phone, its texts)."""
    typed, phone = new_customer_phone()
    job = new_job(server, phone)
    assert qdn(server, "chat", "--from", typed, "--wait", "0", stdin="STATUS\n").code == 0
    assert qdn(server, "chat", "--from", DISPATCHER, "--wait", "0", stdin=f"EN ROUTE {job['id']} 20\n").code == 0
    return job, phone, all_sent(server, job["id"])


def log_headings(run: Run) -> list[str]:
    """Each text's first line, "HH:MM ← from who  [kind, status]", without the time."""
    return [line[6:] for line in run.lines if re.match(r"\d\d:\d\d [←→] ", line)]


def test_log_job_shows_both_sides_with_times_and_statuses(service):
    job, phone, messages = customer_and_dispatcher_talk(service)
    job_id = job["id"]

    run = qdn(service, "log", "--job", str(job_id))
    assert run.code == 0, run.err
    assert run.lines[0] == f"Job {job_id}: Dana Whitfield, junk removal, en route (ETA 20 min)"
    assert run.lines[1] == f"Times in America/Chicago ({datetime.now(CHICAGO).tzname()})."
    assert run.lines[2].startswith("-- ") and run.lines[2].endswith(" --")
    dana, dispatcher = f"Dana (customer) {phone}", f"dispatcher {DISPATCHER}"
    assert sorted(log_headings(run)) == sorted(
        [
            f"→ to {dana}  [notification, sent]",  # booked
            f"← from {dana}  [command, received]",  # STATUS
            f"→ to {dana}  [reply, sent]",
            f"← from {dispatcher}  [command, received]",  # EN ROUTE
            f"→ to {dispatcher}  [reply, sent]",
            f"→ to {dana}  [notification, sent]",  # on the way
        ]
    )
    # Every text once, in the API's order, at its local time, with its body as sent.
    times = [line[:5] for line in run.lines if re.match(r"\d\d:\d\d [←→] ", line)]
    assert times == [local_clock(m["created_at"]) for m in messages]
    names = {phone: dana, DISPATCHER: dispatcher}
    assert log_headings(run) == [
        f"{'← from' if m['direction'] == 'inbound' else '→ to'} {names[m['phone']]}  [{m['kind']}, {m['status']}]"
        for m in messages
    ]
    bodies = [line.strip() for line in run.lines[2:] if line.startswith("      ")]
    assert bodies == [m["body"] for m in messages]
    assert "STATUS" in bodies and f"EN ROUTE {job_id} 20" in bodies
    assert f"{job_id} -> en route (ETA 20 min). Customer texted." in bodies


def test_log_job_shows_each_dispatcher_command_before_the_text_it_caused(service):
    """Stamped in the same millisecond, a status text used to read first in about 2 of 5 moves."""
    _, phone = new_customer_phone()
    job_id = new_job(service, phone)["id"]
    moves = f"EN ROUTE {job_id} 20\nARRIVED {job_id}\nDONE {job_id} 350\n"
    assert qdn(service, "chat", "--from", DISPATCHER, "--wait", "0", stdin=moves).code == 0
    all_sent(service, job_id)
    run = qdn(service, "log", "--job", str(job_id))
    each_move = [
        f"← from dispatcher {DISPATCHER}  [command, received]",
        f"→ to dispatcher {DISPATCHER}  [reply, sent]",
        f"→ to Dana (customer) {phone}  [notification, sent]",
    ]
    assert log_headings(run)[1:] == each_move * 3


def test_log_phone_shows_the_dispatchers_side_across_jobs(service):
    typed, _ = new_customer_phone()
    job = new_job(service, typed)
    assert qdn(service, "chat", "--from", typed, "--wait", "0", stdin="Is the gate code still 4411?\n").code == 0
    all_sent(service, job["id"])

    run = qdn(service, "log", "--phone", "512.555.0100")
    assert run.code == 0, run.err
    assert run.lines[:2] == [
        f"Texts with {DISPATCHER}",
        f"Times in America/Chicago ({datetime.now(CHICAGO).tzname()}).",
    ]
    relay = next(i for i, line in enumerate(run.lines) if line.endswith(f"to dispatcher {DISPATCHER}  [relay, sent]"))
    assert "Is the gate code still 4411?" in run.lines[relay + 1]


# -- (d) a customer's free text reaches the dispatcher's phone, and the answer comes back ----


def test_a_customers_question_is_relayed_to_the_dispatchers_phone_and_answered(service, switch_on):
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    dispatcher = switch_on("512-555-0100")  # the README's terminal 3
    customer = switch_on(typed)

    customer.type("Can you come before noon? Dog is in the backyard.")
    ack = customer.wait_for(lambda line: line.startswith("< "))
    relay = dispatcher.wait_for(lambda line: "Can you come before noon?" in line)
    with api(service) as client:
        logged = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
    (relayed,) = kinds(logged, kind="relay", phone=DISPATCHER)
    assert relay == f"< [relay] {relayed['body']}"
    assert f"R {job['id']}" in relayed["body"]  # it says how to answer
    (acknowledgement,) = kinds(logged, kind="system", phone=phone)
    assert ack == f"< {acknowledgement['body']}"

    dispatcher.type(f"R {job['id']} Yes, around 11. We'll keep the gate shut.")
    dispatcher.wait_for(lambda line: line.startswith("< Sent to"))
    answer = customer.wait_for(lambda line: line.startswith("< [relay] "))
    assert answer == "< [relay] Yes, around 11. We'll keep the gate shut."

    customer_screen = customer.close()
    dispatcher_screen = dispatcher.close()
    assert (customer_screen.code, dispatcher_screen.code) == (0, 0), customer_screen.err + dispatcher_screen.err
    # Each text shows once: the acknowledgement is the TwiML answer, not a second "[system]" text.
    assert customer_screen.lines[1:] == [
        "> Can you come before noon? Dog is in the backyard.",
        ack,
        answer,
    ]
    assert dispatcher_screen.out.count("Can you come before noon?") == 1
    assert "[system]" not in customer_screen.out + dispatcher_screen.out


def test_the_service_console_shows_the_texts_not_the_simulators_polling(service, switch_on):
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    customer = switch_on(typed)
    assert qdn(service, "chat", "--from", DISPATCHER, "--wait", "0", stdin=f"ARRIVED {job['id']}\n").code == 0
    customer.wait_for(lambda line: line.startswith("< [notification] "))
    customer.close()

    # The service writes its log off the event loop, a tenth of a second behind: wait for the access line.
    eventually(
        lambda: '"POST /twilio/default/sms HTTP/1.1" 200' in service.log.read_text(), "the webhook's access line"
    )
    console = service.log.read_text()
    assert f"--- text to {redact_phone(phone)} ---" in console  # the console transport's simulated screen
    assert "GET /messages?phone=" not in console  # each open phone asks once a second: not logged


# -- (e) the local secret belongs to this installation; other keys are refused ---------------


def test_the_dev_secret_was_made_for_this_installation(service, tmp_path):
    secret_file = service.cwd / "data" / DEV_WEBHOOK_SECRET_FILE
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # Another installation (a fresh data folder, first start) gets its own.
    other = load_settings({"DATABASE_URL": f"tinydb:///{tmp_path}/data/qdn.json"}, env_file=None).webhook_secret
    assert str(other) and str(other) != secret
    for folder in ("bot", "config", "handlers", "store", "web", "tests"):
        for source in (ROOT / folder).rglob("*.py"):
            assert secret not in source.read_text(errors="replace"), source


def signed_post(server: LiveServer, key: str, form: dict[str, str], url: str | None = None) -> httpx.Response:
    signature = RequestValidator(key).compute_signature(url or f"http://localhost:{server.port}/twilio/sms", form)
    return httpx.post(f"{server.url}/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}, timeout=10)


def sms_form(phone: str, body: str) -> dict[str, str]:
    sid = "SM" + "5" * 32
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15125550123",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


@pytest.mark.parametrize(
    "key",
    [
        "another-installations-dev-secret-" + "x" * 16,
        "",  # an empty key: what "checking switched off" would sign with
        "f3" * 16,  # a Twilio-looking auth token, not this installation's
        "api-token",  # replaced below by the service's API token: another of its secrets, not this one
    ],
    ids=["other-secret", "empty-key", "twilio-looking", "api-token"],
)
def test_a_webhook_signed_with_any_other_key_is_refused_and_changes_nothing(service, key):
    _, phone = new_customer_phone()
    job = new_job(service, phone)
    if key == "api-token":
        key = (service.cwd / "data" / API_TOKEN_FILE).read_text().strip()
    with api(service) as client:
        before = client.get("/messages", params={"phone": phone}).json()["messages"]

    for body in ("STOP", "Cancel my job please"):  # an opt-out or a relay would be a visible effect
        refused = signed_post(service, key, sms_form(phone, body))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"

    with api(service) as client:
        assert client.get("/messages", params={"phone": phone}).json()["messages"] == before
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "scheduled"
    # The same form signed with this installation's secret is accepted: the key was the only difference.
    secret = (service.cwd / "data" / DEV_WEBHOOK_SECRET_FILE).read_text().strip()
    accepted = signed_post(service, secret, sms_form(phone, "STATUS"))
    assert accepted.status_code == 200 and accepted.headers["content-type"].startswith("text/xml")


def test_right_key_but_not_the_public_url_is_refused(service):
    _, phone = new_customer_phone()
    new_job(service, phone)
    secret = (service.cwd / "data" / DEV_WEBHOOK_SECRET_FILE).read_text().strip()
    # Signed over where the service listens instead of PUBLIC_BASE_URL (what Twilio calls).
    refused = signed_post(service, secret, sms_form(phone, "STATUS"), url=f"{service.url}/twilio/sms")
    assert refused.status_code == 403


def test_qdn_chat_from_another_installation_is_refused_in_one_line(service, tmp_path):
    """A simulator run from another folder (its own data, so its own secret) against this service."""
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    load_settings({"DATABASE_URL": f"tinydb:///{tmp_path}/data/qdn.json"}, env_file=None)  # its first start
    (tmp_path / ".env").write_text(f"PUBLIC_BASE_URL=http://localhost:{service.port}\n")
    token = (service.cwd / "data" / API_TOKEN_FILE).read_text().strip()  # the dashboard token is shared
    done = subprocess.run(
        [sys.executable, "-m", "web", "chat", "--from", typed, "--url", service.url],
        input="STOP\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**qdn_environ(), "API_TOKEN": token},
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: the service refused the signed text (403)")
    with api(service) as client:
        logged = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert kinds(logged, direction="inbound") == []
        assert client.get("/messages", params={"phone": phone}).json()["messages"] == logged


# -- (f) another business of the deployment (its Twilio account: here the console), by --to ----

RIDGE_NUMBER = "+15125550888"
RIDGE_DISPATCHER = "+15125550180"


@pytest.fixture(scope="module")
def ridge(service: LiveServer) -> dict[str, str]:
    """Business "ridge", added over the admin API with no Twilio account of its own: what qdn needs to be its phone."""
    admin_token = (service.cwd / "data" / ADMIN_TOKEN_FILE).read_text().strip()
    body = {
        "slug": "ridge",
        "name": "Ridge Hauling",
        "phone": "+15125550800",
        "timezone": "America/Chicago",
        "numbers": [RIDGE_NUMBER],
        "dispatchers": [RIDGE_DISPATCHER],
    }
    response = httpx.post(
        f"{service.url}/admin/businesses", json=body, headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return {"QDN_API_TOKEN": response.json()["token"]["token"]}  # its dashboard token, as a person exports it


def ridge_job(server: LiveServer, ridge: dict[str, str], phone: str) -> dict[str, Any]:
    body = {"customer_name": "Dana Whitfield", "customer_phone": phone, "service_type": "junk removal"}
    headers = {"Authorization": f"Bearer {ridge['QDN_API_TOKEN']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        response = client.post("/jobs", json=body)
        assert response.status_code == 201, response.text
        job = response.json()

        def sent() -> bool:
            messages = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
            return bool(messages) and all(m["status"] != "pending" for m in messages)

        wait_until(sent, f"ridge's job {job['id']}'s booking text was sent")
    return job


def test_to_another_business_number_texts_that_business(service, ridge):
    typed, phone = new_customer_phone()
    job = ridge_job(service, ridge, phone)
    run = qdn(service, "chat", "--from", typed, "--to", "(512) 555-0888", "--wait", "0", stdin="STATUS\n", env=ridge)
    assert run.code == 0, run.err
    header, sent, reply = run.lines
    assert header == f"Simulated phone {phone} texting {RIDGE_NUMBER} via {service.url}"
    assert sent == "> STATUS"
    assert reply.startswith(f"< Ridge Hauling: Job {job['id']} (junk removal) is scheduled")
    assert reply.endswith(f"Track: {job['tracking_url']}")
    # The default business (the number qdn chat texts without --to) has no job for this phone.
    default = qdn(service, "chat", "--from", typed, "--wait", "0", stdin="STATUS\n")
    (answer,) = [line for line in default.lines if line.startswith("< ")]
    assert answer.startswith("< QuickDumpNow: no open jobs for this number.")


def test_another_business_dispatcher_moves_its_job_and_its_customers_phone_shows_the_text(service, ridge, switch_on):
    typed, phone = new_customer_phone()
    job = ridge_job(service, ridge, phone)
    customer = switch_on(typed, "--to", RIDGE_NUMBER, env=ridge)

    dispatcher = qdn(service, "chat", "--from", RIDGE_DISPATCHER, "--to", RIDGE_NUMBER, "--wait", "0",
                     stdin=f"EN ROUTE {job['id']} 20\n", env=ridge)  # fmt: skip
    assert dispatcher.code == 0, dispatcher.err
    assert dispatcher.lines[1:] == [
        f"> EN ROUTE {job['id']} 20",
        f"< {job['id']} -> en route (ETA 20 min). Customer texted.",
    ]
    shown = customer.wait_for(lambda line: line.startswith("< [notification] "))
    assert shown.startswith("< [notification] Ridge Hauling: Dana, ") and "ETA 20 min" in shown
    run = customer.close()
    assert run.code == 0, run.err
    assert run.out.count("< [notification] ") == 1


# -- (g) a picture the phone receives opens on the phone ---------------------------------------


def test_a_picture_sent_to_the_phone_is_a_link_it_can_open(service, switch_on, tmp_path):
    """The link shown is the signed `/m/...` one an MMS carries, not the dashboard's `/media/...` (a 401)."""
    typed, phone = new_customer_phone()
    job = new_job(service, phone)
    customer = switch_on(typed)
    picture = tmp_path / "junk pile.jpg"
    picture.write_bytes(jpeg())
    customer.type(f'/photo "{picture}" How much to haul this?')

    with api(service) as client:

        def kept() -> str | None:
            messages = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
            media = [item for m in messages if m["direction"] == "inbound" for item in m["media"] if item["type"]]
            return media[0]["id"] if media else None

        media_id = wait_until(kept, "the customer's picture was fetched and kept")
        sent = client.post(f"/jobs/{job['id']}/messages", json={"body": "Is this all of it?", "media": [media_id]})
        assert sent.status_code == 201, sent.text
    customer.wait_for(lambda line: line == "< [relay] Is this all of it?")
    link = customer.wait_for(lambda line: line.startswith("  [picture] ")).removeprefix("  [picture] ")
    assert link.startswith(f"http://localhost:{service.port}/m/default/"), link
    opened = httpx.get(link.replace("localhost", "127.0.0.1"), timeout=10)  # as a phone: no token
    assert opened.status_code == 200 and opened.content == picture.read_bytes()
    assert customer.close().code == 0

    # `qdn log` shows the same kind of link: the customer's picture and the one sent back, each openable.
    logged = qdn(service, "log", "--job", str(job["id"]))
    assert logged.code == 0, logged.err
    shown = [line.strip().removeprefix("[picture] ") for line in logged.lines if line.strip().startswith("[picture] ")]
    assert len(shown) == 2 and all(f" (image/jpeg, {len(jpeg()) / 1024:,.0f} KB)" in line for line in shown), shown
    for line in shown:
        url = line.split(" ")[0]
        assert url.startswith(f"http://localhost:{service.port}/m/default/"), url  # not the token's /media/
        opened = httpx.get(url.replace("localhost", "127.0.0.1"), timeout=10)
        assert opened.status_code == 200 and opened.content == picture.read_bytes()
