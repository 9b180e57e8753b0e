"""The load generator: signed Twilio SMS webhooks fired by `wrk` over loopback.

Every request is a real inbound-SMS form as Twilio posts it, with its own
MessageSid and an X-Twilio-Signature computed with twilio's RequestValidator
over PUBLIC_BASE_URL + /twilio/sms and every field -- precomputed here, since
wrk cannot sign. Requests go out in a fixed order (sender i % len(senders)),
never repeat (a repeat would be a duplicate delivery, a cheaper path), and
the run stops at the first of: `count` answers, or `duration` seconds.

wrk runs with one thread pinned to one CPU; the server is pinned to the other
by the caller, so client and server never compete for a core.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

WEBHOOK_PATH = "/twilio/sms"

# Reads "<signature>\t<body>" lines, sends each once, counts answers by status,
# and stops the thread after `limit` answers. done() prints one JSON line.
WRK_SCRIPT = r"""
local requests = {}
local sent, answered, limit = 0, 0, 0
statuses, exhausted, threads = {}, 0, {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", args[2], {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  limit = tonumber(args[3])
end

function request()
  -- After `limit` answers the thread stops, but connections still in flight each
  -- send one more request first: the file holds spares, so none is a repeat.
  sent = sent + 1
  if sent > #requests then
    exhausted = 1
    return requests[#requests]
  end
  return requests[sent]
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local counts, repeats = "", 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do counts = counts .. code .. "=" .. n .. " " end
    repeats = repeats + thread:get("exhausted")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"status_errors": %d, "statuses": "%s", "exhausted": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status, counts, repeats))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured (latencies in milliseconds, as the client saw them)."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: str
    errors: int
    exhausted: bool

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def twilio_form(sender: str, to: str, sid: str, account_sid: str, body: str = "STATUS") -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (Messaging webhook), in its usual order."""
    return {
        "ToCountry": "US",
        "ToState": "TX",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "AUSTIN",
        "FromZip": "78704",
        "SmsSid": sid,
        "FromState": "TX",
        "SmsStatus": "received",
        "FromCity": "AUSTIN",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "78701",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def write_requests(
    path: Path,
    *,
    senders: Sequence[str],
    count: int,
    run_tag: int,
    auth_token: str,
    public_base_url: str,
    to: str,
    account_sid: str,
    body: str = "STATUS",
) -> Path:
    """`count` signed webhooks, one per line, MessageSids unique across runs with different `run_tag`s."""
    validator = RequestValidator(auth_token)
    url = public_base_url + WEBHOOK_PATH
    with open(path, "w", encoding="utf-8") as out:
        for n in range(count):
            sid = f"SM{run_tag:08x}{n:024x}"
            form = twilio_form(senders[n % len(senders)], to, sid, account_sid, body)
            out.write(f"{validator.compute_signature(url, form)}\t{urlencode(form)}\n")
    return path


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench: wrk is not installed; install it with `apt-get install wrk` (Debian/Ubuntu)")
    return wrk


def run_wrk(
    base_url: str,
    requests_file: Path,
    *,
    connections: int,
    count: int,
    duration: float,
    cpu: int | None,
    path: str = WEBHOOK_PATH,
) -> LoadResult:
    """Fire the file's requests at `base_url` + `path` from `connections` keep-alive connections."""
    wrk = require_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        command = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s", "-s",
                   script.name, base_url, "--", str(requests_file), path, str(count)]  # fmt: skip
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
    finally:
        os.unlink(script.name)
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stdout[-1500:]} {finished.stderr[-1500:]}")
    raw = json.loads(lines[-1])
    errors = sum(raw[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts", "status_errors"))
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        statuses=raw["statuses"].strip(),
        errors=errors,
        exhausted=bool(raw["exhausted"]),
    )
