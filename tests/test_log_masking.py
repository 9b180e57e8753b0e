"""Tokens and phone numbers never reach operational logs: the filter, uvicorn's records, a real server."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from tests.support import API_TOKEN, CUSTOMER, LiveServer, base_environ, job_body
from web.logging import (
    UVICORN_LOGGERS,
    RedactingFilter,
    install_redaction,
    log_off_the_loop,
    redact,
    shown_target,
)

TOKEN = "K7M2-9XPQ-2HTR-4VWA-C3DF"
TOKEN_FORMS = [TOKEN, TOKEN.lower(), TOKEN.replace("-", ""), TOKEN.lower().replace("-", " ")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"lookup {TOKEN} failed", "lookup [token] failed"),
        (f"lookup {TOKEN.lower()} failed", "lookup [token] failed"),
        (f"lookup {TOKEN.replace('-', '')}.", "lookup [token]."),
        ("lookup k7m2 9xpq 2htr 4vwa c3df", "lookup [token]"),
        (f"GET /track?token={TOKEN}&x=1", "GET /track?token=[token]&x=1"),
        ("GET /track?token=k7m2+9xpq+2htr+4vwa+c3df", "GET /track?token=[token]"),
        ("GET /track?token=nope", "GET /track?token=[token]"),  # even a wrong guess stays out
        ("GET /track/k7m2%209xpq%202htr%204vwa%20c3df HTTP/1.1", "GET /track/[token] HTTP/1.1"),
        (f"GET /jobs/token/{TOKEN}/messages", "GET /jobs/token/[token]/messages"),
        ("sent to +15125550199", "sent to +•••••••0199"),
        ("GET /jobs?phone=%2B15125550199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=512-555-0199", "GET /jobs?phone=•••-•••-0199"),
        ("from (512) 555-0199 or 512.555.0199", "from •••-•••-0199 or •••-•••-0199"),
        ("from 5125550199", "from •••••••0199"),
        ("+442071838750", "+•••••••8750"),
    ],
)
def test_redact_masks_tokens_and_phones_in_any_form(line, expected):
    assert redact(line) == expected


# What clients really send: `qdn log --phone "(512) 555-0199"` and browsers encode
# the number every which way; a query value is masked after URL-decoding.
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /messages?phone=%28512%29+555-0199 HTTP/1.1", "GET /messages?phone=•••-•••-0199 HTTP/1.1"),
        ("GET /jobs?phone=%2B1%20512%20555%200199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=%2B1+512+555+0199&status=scheduled", "GET /jobs?phone=+•••••••0199&status=scheduled"),
        ("GET /jobs?phone=%2B1+%28512%29+555.0199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=+15125550199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=1.512.555.0199", "GET /jobs?phone=•••-•••-0199"),
        ("GET /jobs?phone=512+555+0199", "GET /jobs?phone=•••-•••-0199"),
        ("GET /jobs?phone=%35%31%32%35%35%35%30%31%39%39", "GET /jobs?phone=•••-•••-0199"),
        ("GET /jobs?status=scheduled&from=%28512%29%20555-0199", "GET /jobs?status=scheduled&from=•••-•••-0199"),
        ("GET /jobs?note=call%20%28512%29%20555-0199%20today", "GET /jobs?note=call%20•••-•••-0199%20today"),
        # Encoded twice (a client that encodes an already-encoded value) or three times.
        ("GET /jobs?phone=%252B15125550199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=%2528512%2529%2520555-0199", "GET /jobs?phone=•••-•••-0199"),
        ("GET /jobs?phone=%2528512%2529+555-0199&x=1", "GET /jobs?phone=•••-•••-0199&x=1"),
        ("GET /jobs?phone=%25252B15125550199", "GET /jobs?phone=+•••••••0199"),
        ("GET /jobs?phone=%253512%2535%2535%2535%2530%2531%2539%2539", "GET /jobs?phone=•••-•••-0199"),
        # Deeper than any client encodes: not read, not shown.
        ("GET /jobs?phone=%2525252525252B15125550199", "GET /jobs?phone=[encoded]"),
        ("GET /jobs/%252B15125550199", "GET /jobs/+•••••••0199"),
    ],
)
def test_redact_masks_phones_in_query_values_however_encoded(line, expected):
    assert redact(line) == expected


API_KEY = "Jf9xQ2mLk3vR8tYp1sZ4wN7bC6dE0gH5iU2oA9qW3eR"  # what secrets.token_urlsafe(32) makes


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"GET /jobs?access_token={API_KEY}", "GET /jobs?access_token=[token]"),
        (f"GET /jobs?status=open&api_key={API_KEY}&limit=5", "GET /jobs?status=open&api_key=[secret]&limit=5"),
        (f"GET /jobs?API_KEY={API_KEY}", "GET /jobs?API_KEY=[secret]"),
        (f"GET /jobs?apikey={API_KEY}", "GET /jobs?apikey=[secret]"),
        (f"GET /jobs?Access%5FToken={API_KEY}", "GET /jobs?Access%5FToken=[token]"),
        (f"GET /jobs?access%255Ftoken={API_KEY}", "GET /jobs?access%255Ftoken=[token]"),
        ("GET /inbox/login?phone=%2B15125550100&code=123456", "GET /inbox/login?phone=+•••••••0100&code=[secret]"),
        ("GET /x?client_secret=s3cr3t&password=hunter2", "GET /x?client_secret=[secret]&password=[secret]"),
        (
            "GET /x?X-Amz-Signature=9f86d081884c7d65&X-Amz-Credential=AKIA",
            "GET /x?X-Amz-Signature=[secret]&X-Amz-Credential=[secret]",
        ),
        ("GET /x?sessionid=abc&auth=Basic%20Zm9v", "GET /x?sessionid=[secret]&auth=[secret]"),
        ("GET /track?token=", "GET /track?token=[token]"),
    ],
)
def test_a_query_parameter_named_as_a_credential_never_shows_its_value(line, expected):
    assert redact(line) == expected
    assert redact(expected) == expected


@pytest.mark.parametrize(
    "line",
    [
        "job 1042 -> en route (ETA 20 min)",
        "message 1042-3 sent at 2026-11-27T18:32:40.123Z",
        '127.0.0.1:54321 - "GET /healthz HTTP/1.1" 200',
        "store open (tinydb); texts go to the console",
        "SM0123456789abcdef0123456789abcdef delivered",
        "POST /jobs/1042/status",
        "GET /jobs?status=scheduled,en_route&limit=50",
        "GET /jobs/1042/messages?since=2026-11-27T18%3A32%3A40Z",
        "GET /jobs?status=scheduled&limit=50&cursor=eyJpZCI6MTA0Mn0",
        "POST /twilio/default/status?m=1042",
    ],
)
def test_redact_leaves_ordinary_lines_alone(line):
    assert redact(line) == line


def test_redacting_twice_changes_nothing_more():
    once = redact(f"GET /track/{TOKEN} from +15125550199")
    assert redact(once) == once


# --- real uvicorn access records --------------------------------------------------------------


@pytest.fixture
def access_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger formatted exactly like uvicorn's access log, with the filter on its handler."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(AccessFormatter(LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=False))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.uvicorn.access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)


def _log_like_uvicorn(logger: logging.Logger, path: str, query: bytes, status: int) -> None:
    """The very call uvicorn's h11/httptools protocols make once a response is sent."""
    # uvicorn >= 0.55 prints `raw_path` (the target as the client sent it, percent-encoded); earlier, `path` quoted.
    scope = {"client": ("203.0.113.9", 52144), "method": "GET", "path": path, "raw_path": quote(path).encode(),
             "query_string": query}  # fmt: skip
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        get_client_addr(scope),  # type: ignore[arg-type]
        scope["method"],
        get_path_with_query_string(scope),  # type: ignore[arg-type]
        "1.1",
        status,
    )


@pytest.mark.parametrize(
    ("path", "query", "shown"),
    [
        ("/track", f"token={TOKEN}".encode(), "/track?token=[token]"),
        ("/track", b"token=k7m2+9xpq+2htr+4vwa+c3df&utm=sms", "/track?token=[token]&utm=sms"),
        (f"/track/{TOKEN.lower().replace('-', ' ')}", b"", "/track/[token]"),
        (f"/jobs/token/{TOKEN}/messages", b"", "/jobs/token/[token]/messages"),
        ("/jobs", b"phone=%2B15125550199&status=scheduled", "/jobs?phone=+•••••••0199&status=scheduled"),
        ("/jobs", b"phone=%2B1%20512%20555%200199", "/jobs?phone=+•••••••0199"),
        ("/messages", b"phone=%28512%29+555-0199", "/messages?phone=•••-•••-0199"),
    ],
)
def test_uvicorn_access_records_keep_their_shape_and_lose_the_token(access_log, path, query, shown):
    logger, out = access_log
    _log_like_uvicorn(logger, path, query, 200)
    line = out.getvalue()
    assert f'203.0.113.9:52144 - "GET {shown} HTTP/1.1" 200 OK' in line
    for form in [*TOKEN_FORMS, "k7m2%209xpq"]:
        assert form not in line
    assert "5125550199" not in _digits_and_letters(line)


@pytest.mark.parametrize(
    ("path", "query", "shown"),
    [
        ("/track", f"token={TOKEN}".encode(), "/track?token=[token]"),
        ("/track", b"token=k7m2+9xpq+2htr+4vwa+c3df&utm=sms", "/track?token=[token]&utm=sms"),
        (f"/track/{TOKEN.lower().replace('-', ' ')}", b"", "/track/[token]"),
        (f"/jobs/token/{TOKEN}/messages", b"", "/jobs/token/[token]/messages"),
        ("/jobs", b"phone=%2B15125550199&status=scheduled", "/jobs?phone=+•••••••0199&status=scheduled"),
        ("/jobs", b"phone=%2B1%20512%20555%200199", "/jobs?phone=+•••••••0199"),
        ("/messages", b"phone=%28512%29+555-0199", "/messages?phone=•••-•••-0199"),
        ("/5125550199", b"", "/•••••••0199"),
        ("/twilio/sms", b"", "/twilio/sms"),
    ],
)
def test_the_apps_access_line_masks_its_target_as_uvicorns_record_was_masked(path, query, shown):
    """`qdn serve` writes its own access line (web/middleware.py), masked field by field, not by the filter."""
    for _ in range(2):  # the second time from the remembered plain paths, where it may be one
        target = shown_target(path, query.decode("latin-1"))
        assert target == shown
        for form in [*TOKEN_FORMS, "k7m2%209xpq"]:
            assert form not in target
        assert "5125550199" not in _digits_and_letters(target)


def _digits_and_letters(logged: str) -> str:
    """`logged` URL-decoded, with what separates a phone's digits taken out: a full number shows whole."""
    return re.sub(r"[\s()+.\-]", "", unquote(logged))


def test_application_records_with_args_and_tracebacks_are_masked():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.qdn.app")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("texting %s about %s (%d tries)", CUSTOMER, {"token": TOKEN}, 3)
        try:
            raise ValueError(f"no job for {TOKEN} / {CUSTOMER}")
        except ValueError:
            logger.exception("lookup failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "(3 tries)" in text
    assert "ValueError: no job for [token] / +•••••••0199" in text
    assert TOKEN not in text and CUSTOMER not in text


def test_a_text_seen_plain_is_remembered_and_one_that_held_something_never_is():
    """Lines that come back (a failed text's status change) are masked as the first time, from memory: the format string
    and plain values once each; a phone or token is masked every time and never kept."""
    from web.logging import _PLAIN_TEXTS

    def line(*args: object) -> str:
        record = logging.LogRecord(
            "qdn.status", logging.INFO, __file__, 1, "message %s (%s): %s -> %s to %s", args, None
        )
        RedactingFilter().filter(record)
        return record.getMessage()

    for _ in range(2):
        assert line("1042", "SM" + "0" * 32, "sent", "failed", CUSTOMER) == (
            f"message 1042 (SM{'0' * 32}): sent -> failed to +•••••••0199"
        )
        assert line("1042", TOKEN, "sent", "failed", TOKEN.lower()) == (
            "message 1042 ([token]): sent -> failed to [token]"
        )
    assert {"message %s (%s): %s -> %s to %s", "sent", "failed"} <= _PLAIN_TEXTS
    assert not any(CUSTOMER in text or TOKEN in text or TOKEN.lower() in text for text in _PLAIN_TEXTS)


def test_install_covers_uvicorns_loggers_and_the_root_handlers():
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    targets = [logging.getLogger(name) for name in UVICORN_LOGGERS] + [handler]
    before = {id(t): list(t.filters) for t in targets}
    try:
        install_redaction()
        install_redaction()  # idempotent
        for target in targets:
            assert sum(isinstance(f, RedactingFilter) for f in target.filters) == 1
    finally:
        root.removeHandler(handler)
        for target in targets:
            target.filters[:] = before[id(target)]


def test_records_logged_through_the_queue_are_masked_and_all_written_by_the_time_it_stops():
    """qdn serve's logging: the event loop only queues records; the listener's thread masks and writes them."""
    import threading

    root = logging.getLogger()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    saved, level = list(root.handlers), root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    writers: set[str] = set()

    def note_writer(record: logging.LogRecord) -> bool:
        writers.add(threading.current_thread().name)
        return True

    handler.addFilter(note_writer)
    try:
        install_redaction()
        listener = log_off_the_loop()
        logger = logging.getLogger("test.qdn.queued")
        for n in range(200):
            logger.info("texting %s about %s, try %d", CUSTOMER, TOKEN, n)
        try:
            raise ValueError(f"no job for {TOKEN}")
        except ValueError:
            logger.exception("lookup failed for %s", CUSTOMER)
        listener.stop()
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    text = out.getvalue()
    assert text.count("texting +•••••••0199 about [token], try") == 200
    assert "try 199" in text
    assert "lookup failed for +•••••••0199" in text and "ValueError: no job for [token]" in text
    assert TOKEN not in text and CUSTOMER not in text
    assert threading.current_thread().name not in writers  # written off the thread that logged


# --- a real `qdn serve` --------------------------------------------------------------------------


LEVEL_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")


@pytest.mark.e2e
def test_a_real_server_logs_no_token_or_phone(tmp_path: Path):
    server = LiveServer(base_environ(tmp_path), tmp_path).start()
    try:
        with server.client() as api:
            job = api.post("/jobs", json=job_body()).json()
            token = job["token"]
            visits = [
                f"/track?token={token}",
                f"/track/{token.lower().replace('-', ' ')}",
                f"/jobs/token/{token}",
                f"/jobs/token/{token.replace('-', '')}/messages",
                "/jobs?phone=%2B15125550199",
                "/jobs?phone=512-555-0199",
                "/jobs?phone=%2B1%20512%20555%200199",
                "/static/track.css",  # a mounted app: its path as asked, not its mount's prefix twice
            ]
            for path in visits:
                assert api.get(path).status_code == 200, path
            assert httpx.get(f"{server.url}/track?token=ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ").status_code == 404
            # Encoded twice, and the dashboard's own token in the query: answered however, logged masked.
            twice = ["/jobs?phone=%252B15125550199", "/jobs?phone=%2528512%2529%2520555-0199"]
            credentials = [f"/jobs?access_token={API_TOKEN}", f"/jobs?api_key={API_TOKEN}&status=scheduled"]
            for path in twice + credentials:
                assert api.get(path).status_code < 500, path
            # What `qdn log --phone "(512) 555-0199"` sends; without the token it is a 401,
            # which the console-mode access log keeps (it drops answered polls).
            assert httpx.get(f"{server.url}/messages?phone=%28512%29+555-0199").status_code == 401
    finally:
        server.stop()
    log = server.log.read_text()
    # Only what went through logging: the console transport may print texts
    # (with their links) as the simulated phone screen, which is not a log.
    logged = "\n".join(line for line in log.splitlines() if LEVEL_LINE.match(line))
    assert "GET /track?token=[token] HTTP/1.1" in logged
    # One access line a request, the app's own (uvicorn's access log is off).
    access = [line for line in logged.splitlines() if " qdn.access: " in line and "/healthz" not in line]
    # The visits, the 404, the 401, the job's creation, the encoded twice and the credentials.
    assert len(access) == len(visits) + 3 + len(twice) + len(credentials)
    assert not any("uvicorn.access" in line for line in logged.splitlines())
    assert "GET /track/[token] HTTP/1.1" in logged
    assert "GET /jobs/token/[token]/messages HTTP/1.1" in logged
    assert "GET /static/track.css HTTP/1.1" in logged
    raw = token.replace("-", "")
    assert "GET /messages?phone=•••-•••-0199 HTTP/1.1" in logged
    assert "GET /jobs?access_token=[token] HTTP/1.1" in logged
    assert "GET /jobs?api_key=[secret]&status=scheduled HTTP/1.1" in logged
    assert "GET /jobs?phone=+•••••••0199 HTTP/1.1" in logged
    hidden = [token, token.lower(), raw, raw.lower(), "ZZZZ-ZZZZ", "15125550199", "5125550199", "555-0199"]
    for secret in [*hidden, API_TOKEN, API_TOKEN[-8:], "%2528512"]:
        assert secret not in logged, secret
    for line in logged.splitlines():
        assert "5125550199" not in _digits_and_letters(line), line
