"""Production start-up checks (SPEC, "Production start-up checks").

With Twilio settings, PUBLIC_BASE_URL must be the bare https origin Twilio
calls (http:// only on a loopback host) and TWILIO_ACCOUNT_SID must look
like one; a service with no dispatcher says so; a refused webhook logs the
URL its signature was checked against; start-up lists what it loaded.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import respx
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from config.settings import ConfigError, load_settings
from tests.support import API_TOKEN, CUSTOMER, base_environ
from tests.twilio_fake import (
    API_SECRET,
    AUTH_TOKEN,
    FROM_NUMBER,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    twilio_environ,
)
from web.app import create_app


def twilio_settings(tmp_path, **overrides):
    return load_settings(twilio_environ(tmp_path, **overrides), env_file=None)


def refusal(tmp_path, **overrides) -> str:
    with pytest.raises(ConfigError) as refused:
        twilio_settings(tmp_path, **overrides)
    message = str(refused.value)
    assert "\n" not in message  # one line
    for secret in (AUTH_TOKEN, API_SECRET, API_TOKEN):
        assert secret not in message
    return message


# -- PUBLIC_BASE_URL ------------------------------------------------------------------------


def test_twilio_settings_without_public_base_url_stop_start_up(tmp_path):
    env = twilio_environ(tmp_path)
    env.pop("PUBLIC_BASE_URL")
    with pytest.raises(ConfigError) as refused:
        load_settings(env, env_file=None)
    message = str(refused.value)
    assert "PUBLIC_BASE_URL" in message and "https://" in message
    assert AUTH_TOKEN not in message


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://sms.example.test", "https://sms.example.test"),
        ("https://sms.example.test/", "https://sms.example.test"),  # a trailing slash alone is stripped
        ("https://sms.example.test:8443", "https://sms.example.test:8443"),
        ("HTTPS://sms.example.test", "https://sms.example.test"),  # Twilio calls (and signs) https://
        ("http://localhost:4010", "http://localhost:4010"),  # a local Twilio mock
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://LOCALHOST", "http://LOCALHOST"),
    ],
)
def test_a_bare_https_origin_or_a_loopback_http_one_is_accepted(tmp_path, given, kept):
    settings = twilio_settings(tmp_path, PUBLIC_BASE_URL=given)
    assert settings.twilio_live
    assert settings.public_base_url == kept


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("https://sms.example.test/twilio", "https://sms.example.test"),  # a path: Twilio would sign another URL
        ("https://sms.example.test/twilio/sms", "https://sms.example.test"),
        ("https://sms.example.test//", "https://sms.example.test"),
        ("https://sms.example.test?x=1", "https://sms.example.test"),
        ("https://sms.example.test#top", "https://sms.example.test"),
        ("http://sms.example.test", "https://sms.example.test"),  # plain http on a public host
        ("http://10.0.0.7:8000", "https://"),
        ("http://127.0.0.2", "https://"),  # only the three loopback names
        ("ftp://sms.example.test", "https://"),
        ("sms.example.test", "https://"),  # no scheme at all
        ("https://", "https://"),  # no host
        ("https:///twilio", "https://"),
        ("https://sms.example.test:port", "https://"),
        ("https://sms.example.test:", "https://"),
        ("https://sms example.test", "https://"),
    ],
)
def test_anything_but_a_bare_origin_stops_start_up_naming_public_base_url(tmp_path, given, hint):
    message = refusal(tmp_path, PUBLIC_BASE_URL=given)
    assert message.startswith("PUBLIC_BASE_URL")
    assert hint in message


def test_credentials_in_public_base_url_are_refused_and_not_repeated(tmp_path):
    message = refusal(tmp_path, PUBLIC_BASE_URL="https://ops:hunter2@sms.example.test")
    assert "PUBLIC_BASE_URL" in message
    assert "hunter2" not in message


def test_without_twilio_public_base_url_is_not_checked(tmp_path):
    settings = load_settings(base_environ(tmp_path, PUBLIC_BASE_URL="http://192.168.1.20:8000/"), env_file=None)
    assert not settings.twilio_live
    assert settings.public_base_url == "http://192.168.1.20:8000"


# -- TWILIO_ACCOUNT_SID ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sid",
    [
        "AC" + "3f" * 15 + "3",  # 31 hex
        "AC" + "3f" * 16 + "0",  # 33 hex
        "AC" + "g" * 32,  # not hex
        "SK" + "3f" * 16,  # an API key SID in the wrong place
        "ac" + "3f" * 16,
        " AC" + "3f" * 16,
        AUTH_TOKEN,  # the auth token pasted into the wrong setting: never echoed
    ],
)
def test_an_account_sid_that_does_not_look_like_one_stops_start_up(tmp_path, sid):
    message = refusal(tmp_path, TWILIO_ACCOUNT_SID=sid)
    assert message.startswith("TWILIO_ACCOUNT_SID")
    assert "AC" in message and "32" in message
    assert sid.strip() not in message


def test_an_account_sid_with_upper_case_hex_is_fine(tmp_path):
    assert twilio_settings(tmp_path, TWILIO_ACCOUNT_SID="AC" + "3F" * 16).twilio_live


# -- qdn serve ------------------------------------------------------------------------------


def serve(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "web", "serve"],
        cwd=tmp_path,
        env={**environ, **env, "PORT": "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_qdn_serve_without_public_base_url_exits_2_with_one_line(tmp_path):
    env = twilio_environ(tmp_path)
    env.pop("PUBLIC_BASE_URL")
    done = serve(tmp_path, env)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: PUBLIC_BASE_URL")
    assert AUTH_TOKEN not in done.stderr and API_SECRET not in done.stderr


def test_qdn_serve_with_a_public_http_origin_exits_2(tmp_path):
    done = serve(tmp_path, twilio_environ(tmp_path, PUBLIC_BASE_URL="http://sms.example.test"))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: PUBLIC_BASE_URL") and "https://sms.example.test" in line


def test_qdn_serve_with_a_bad_account_sid_exits_2_without_the_token(tmp_path):
    done = serve(tmp_path, twilio_environ(tmp_path, TWILIO_ACCOUNT_SID=AUTH_TOKEN))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: TWILIO_ACCOUNT_SID")
    assert AUTH_TOKEN not in done.stderr and API_SECRET not in done.stderr


# -- start-up log ---------------------------------------------------------------------------


def start_up_records(caplog, settings) -> list[logging.LogRecord]:
    caplog.set_level(logging.INFO, logger="qdn")
    with respx.mock(assert_all_called=False) as router:
        FakeTwilio(router)
        with TestClient(create_app(settings)):
            pass
    return [record for record in caplog.records if record.name == "qdn.app"]


def all_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(record.getMessage() for record in records)


def test_no_dispatcher_is_a_warning_at_start_up(tmp_path, caplog):
    settings = load_settings(base_environ(tmp_path, DISPATCHER_NUMBERS=""), env_file=None)
    warnings = [r for r in start_up_records(caplog, settings) if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "DISPATCHER_NUMBERS" in message and "free texts" in message and "nobody" in message


def test_with_a_dispatcher_there_is_no_such_warning(tmp_path, caplog):
    settings = load_settings(base_environ(tmp_path), env_file=None)
    records = start_up_records(caplog, settings)
    assert not [r for r in records if r.levelno >= logging.WARNING]


def test_start_up_lists_what_it_loaded_in_console_mode(tmp_path, caplog):
    settings = load_settings(base_environ(tmp_path, BUSINESS_NAME="Haul Pros"), env_file=None)
    text = all_text([r for r in start_up_records(caplog, settings) if r.levelno == logging.INFO])
    assert "Haul Pros" in text
    assert "built-in" in text  # no TEMPLATES_PATH
    assert "tinydb" in text and str(settings.data_folder) in text
    assert "console" in text
    assert "https://sms.example.test" in text
    assert API_TOKEN not in text and str(settings.webhook_secret) not in text


def test_start_up_lists_the_twilio_sender_and_template_file_without_secrets(tmp_path, caplog):
    templates = tmp_path / "templates.toml"
    templates.write_text("")
    settings = twilio_settings(tmp_path, TEMPLATES_PATH=str(templates))
    text = all_text([r for r in start_up_records(caplog, settings) if r.levelno == logging.INFO])
    assert str(templates) in text
    assert "Twilio" in text
    assert FROM_NUMBER not in text and FROM_NUMBER[1:] not in text and FROM_NUMBER[-4:] in text
    assert "https://sms.example.test" in text
    for secret in (AUTH_TOKEN, API_SECRET, API_TOKEN):
        assert secret not in text


def test_start_up_names_the_messaging_service(tmp_path, caplog):
    settings = twilio_settings(tmp_path, TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID, TWILIO_FROM_NUMBER="")
    text = all_text(start_up_records(caplog, settings))
    assert "messaging service" in text and MESSAGING_SERVICE_SID[-4:] in text
    assert AUTH_TOKEN not in text


# -- a refused webhook ----------------------------------------------------------------------


def test_a_failed_signature_logs_the_url_it_was_checked_against_and_nothing_secret(tmp_path, caplog):
    settings = load_settings(base_environ(tmp_path), env_file=None)
    body = {"From": CUSTOMER, "To": "+15125550123", "Body": "where is my truck", "MessageSid": "SM" + "1" * 32}
    signature = RequestValidator("not-the-key").compute_signature("https://sms.example.test/twilio/sms", body)
    caplog.set_level(logging.INFO, logger="qdn")
    with TestClient(create_app(settings)) as client:
        caplog.clear()
        refused = client.post("/twilio/sms?From=%2B15125550199", data=body, headers={"X-Twilio-Signature": signature})
    assert refused.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "qdn.signature"]
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert "checked against https://sms.example.test/twilio/sms?From=" in line  # as received, phone masked
    assert "0199" in line
    assert signature not in line
    assert str(settings.webhook_secret) not in line
    assert "where is my truck" not in line and "SM" + "1" * 32 not in line
    assert "15125550199" not in line and "5125550123" not in line


def test_a_failed_live_signature_never_logs_the_auth_token(tmp_path, caplog):
    settings = twilio_settings(tmp_path)
    caplog.set_level(logging.INFO, logger="qdn")
    with respx.mock(assert_all_called=False) as router:
        FakeTwilio(router)
        with TestClient(create_app(settings)) as client:
            caplog.clear()
            refused = client.post("/twilio/sms", data={"Body": "hi"}, headers={"X-Twilio-Signature": "AAAA"})
    assert refused.status_code == 403
    text = all_text(caplog.records)
    assert "https://sms.example.test/twilio/sms" in text
    assert AUTH_TOKEN not in text and "AAAA" not in text
