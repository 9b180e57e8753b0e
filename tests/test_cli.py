"""The qdn command against a real `qdn serve` process, as a person at a terminal uses it."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.jobs import new_job
from bot.tokens import new_token
from bot.wording import appointment_at, appointment_words
from cli import main as cli
from cli.api_client import ApiClient, service_url
from config.settings import API_TOKEN_FILE, load_settings
from store import JobWrite, open_store
from tests.support import CUSTOMER, DISPATCHER, LiveServer, base_environ, free_port

CHICAGO = ZoneInfo("America/Chicago")


@dataclass
class Run:
    code: int
    out: str
    err: str


def one_line_error(run: Run) -> str:
    assert run.code != 0, run.out
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("qdn: ")
    assert run.out == ""
    return lines[0][len("qdn: ") :]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One service for the module, with no API_TOKEN set: it makes one and qdn must find it."""
    folder = tmp_path_factory.mktemp("service")
    env = base_environ(folder)
    del env["API_TOKEN"]
    server = LiveServer(env, folder).start()
    yield server
    server.stop()


def service_environ(server: LiveServer) -> dict[str, str]:
    env = base_environ(server.cwd, PORT=str(server.port), HOST="127.0.0.1")
    del env["API_TOKEN"]
    return env


@pytest.fixture
def qdn(service: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `qdn ARGS...` in-process with the service's settings, in its working folder."""
    for key, value in service_environ(service).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.chdir(service.cwd)

    def run(*argv: str, **env: str) -> Run:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as exit:  # argparse usage errors
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def api(server: LiveServer) -> httpx.Client:
    token = (server.cwd / "data" / API_TOKEN_FILE).read_text().strip()
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def created_id(run: Run) -> int:
    assert run.code == 0, run.err
    match = re.match(r"Job (\d+) for ", run.out)
    assert match, run.out
    return int(match.group(1))


# -- jobs ---------------------------------------------------------------------


def test_jobs_create_list_show_status_round_trip(qdn, service):
    run = qdn(
        "jobs",
        "create",
        "--name",
        "Dana Whitfield",
        "--phone",
        "(512) 555-0199",
        "--service",
        "junk removal",
        "--address",
        "4512 Ridgeview Dr, Austin, TX 78731",
        "--total",
        "$1,200",
        "--scheduled",
        "2026-12-01T08:30",
    )
    job_id = created_id(run)
    with api(service) as client:
        job = client.get(f"/jobs/{job_id}").json()
    assert run.out.splitlines() == [
        f"Job {job_id} for Dana Whitfield: scheduled for Tue Dec 1, 8:30 AM. Tracking: {job['tracking_url']}",
        "Times in America/Chicago (CST).",
    ]
    assert job["total"] == 1200.0 and job["customer_phone"] == CUSTOMER

    listed = qdn("jobs", "list")
    assert listed.code == 0, listed.err
    header, *rows, zone = listed.out.splitlines()
    assert header.split() == ["ID", "STATUS", "CUSTOMER", "PHONE", "SERVICE", "APPOINTMENT", "TOTAL"]
    assert zone.startswith("Times in America/Chicago (")
    row = next(row for row in rows if row.startswith(f"{job_id} "))
    assert re.split(r"\s{2,}", row) == [
        str(job_id),
        "scheduled",
        "Dana Whitfield",
        CUSTOMER,
        "junk removal",
        "Tue Dec 1, 8:30 AM",  # TIMEZONE (Chicago), as the customer's texts say it
        "$1,200.00",
    ]

    moved = qdn("jobs", "status", str(job_id), "en route", "--eta", "20")
    assert moved.code == 0, moved.err
    assert moved.out.strip() == f"Job {job_id} is en route (ETA 20 min). Tracking: {job['tracking_url']}"
    done = qdn("jobs", "status", str(job_id), "COMPLETE", "--total", "350")
    assert done.code == 0, done.err

    shown = qdn("jobs", "show", str(job_id))
    assert shown.code == 0, shown.err
    facts = dict(
        line.split(":", 1) for line in shown.out.splitlines() if not line.startswith(("  ", "History", "Times in"))
    )
    assert {key: value.strip() for key, value in facts.items()} == {
        "Job": str(job_id),
        "Status": "complete",
        "Customer": f"Dana Whitfield  {CUSTOMER}",
        "Service": "junk removal",
        "Address": "4512 Ridgeview Dr, Austin, TX 78731",
        "Appointment": "Tue Dec 1, 8:30 AM",  # TIMEZONE (Chicago), as given
        "Confirmed": "not yet",  # no C after a reminder (tests/test_confirm_by_text.py)
        "Total": "$350.00",
        "Invoice": "-",
        "Notes": "-",
        "Tracking": job["tracking_url"],
    }
    with api(service) as client:
        history = client.get(f"/jobs/{job_id}").json()["history"]
    local = [datetime.fromisoformat(step["at"].replace("Z", "+00:00")).astimezone(CHICAGO) for step in history]
    zones = ", ".join(dict.fromkeys(str(moment.tzname()) for moment in [*local, datetime(2026, 12, 1, tzinfo=CHICAGO)]))
    assert shown.out.splitlines()[-4:] == [
        f"  {local[0]:%a %b %d %H:%M}  booked  by api",  # when it was booked, never read as the appointment
        f"  {local[1]:%a %b %d %H:%M}  en route (ETA 20 min)  by api",
        f"  {local[2]:%a %b %d %H:%M}  complete  by api",
        f"Times in America/Chicago ({zones}).",
    ]


def test_jobs_list_filters_by_status(qdn):
    job_id = created_id(
        qdn("jobs", "create", "--name", "Lena Fischer", "--phone", "512-555-0163", "--service", "dump trailer rental")
    )
    assert qdn("jobs", "status", str(job_id), "cancelled").code == 0
    cancelled = qdn("jobs", "list", "--status", "cancelled")
    assert cancelled.code == 0
    assert any(line.startswith(f"{job_id} ") for line in cancelled.out.splitlines())
    assert all("cancelled" in line for line in cancelled.out.splitlines()[1:] if not line.startswith("Times in"))
    assert not any(
        line.startswith(f"{job_id} ") for line in qdn("jobs", "list", "--status", "scheduled").out.splitlines()
    )


def test_status_spellings_dispatchers_use_work_in_qdn(qdn):
    def add(name: str, phone: str) -> int:
        return created_id(qdn("jobs", "create", "--name", name, "--phone", phone, "--service", "junk removal"))

    on_way, there = add("Ana Cruz", "512-555-0150"), add("Bo Lin", "512-555-0151")
    assert qdn("jobs", "status", str(on_way), "EN-ROUTE", "--eta", "15").code == 0
    assert qdn("jobs", "status", str(there), "on site").code == 0
    listed = qdn("jobs", "list", "--status", "en route,arrived")
    assert listed.code == 0, listed.err
    rows = [row for row in listed.out.splitlines()[1:] if not row.startswith("Times in")]
    status_of = {row.split()[0]: re.split(r"\s{2,}", row)[1] for row in rows}
    assert status_of[str(on_way)] == "en route (ETA 15 min)" and status_of[str(there)] == "arrived"
    assert all(status.startswith(("en route", "arrived")) for status in status_of.values())
    done = qdn("jobs", "status", str(there), "done")
    assert done.code == 0, done.err
    assert done.out.startswith(f"Job {there} is complete. ")


def test_a_date_appointment_shows_as_that_day(qdn, service):
    job_id = created_id(
        qdn("jobs", "create", "--name", "Cy Park", "--phone", "512-555-0152", "--service", "junk removal",
            "--scheduled", "2026-12-05")
    )  # fmt: skip
    with api(service) as client:
        assert client.get(f"/jobs/{job_id}").json()["scheduled_for"] == "2026-12-05"
    shown = qdn("jobs", "show", str(job_id))
    assert "Appointment: Sat Dec 5\n" in shown.out
    row = next(line for line in qdn("jobs", "list").out.splitlines() if line.startswith(f"{job_id} "))
    assert re.split(r"\s{2,}", row)[5] == "Sat Dec 5"


def qdn_process(service: LiveServer, *argv: str, stdout: Any) -> subprocess.Popen[bytes]:
    """The installed `qdn` in its own process, with the service's settings, writing to `stdout`."""
    command = Path(sys.executable).with_name("qdn")
    env = {key: value for key, value in os.environ.items() if key != "API_TOKEN"}
    env.update(service_environ(service))
    return subprocess.Popen([str(command), *argv], stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=service.cwd)


def test_a_reader_that_has_gone_ends_qdn_quietly(service):
    """`qdn jobs list | head -3` when head is already done: no traceback, no "Exception ignored"."""
    with qdn_process(service, "jobs", "list", stdout=subprocess.PIPE) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        writer.stdout.close()  # every write qdn makes now fails with EPIPE
        err = writer.stderr.read().decode()
    assert err == ""
    assert writer.returncode == 1  # as Python's "Note on SIGPIPE" does; a shell pipeline reports its last command


def test_qdn_log_into_head_ends_quietly(service):
    """`qdn log --job ID | head -1` with a conversation longer than the pipe holds."""
    with api(service) as client:
        job = client.post(
            "/jobs", json={"customer_name": "Di Shaw", "customer_phone": "512-555-0153", "service_type": "junk removal"}
        ).json()
        for n in range(80):  # ~120 KB of transcript: more than the pipe buffer and head's first read
            body = f"Update {n}: " + "the crew is loading the trailer, " * 45
            assert client.post(f"/jobs/{job['id']}/messages", json={"body": body}).status_code == 201
    with qdn_process(service, "log", "--job", str(job["id"]), stdout=subprocess.PIPE) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        with subprocess.Popen(["head", "-1"], stdin=writer.stdout, stdout=subprocess.PIPE) as reader:
            writer.stdout.close()  # head is the only reader now
            first, _ = reader.communicate(timeout=30)
        err = writer.stderr.read().decode()
    assert first.decode() == f"Job {job['id']}: Di Shaw, junk removal, scheduled\n"
    assert err == ""


def demo_rows(run: Run) -> list[list[str]]:
    """The job lines of `qdn demo`: [id, name, phone, status, appointment] each."""
    assert run.code == 0, run.err
    return [re.split(r"\s{2,}", line.strip()) for line in run.out.splitlines()[1:6]]


def test_demo_adds_jobs_in_every_state_and_says_which(qdn, service):
    with api(service) as client:  # the walkthrough's own job first, for the phone every example uses
        assert client.post("/jobs", json={"customer_name": "Dana Whitfield", "customer_phone": CUSTOMER,
                                          "service_type": "junk removal"}).status_code == 201  # fmt: skip
    run = qdn("demo")
    lines = run.out.splitlines()
    assert lines[0] == f"Added 5 demo jobs to {service.url}:"
    rows = demo_rows(run)
    with api(service) as client:
        jobs = [client.get(f"/jobs/{row[0]}").json() for row in rows]
    assert [(job["status"], job["eta_minutes"]) for job in jobs] == [
        ("scheduled", None),
        ("en_route", 25),
        ("arrived", None),
        ("complete", None),
        ("cancelled", None),
    ]
    for row, job in zip(rows, jobs, strict=True):  # each line: id, name, phone, status, appointment
        assert row == [str(job["id"]), job["customer_name"], job["customer_phone"],
                       "en route (ETA 25 min)" if job["status"] == "en_route" else job["status"],
                       appointment_words(job["scheduled_for"], CHICAGO)]  # fmt: skip
    phones = [job["customer_phone"] for job in jobs]
    assert len(set(phones)) == 5 and CUSTOMER not in phones and DISPATCHER not in phones  # phones of its own
    complete = jobs[3]
    assert complete["total"] == 385.0 and complete["invoice_url"].startswith("https://")
    assert all(len(job["history"]) >= 1 and job["address"] for job in jobs)
    assert lines[6].startswith("Times in America/Chicago (")
    assert f'qdn chat --from "{phones[0]}"' in lines[7]
    assert f'qdn chat --from "{DISPATCHER}" and text "EN ROUTE {jobs[0]["id"]} 20"' in lines[7]


@pytest.mark.parametrize("clock", ["06:10", "13:00", "18:14", "21:30", "23:50"])
def test_demo_appointments_are_still_to_come_at_any_hour(service, clock):
    """Run in the evening, the job on its way is due after the crew gets there, not "Today 8:00 AM"."""
    from cli.demo import add_demo_jobs

    settings = load_settings(service_environ(service), env_file=None, read_only=True)
    now = datetime.combine(datetime.now(CHICAGO).date(), datetime.strptime(clock, "%H:%M").time(), CHICAGO)
    with ApiClient.from_settings(settings, service.url) as client:
        lines = add_demo_jobs(client, settings, CHICAGO, now=now)
        jobs = [client.get_job(int(line.split()[0])) for line in lines[1:6]]
    for job in jobs:
        moment = appointment_at(job["scheduled_for"], CHICAGO)
        if moment is None:  # a day with no time (the job done today): that day, never an earlier one
            assert job["status"] == "complete" and job["scheduled_for"] == now.date().isoformat()
        else:
            assert moment > now, (job["customer_name"], job["scheduled_for"], clock)
    on_the_way = jobs[1]
    due = appointment_at(on_the_way["scheduled_for"], CHICAGO)
    assert due is not None and due >= now + timedelta(minutes=25)


def test_it_finds_the_token_the_service_made_and_talks_to_host_and_port(qdn, service):
    assert "API_TOKEN" not in service_environ(service)
    assert (service.cwd / "data" / API_TOKEN_FILE).is_file()
    # PUBLIC_BASE_URL is https://sms.example.test (a proxy's origin); qdn still reaches HOST:PORT.
    assert qdn("jobs", "list").code == 0


def test_service_url_is_where_the_service_listens_not_the_public_origin(tmp_path):
    def url(**env: str) -> str:
        return service_url(load_settings(base_environ(tmp_path, **env), env_file=None))

    assert url(HOST="0.0.0.0", PORT="9000") == "http://127.0.0.1:9000"
    assert url(HOST="::", PORT="9000") == "http://127.0.0.1:9000"
    assert url(HOST="::1", PORT="9000") == "http://[::1]:9000"
    assert url(HOST="10.0.0.5") == "http://10.0.0.5:8000"


# -- errors a person understands -----------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("jobs", "show", "99999"), "No job 99999."),
        (("jobs", "status", "99999", "arrived"), "No job 99999."),
        (("log", "--job", "99999"), "No job 99999."),
        (
            ("jobs", "create", "--name", "Al", "--phone", "call me maybe", "--service", "junk removal"),
            "customer_phone: 'call me maybe' is not a phone number",
        ),
        (
            (
                "jobs",
                "create",
                "--name",
                "Al",
                "--phone",
                "512-555-0199",
                "--service",
                "junk removal",
                "--total",
                "lots",
            ),
            "total: must be an amount in dollars",
        ),
        (("log", "--phone", "junk"), "phone: 'junk' is not a phone number"),
        (
            ("jobs", "status", "1001", "flying"),
            "status: 'flying' is not a status; use scheduled, en route, arrived, complete or cancelled",
        ),
        (
            ("jobs", "list", "--status", "en route,lost"),
            "status: 'lost' is not a status; use scheduled, en route, arrived, complete or cancelled",
        ),
        (
            ("jobs", "create", "--name", "Al", "--phone", "555-1234", "--service", "junk removal"),
            "customer_phone: '555-1234' has no area code; give the whole number, e.g. 512-555-0199",
        ),
        (
            ("jobs", "list", "--url", "ftp://example.test"),
            "--url 'ftp://example.test' is not an http(s) URL, e.g. http://127.0.0.1:8000",
        ),
    ],
)
def test_bad_requests_get_one_line_from_the_service(qdn, argv, expected):
    assert one_line_error(qdn(*argv)) == expected


def test_a_refused_move_says_why(qdn):
    job_id = created_id(
        qdn("jobs", "create", "--name", "Tom Okafor", "--phone", "512-555-0176", "--service", "junk removal")
    )
    assert qdn("jobs", "status", str(job_id), "complete").code == 0
    assert (
        one_line_error(qdn("jobs", "status", str(job_id), "arrived"))
        == f"{job_id} is complete; it can't be marked arrived"
    )
    assert one_line_error(qdn("jobs", "status", str(job_id), "complete", "--eta", "5")) == (
        "eta_minutes: only applies to en_route"
    )


def test_a_wrong_token_says_what_to_do(qdn, service):
    message = one_line_error(qdn("jobs", "list", API_TOKEN="not-the-token"))
    assert message.startswith(f"the service at {service.url} refused the API token (401)")
    assert "API_TOKEN" in message


def test_no_service_there(qdn):
    port = free_port()
    expected = (
        f"cannot reach the QDN service at http://127.0.0.1:{port}; is `qdn serve` running? use --url to point elsewhere"
    )
    assert one_line_error(qdn("jobs", "list", "--url", f"http://127.0.0.1:{port}")) == expected
    assert one_line_error(qdn("demo", PORT=str(port))) == expected  # the wrong port in the settings


def test_a_fresh_folder_gets_told_to_start_the_service_and_nothing_is_made(tmp_path, monkeypatch, capsys):
    env = base_environ(tmp_path)
    del env["API_TOKEN"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["jobs", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qdn: no API token: set API_TOKEN, or start the service once (`qdn serve`)")
    assert not (tmp_path / "data").exists()  # a client never makes the service's secrets


def test_the_installed_command_gives_one_line_too(tmp_path):
    """The real entry point in a real process: no logging noise, no traceback, exit 1."""
    qdn = Path(sys.executable).with_name("qdn")
    env = {**os.environ, **base_environ(tmp_path), "PORT": str(free_port())}
    done = subprocess.run([str(qdn), "jobs", "list"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "cannot reach the QDN service" in done.stderr


# -- qdn log ------------------------------------------------------------------

AT = "2026-03-14T15:04:00.000Z"  # 10:04 in Chicago (daylight time began March 8)


def message(direction: str, kind: str, phone: str, body: str, status: str, created_at: str, **extra: Any) -> dict:
    return {
        "direction": direction,
        "kind": kind,
        "job_id": 1001,
        "phone": phone,
        "from": phone if direction == "inbound" else "+15125550123",
        "to": "+15125550123" if direction == "inbound" else phone,
        "body": body,
        "twilio_sid": None,
        "status": status,
        "error_code": None,
        "error_message": None,
        "created_at": created_at,
        **extra,
    }


async def seed_conversation(database_url: str) -> None:
    """A job with both sides of a conversation, as the webhook and the sender would have logged it."""
    store = await open_store(database_url)
    fields = {"customer_name": "Dana Whitfield", "customer_phone": CUSTOMER, "service_type": "junk removal"}
    booked = "QuickDumpNow: Hi Dana, your junk removal is booked (job 1001)."
    await store.create_job(
        lambda job_id: JobWrite(
            new_job(job_id, new_token(), fields, AT),
            [message("outbound", "notification", CUSTOMER, booked, "delivered", AT)],
        )
    )
    question = "Can you come before noon?\nDog is in the backyard."
    for row in (
        message("inbound", "text", CUSTOMER, question, "received", "2026-03-14T15:10:00.000Z"),
        message(
            "outbound",
            "relay",
            DISPATCHER,
            "Dana (1001): Can you come before noon?",
            "delivered",
            "2026-03-14T15:10:01.000Z",
        ),
        message(
            "outbound",
            "system",
            CUSTOMER,
            "Thanks, we got your message.",
            "failed",
            "2026-03-14T15:10:02.000Z",
            error_code=30006,
            error_message="Landline or unreachable carrier",
        ),
        message("inbound", "command", DISPATCHER, "EN ROUTE 1001 20", "received", "2026-03-15T02:30:00.000Z"),
    ):
        await store.add_message(row)
    await store.close()


@pytest.fixture
def conversation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    env = base_environ(tmp_path)
    asyncio.run(seed_conversation(env["DATABASE_URL"]))
    server = LiveServer(env, tmp_path).start()
    for key, value in {**env, "PORT": str(server.port), "HOST": "127.0.0.1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    yield server
    server.stop()


def run_log(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    code = cli.main(["log", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out.splitlines()


def test_log_job_is_a_transcript_of_both_sides_in_local_time(conversation, capsys):
    assert run_log(capsys, "--job", "1001") == [
        "Job 1001: Dana Whitfield, junk removal, scheduled",
        "Times in America/Chicago (CDT).",  # the texts' own: daylight time began March 8
        "-- Saturday March 14, 2026 --",
        f"10:04 → to Dana (customer) {CUSTOMER}  [notification, delivered]",
        "      QuickDumpNow: Hi Dana, your junk removal is booked (job 1001).",
        f"10:10 ← from Dana (customer) {CUSTOMER}  [text, received]",
        "      Can you come before noon?",
        "      Dog is in the backyard.",
        f"10:10 → to dispatcher {DISPATCHER}  [relay, delivered]",
        "      Dana (1001): Can you come before noon?",
        f"10:10 → to Dana (customer) {CUSTOMER}  [system, failed (30006: Landline or unreachable carrier)]",
        "      Thanks, we got your message.",
        f"21:30 ← from dispatcher {DISPATCHER}  [command, received]",
        "      EN ROUTE 1001 20",
    ]  # 02:30 UTC on the 15th is still the 14th in Chicago: no new day heading


def test_log_phone_shows_that_phones_texts_in_any_format(conversation, capsys):
    lines = run_log(capsys, "--phone", "512.555.0199")
    assert lines[:2] == [f"Texts with {CUSTOMER}", "Times in America/Chicago (CDT)."]
    assert [line for line in lines if line[:2].isdigit()] == [
        f"10:04 → to {CUSTOMER}  [notification, delivered]",
        f"10:10 ← from {CUSTOMER}  [text, received]",
        f"10:10 → to {CUSTOMER}  [system, failed (30006: Landline or unreachable carrier)]",
    ]


def test_log_of_a_phone_with_no_texts(conversation, capsys):
    assert run_log(capsys, "--phone", "512-555-0111") == [
        "Texts with 512-555-0111",
        "No texts yet.",  # no times, so no zone
    ]


def test_log_needs_a_job_or_a_phone(qdn):
    run = qdn("log")
    assert run.code == 2 and "one of the arguments --job --phone --unknown is required" in run.err


# -- GET /messages?phone= (the endpoint qdn log and qdn chat read) -------------


def test_messages_by_phone_endpoint(client):
    created = client.post(
        "/jobs",
        json={"customer_name": "Dana Whitfield", "customer_phone": "512-555-0199", "service_type": "junk removal"},
    ).json()
    found = client.get("/messages", params={"phone": "+1 (512) 555-0199"})
    assert found.status_code == 200
    (notification,) = found.json()["messages"]
    assert notification["job_id"] == created["id"] and notification["direction"] == "outbound"
    assert set(notification) == {
        "id",
        "media",
        "direction",
        "kind",
        "job_id",
        "phone",
        "from",
        "to",
        "body",
        "twilio_sid",
        "status",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
        "resend_of",
        "send_at",
    }
    assert client.get("/messages", params={"phone": "512-555-0111"}).json() == {"messages": [], "next_cursor": None}


@pytest.mark.parametrize("query", [{"phone": "junk"}, {"phone": "  "}, {}])
def test_messages_by_phone_refuses_junk(client, query):
    response = client.get("/messages", params=query)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["message"].startswith("phone")


def test_messages_by_phone_needs_the_token(anon):
    assert anon.get("/messages", params={"phone": "512-555-0199"}).status_code == 401


def test_log_shows_each_picture_of_a_text_as_its_link_with_type_and_size():
    from zoneinfo import ZoneInfo

    from cli.transcript import transcript

    text = {"direction": "inbound", "kind": "text", "phone": CUSTOMER, "body": "How much to haul this?",
            "status": "received", "created_at": "2026-03-14T15:10:00.000Z",
            "media": [{"id": "AAA", "type": "image/jpeg", "size": 3 * 1024 * 1024, "url": "https://s.test/media/AAA"},
                      {"id": "BBB", "type": None, "size": None, "url": "https://s.test/media/BBB"}]}  # fmt: skip
    assert transcript([text], ZoneInfo("America/Chicago"), lambda phone: "Dana (customer)")[2:] == [
        "      How much to haul this?",
        "      [picture] https://s.test/media/AAA (image/jpeg, 3,072 KB)",
        "      [picture] https://s.test/media/BBB",  # not kept yet: no type or size to tell
    ]
