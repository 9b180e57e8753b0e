"""`qdn business ...` against a real `qdn serve` process, as the deployment's operator uses it."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli import business_text
from cli import main as cli
from config.settings import ADMIN_TOKEN_FILE, API_TOKEN_FILE
from tests.support import LiveServer, base_environ, job_body
from tests.test_cli import Run, one_line_error
from tests.twilio_fake import PUBLIC_BASE_URL

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2
AUTH_TOKEN = "cli-auth-token-5f1d0c3b9a7e2468"
API_SECRET = "cli-api-secret-8e2b4f6a1c3d5079"
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN_LINE = re.compile(r"^Dashboard token (tok_[0-9a-f]{8}) for ([a-z0-9-]+): (qdn_\S+)$", re.MULTILINE)


def service_environ(folder: Path) -> dict[str, str]:
    """The service's settings with neither API_TOKEN nor ADMIN_TOKEN: it makes both, qdn must find them."""
    env = base_environ(folder)
    del env["API_TOKEN"]
    return env


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("service")
    server = LiveServer(service_environ(folder), folder).start()
    yield server
    server.stop()


@pytest.fixture
def qdn(service: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `qdn ARGS...` in-process with the service's settings, in its working folder; `stdin` is piped."""
    for key, value in service_environ(service.cwd).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PORT", str(service.port))
    monkeypatch.setenv("HOST", "127.0.0.1")
    for key in ("API_TOKEN", "ADMIN_TOKEN", "QDN_TWILIO_AUTH_TOKEN", "QDN_TWILIO_API_SECRET", "QDN_EVENTS_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(service.cwd)

    def run(*argv: str, stdin: str = "", **env: str) -> Run:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as exit:  # argparse usage errors
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def dashboard(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def api_token(server: LiveServer) -> str:
    return (server.cwd / "data" / API_TOKEN_FILE).read_text().strip()


def issued(run: Run, slug: str) -> tuple[str, str]:
    """(token id, token) from the output of `add` or `token`: printed once, with a line saying so."""
    assert run.code == 0, run.err
    found = TOKEN_LINE.search(run.out)
    assert found and found[2] == slug, run.out
    assert "shown this once" in run.out
    return found[1], found[3]


def test_add_list_show_and_the_token_works(qdn, service):
    run = qdn(
        "business", "add", "--slug", "acme", "--name", "Acme Hauling", "--phone", "512-555-0150",
        "--timezone", "America/Denver", "--number", "512-555-0140", "--number", "512-555-0141",
        "--dispatcher", "512-555-0177", "--accent-color", "#17a", "--reminder-hour", "", "--quiet-hours", "22-7",
        "--review-url", "https://g.page/r/acme/review", "--review-hour", "9",
    )  # fmt: skip
    token_id, token = issued(run, "acme")
    assert run.out.splitlines()[0] == "Business acme (Acme Hauling) added; texts on +15125550140, +15125550141."
    with dashboard(service, token) as client:
        created = client.post("/jobs", json=job_body())
        assert created.status_code == 201, created.text
        assert [job["id"] for job in client.get("/jobs").json()["jobs"]] == [created.json()["id"]]
    with dashboard(service, api_token(service)) as default:
        assert created.json()["token"] not in default.get("/jobs").text  # acme's job is acme's alone

    listed = qdn("business", "list")
    assert listed.code == 0, listed.err
    header, *rows = listed.out.splitlines()
    assert header.split() == ["SLUG", "NAME", "TEXTS", "ON", "DISPATCHERS", "TOKENS", "MANAGED", "BY"]
    assert re.split(r"\s{2,}", rows[0]) == ["default", "QuickDumpNow", "-", "1", "API_TOKEN", "the settings"]
    acme = next(row for row in rows if row.startswith("acme "))
    assert re.split(r"\s{2,}", acme) == [
        "acme", "Acme Hauling", "+15125550140, +15125550141", "1", "1", "qdn business",
    ]  # fmt: skip

    shown = qdn("business", "show", "acme")
    assert shown.code == 0, shown.err
    facts = dict(re.split(r":\s+", line, maxsplit=1) for line in shown.out.splitlines())
    assert facts["Business"] == "acme: Acme Hauling"
    assert (facts["Phone"], facts["Time zone"], facts["Accent colour"]) == ("+15125550150", "America/Denver", "#1177aa")
    assert (facts["Reminders"], facts["Quiet hours"], facts["Twilio"]) == ("off", "22-7", "the deployment's")
    assert facts["Reviews"] == "https://g.page/r/acme/review at 9:00, once per phone in the deployment's setting"
    assert facts["Tokens"].startswith(f"{token_id} (made ")
    assert qdn("business", "update", "acme", "--review-url", "", "--review-interval-days", "30").code == 0
    assert "Reviews:       off\n" in qdn("business", "show", "acme").out
    # The address to paste into Twilio: the business's own (SPEC "Webhook addresses name the business").
    assert facts["Webhook"].startswith(f"{PUBLIC_BASE_URL}/twilio/acme/sms (set it as")
    assert token not in shown.out and token not in listed.out

    default = qdn("business", "show", "default")
    assert "the settings (environment)" in default.out and "API_TOKEN" in default.out
    assert f"{PUBLIC_BASE_URL}/twilio/default/sms" in default.out
    facts = dict(re.split(r":\s+", line, maxsplit=1) for line in default.out.splitlines())
    # No TEMPLATES_PATH: the built-in wording, said so; one text a second, in the singular.
    assert (facts["Templates"], facts["Send rate"]) == ("the built-in wording", "1 text a second")
    assert facts["Ack interval"] == "3 hours"


def test_details_count_in_the_singular_and_name_the_templates_file():
    default = {"slug": "default", "name": "QuickDumpNow", "managed_by": "settings", "ack_interval_hours": 1,
               "send_rate_per_second": 2.5, "templates": None, "templates_file": "/etc/qdn/wording.toml"}  # fmt: skip
    facts = dict(re.split(r":\s+", line, maxsplit=1) for line in business_text.details(default).splitlines())
    assert facts["Templates"] == "TEMPLATES_PATH /etc/qdn/wording.toml, over the built-in wording"
    assert (facts["Send rate"], facts["Ack interval"]) == ("2.5 texts a second", "1 hour")


def test_secrets_come_from_the_environment_or_piped_input_never_the_command_line(qdn, service):
    run = qdn(
        "business", "add", "--slug", "bravo", "--name", "Bravo Bins", "--number", "512-555-0142",
        "--account-sid", ACCOUNT_SID, "--auth-token", "--api-key", API_KEY, "--api-secret",
        "--events-url", "https://dash.example.test/e", "--events-secret",
        stdin=f"{API_SECRET}\n{EVENTS_SECRET}\n", QDN_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )  # fmt: skip
    issued(run, "bravo")
    shown = qdn("business", "show", "bravo").out
    assert f"own account {ACCOUNT_SID}, auth token …2468, API key {API_KEY} (secret …5079)" in shown
    assert "https://dash.example.test/e (secret …LaSw)" in shown
    registry = (service.cwd / "data" / "qdn.businesses.json").read_text()
    for secret in (AUTH_TOKEN, API_SECRET, EVENTS_SECRET):
        assert secret not in shown and secret not in run.out and secret not in registry
    assert json.loads(registry)["businesses"]["bravo"]["twilio"]["auth_token"]["sealed"]

    # A value after --auth-token is not taken as the secret: argparse refuses it.
    assert qdn("business", "update", "bravo", "--auth-token", AUTH_TOKEN).code == 2
    # No secret given at all: one line saying where it comes from.
    message = one_line_error(qdn("business", "update", "bravo", "--events-url", "https://x.test/", "--events-secret"))
    assert message == "--events-secret: no secret given; set QDN_EVENTS_SECRET, or type it when asked"


def test_update_and_tokens(qdn, service, tmp_path):
    _, first = issued(qdn("business", "add", "--slug", "carol", "--name", "Carol", "--number", "512-555-0143"), "carol")
    templates = tmp_path / "carol.toml"
    templates.write_text('[generic]\narrived = "Carol\'s crew is at your door for job {job_id}. {tracking_url}"\n')
    run = qdn("business", "update", "carol", "--name", "Carol's Cans", "--dispatcher", "512-555-0179",
              "--dispatcher", "Jo Ann:512-555-0178", "--templates", str(templates), "--send-rate", "2")  # fmt: skip
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == "Business carol updated (name, dispatchers, send_rate_per_second, templates)."
    assert "Carol's Cans" in run.out and "+15125550179, Jo Ann:+15125550178" in run.out and "its own, over" in run.out

    second_id, second = issued(qdn("business", "token", "carol"), "carol")
    first_id = re.search(r"(tok_[0-9a-f]{8})", qdn("business", "show", "carol").out)
    assert first_id and first_id[1] != second_id
    revoked = qdn("business", "token", "carol", "--revoke", first_id[1])
    assert revoked.out.strip() == f"Token {first_id[1]} of carol is revoked: it no longer works."
    with dashboard(service, first) as old, dashboard(service, second) as new:
        assert old.get("/jobs").status_code == 401
        assert new.get("/jobs").status_code == 200
    again = one_line_error(qdn("business", "token", "carol", "--revoke", first_id[1]))
    assert again == f"Business 'carol' has no token '{first_id[1]}'."


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ("business", "add", "--slug", "dup", "--name", "D", "--number", "512-555-0144"),
            "slug: A business with slug 'dup' already exists.",
        ),
        (
            ("business", "add", "--slug", "taken", "--name", "T", "--number", "512-555-0144"),
            "numbers: +15125550144 already belongs to another business (dup).",
        ),
        (("business", "add", "--slug", "x", "--name", "X", "--number", "555-1234"), "numbers[0]: "),
        (("business", "add", "--slug", "x", "--name", "X"), "numbers: needs at least one Twilio number"),
        (
            ("business", "add", "--slug", "x", "--name", "X", "--number", "512-555-0145", "--timezone", "Mars/Base"),
            "timezone: 'Mars/Base' is not a known time zone",
        ),
        (("business", "update", "dup", "--account-sid", ACCOUNT_SID), "twilio.auth_token: required"),
        (("business", "update", "dup"), "nothing to change: give what to set"),
        (("business", "update", "default", "--name", "N"), "The default business is configured by the settings"),
        (("business", "token", "default"), "The default business is configured by the settings"),
        (("business", "show", "nobody"), "No business 'nobody'."),
        (("business", "update", "dup", "--templates", "/nonexistent/t.toml"), "cannot read --templates"),
    ],
)
def test_errors_are_one_line_saying_what_to_do(qdn, argv, expected):
    qdn("business", "add", "--slug", "dup", "--name", "D", "--number", "512-555-0144")  # there, or already there
    assert one_line_error(qdn(*argv)).startswith(expected)


def test_a_wrong_or_dashboard_token_says_what_to_do(qdn, service):
    wrong = one_line_error(qdn("business", "list", ADMIN_TOKEN="not-it"))
    assert wrong.startswith(f"the service at {service.url} refused the admin token (401); set ADMIN_TOKEN")
    dash = one_line_error(qdn("business", "list", ADMIN_TOKEN=api_token(service)))
    assert "took ADMIN_TOKEN for a dashboard token (403)" in dash


def test_qdn_reads_the_admin_token_the_service_made(qdn, service):
    assert (service.cwd / "data" / ADMIN_TOKEN_FILE).is_file()
    assert qdn("business", "list").code == 0


def test_a_fresh_folder_gets_told_where_the_admin_token_comes_from(tmp_path, monkeypatch, capsys):
    for key, value in service_environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["business", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("qdn: no admin token: set ADMIN_TOKEN, or start the service once")
    assert not (tmp_path / "data" / ADMIN_TOKEN_FILE).exists()
