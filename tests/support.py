"""Helpers shared by tests: settings, realistic jobs, a real uvicorn process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-api-token-7f3a9c"
ADMIN_TOKEN = "test-admin-token-2b8e41"  # pass as base_environ(..., ADMIN_TOKEN=ADMIN_TOKEN) for the admin API
DISPATCHER = "+15125550100"
CUSTOMER = "+15125550199"


def base_environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": f"tinydb:///{tmp_path}/data/qdn.json",
        "API_TOKEN": API_TOKEN,
        "PUBLIC_BASE_URL": "https://sms.example.test",
        "DISPATCHER_NUMBERS": DISPATCHER,
        "BUSINESS_NAME": "QuickDumpNow",
        "BUSINESS_PHONE": "+15125550123",
        "TIMEZONE": "America/Chicago",
    }
    env.update(overrides)
    return env


def job_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_name": "Dana Whitfield",
        "customer_phone": "(512) 555-0199",
        "service_type": "junk removal",
        "address": "4512 Ridgeview Dr, Austin, TX 78731",
    }
    body.update(overrides)
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`qdn serve` in a real subprocess, as the Procfile runs it."""

    def __init__(self, environ: Mapping[str, str], cwd: Path, args: Sequence[str] = ()) -> None:
        self.args = list(args)  # more `qdn serve` options
        self.port = free_port()
        self.environ = {**os.environ, **environ, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.cwd = cwd
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = cwd / f"server-{self.port}.log"

    def start(self, timeout: float = 15) -> LiveServer:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "web", "serve", *self.args],
                cwd=self.cwd,
                env=self.environ,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushes -- a power cut for the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)


T = TypeVar("T")


def eventually(check: Callable[[], T | None], what: str, within: float = 15.0) -> T:
    """Poll `check` until it returns something; `within` seconds only turn a hang into a failure
    (nothing a test asserts is timed)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
