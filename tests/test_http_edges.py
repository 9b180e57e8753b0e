"""The HTTP edges: clients that vanish mid-body, refused preflights, wrong methods, oversized bodies first."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from config.settings import load_settings
from tests.support import API_TOKEN, CUSTOMER, LiveServer, base_environ
from web.app import create_app

DASHBOARD = "https://dash.quickdumpnow.com"


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


# -- a client that disconnects mid-body ---------------------------------------------------------

# Headers that promise a body, then only a few bytes of it: what a phone losing
# signal, a killed curl or a scanner's half-open socket leaves behind.
HALF_BODIES = {
    "declared JSON": (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + API_TOKEN.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        b'{"customer_name": "Dana", "customer_phone": "' + CUSTOMER.encode()
    ),
    "declared webhook form": (
        b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: abc=\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        b"From=%2B15125550199&Body=Hel"
    ),
    "chunked JSON": (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + API_TOKEN.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'10\r\n{"customer_name"\r\n'
    ),
}


def send_half_and_close(port: int, request: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        time.sleep(0.05)  # let the server start on the body before the socket goes


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(base_environ(tmp_path), tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def disconnect_lines(server: LiveServer) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if "disconnected" in line]


@pytest.mark.e2e
def test_a_client_gone_mid_body_is_one_info_line_not_a_traceback(live_server):
    rounds = 3
    before = live_server.log.read_text()
    for _ in range(rounds):
        for request in HALF_BODIES.values():
            send_half_and_close(live_server.port, request)
    expected = rounds * len(HALF_BODIES)
    deadline = time.monotonic() + 10
    while len(disconnect_lines(live_server)) < expected and time.monotonic() < deadline:
        if "Traceback" in live_server.log.read_text():
            break
        time.sleep(0.05)
    with live_server.client() as api:
        assert api.get("/healthz").status_code == 200  # still serving
    live_server.stop()

    logged = live_server.log.read_text()[len(before) :]
    assert "Traceback" not in logged
    assert "ClientDisconnect" not in logged
    assert not [line for line in logged.splitlines() if re.match(r"(ERROR|WARNING|CRITICAL)\b", line)], logged
    lines = [line for line in logged.splitlines() if "disconnected" in line]
    assert len(lines) == expected, logged
    assert all(line.startswith("INFO ") for line in lines), lines
    assert '"POST ' not in logged  # nothing answered, so no access line either
    # Nothing of what the client sent: no phone, no token.
    for secret in ["5125550199", API_TOKEN]:
        assert secret not in logged


# -- every error is the JSON error shape ---------------------------------------------------------


@pytest.fixture
def cors_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(base_environ(tmp_path, CORS_ORIGINS=DASHBOARD), env_file=None)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("preflight", "refused"),
    [
        ({"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, "origin"),
        ({"Origin": DASHBOARD, "Access-Control-Request-Method": "PUT"}, "method"),  # DELETE is allowed: cancelMessage
        (
            {"Origin": DASHBOARD, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Debug"},
            "headers",
        ),
    ],
)
def test_a_refused_cors_preflight_is_a_json_error(cors_client, preflight, refused):
    response = cors_client.options("/jobs", headers=preflight)
    error = error_of(response, 400, "bad_request")
    assert refused in error["message"]
    assert response.headers.get("access-control-allow-origin") in (None, DASHBOARD)
    assert "evil" not in response.headers.get("access-control-allow-origin", "")


def test_an_allowed_preflight_still_allows_exactly_the_configured_origin(cors_client):
    response = cors_client.options("/jobs", headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "PATCH"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD


def test_a_dashboard_in_a_browser_may_cancel_a_text_not_sent_yet(cors_client):
    preflight = {"Origin": DASHBOARD, "Access-Control-Request-Method": "DELETE"}
    response = cors_client.options("/jobs/1001/messages/1001-2", headers=preflight)
    assert response.status_code == 200
    assert "DELETE" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/jobs", {"GET", "HEAD", "POST"}),
        ("PUT", "/jobs/1001", {"GET", "HEAD", "PATCH"}),
        ("DELETE", "/jobs/1001/messages", {"GET", "HEAD", "POST"}),
        ("PUT", "/jobs/1001/messages/1001-2", {"DELETE"}),
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("POST", "/track/K7M2-9XPQ-2HTR-4VWA-C3DF", {"GET", "HEAD"}),
    ],
)
def test_a_wrong_method_is_405_json_with_every_allowed_method(client, method, path, allowed):
    response = client.request(method, path)
    error_of(response, 405, "method_not_allowed")
    assert method in response.json()["error"]["message"]
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


# -- an oversized body is 413 before anything else -----------------------------------------------


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b" " * 65536


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/jobs", 1024 * 1024), ("/jobs/1001/status", 1024 * 1024), ("/twilio/sms", 64 * 1024)],
)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_body_is_413_even_without_credentials(anon, path, limit, framing):
    if framing == "chunked":
        response = anon.post(path, content=_chunks(limit))
    else:
        response = anon.post(path, content=b" " * (limit + 1))
    error_of(response, 413, "payload_too_large")


def test_a_chunked_body_under_the_limit_reaches_the_endpoint(client):
    body = b'{"customer_name": "Dana Whitfield", "customer_phone": "512-555-0199", "service_type": "junk removal"}'

    def pieces() -> Iterator[bytes]:
        yield body[:20]
        yield body[20:]

    response = client.post("/jobs", content=pieces(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["customer_name"] == "Dana Whitfield"


def test_a_chunked_body_under_the_limit_still_needs_credentials(anon):
    error_of(anon.post("/jobs", content=iter([b"{}"])), 401, "unauthorized")
