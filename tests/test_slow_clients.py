"""Slow clients against a real `qdn serve`: headers and bodies that never finish are cut off, /healthz answers.

uvicorn alone kept 500 slowloris and 200 slow-body sockets open for ever (issue #28). Short
timeouts are passed on the command line so the test is quick; the bounds it waits with are
generous, and only turn a hang into a failure.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import API_TOKEN, LiveServer, base_environ, eventually

pytestmark = pytest.mark.e2e

GENEROUS = 20.0  # seconds a socket may wait for the server to act; far above the timeouts used


_OPEN: list[socket.socket] = []


@pytest.fixture(autouse=True)
def _close_every_socket() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(base_environ(tmp_path), tmp_path, args=["--header-timeout", "1", "--body-timeout", "2"])
    live.start()
    yield live
    live.stop()


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS)
    _OPEN.append(sock)
    return sock


def read_until_closed(sock: socket.socket, drip: bytes = b"") -> bytes:
    """Everything the server sends until it closes the connection, sending `drip` a byte at a time meanwhile."""
    received = b""
    sock.settimeout(0.2)
    end = time.monotonic() + GENEROUS
    sent = 0
    while time.monotonic() < end:
        if sent < len(drip):
            try:
                sock.sendall(drip[sent : sent + 1])
            except OSError:  # closed under us: what is read next says how
                sent = len(drip)
            sent += 1
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open for {GENEROUS} s; it sent {received!r}")


def healthz(server: LiveServer) -> int:
    return httpx.get(f"{server.url}/healthz", timeout=GENEROUS).status_code


def test_a_slowloris_client_is_cut_off_and_healthz_still_answers(server):
    silent = connect(server)  # connects and sends nothing at all
    dripping = connect(server)
    dripping.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert healthz(server) == 200
    # A header line a byte at a time, never the blank line that ends the headers.
    assert read_until_closed(dripping, drip=b"X-Padding: " + b"a" * 400) == b""
    assert read_until_closed(silent) == b""
    assert healthz(server) == 200


def test_a_slow_body_gets_408_and_the_connection_is_closed(server):
    body = json.dumps({"customer_name": "Dana", "customer_phone": "5125550199", "service_type": "junk"}).encode()
    sock = connect(server)
    head = (
        f"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:5])
    assert healthz(server) == 200
    answer = read_until_closed(sock, drip=body[5:-1] * 50)  # never the last byte
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer
    assert b"connection: close" in rest.lower()
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    assert healthz(server) == 200
    with server.client() as api:
        assert api.get("/jobs").json()["jobs"] == []  # nothing was made from the half body


def test_a_kept_alive_connection_idle_past_the_header_timeout_still_serves_its_next_request(server):
    sock = connect(server)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock.sendall(request)
    assert _one_answer(sock).startswith(b"HTTP/1.1 200 ")
    # Idle longer than the header timeout (1 s), within keep-alive (5 s): the next request's
    # headers are timed from its own first byte, not from the connection's start.
    time.sleep(1.5)
    sock.sendall(request)
    assert _one_answer(sock).startswith(b"HTTP/1.1 200 ")


def _one_answer(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read off a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(65536)
    return received


def test_connections_past_the_cap_are_closed_at_once(tmp_path: Path):
    args = ["--header-timeout", "600", "--keep-alive", "600", "--max-connections", "20"]
    live = LiveServer(base_environ(tmp_path), tmp_path, args=args)
    live.start()
    try:
        socks = [connect(live) for _ in range(30)]
        # Kept alive after their answer, the first 20 stay open: the cap stays reached, in whatever
        # order the server gets to them; the 10 past it were closed at once (not after 600 s).
        answers = [_ask_healthz(sock) for sock in socks]
        assert sum(answer.startswith(b"HTTP/1.1 200 ") for answer in answers) == 20, answers
        assert answers.count(b"") == 10
        while _OPEN:
            _OPEN.pop().close()
        assert healthz(live) == 200  # the slots free again as soon as the sockets go
        # The service writes its log off the event loop, a tenth of a second behind: wait for the line.
        capped = "open connections (the cap, --max-connections)"
        eventually(lambda: capped in live.log.read_text(), "the cap's log line")
    finally:
        live.stop()


def _ask_healthz(sock: socket.socket) -> bytes:
    """The head of the answer to one kept-alive GET /healthz; b"" when the server closed the connection."""
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    except OSError:
        return b""
    received = b""
    while b"\r\n\r\n" not in received:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return b""
        if not chunk:
            return received
        received += chunk
    return received
