"""The load generator: signed Twilio SMS webhooks fired by `wrk` over loopback.

Every request is a real inbound-SMS form as Twilio posts it, with its own
MessageSid and an X-Twilio-Signature computed with twilio's RequestValidator
over PUBLIC_BASE_URL + /twilio/sms and every field -- precomputed here, since
wrk cannot sign. Requests go out in a fixed order (`Texts`), never repeat (a
repeat would be a duplicate delivery, a cheaper path), and the run stops at
the first of: `count` answers, or `duration` seconds.

What people text (`Texts`): no phone texts twice in a server's life, because
a phone is never sent the same automatic answer twice within 10 minutes (SPEC
"No answer twice"): a customer texting STATUS again and again would mostly
get no answer at all, a cheaper path than a day's usual texts. Each server
here lives well under 10 minutes, and starts from a fresh copy of its data.

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
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

# The forms Twilio posts (an inbound SMS, a status callback): the tests' own copy of its wire format.
from tests.twilio_fake import status_callback_form, twilio_form

WEBHOOK_PATH = "/twilio/sms"

# Reads "<signature>\t<body>" lines (or "<signature>\t<path>\t<body>"), sends each once, counts
# answers by status (and those that carry a <Message>), and stops the thread after `limit` answers.
# done() prints one JSON line.
WRK_SCRIPT = r"""
local requests = {}
local answered, limit = 0, 0
statuses, exhausted, threads, sent, replied = {}, 0, {}, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    -- "<signature>\t<body>", or "<signature>\t<path>\t<body>" when each request has its own path
    local tab = line:find("\t", 1, true)
    local path, body = args[2], line:sub(tab + 1)
    local second = body:find("\t", 1, true)
    if second then path, body = body:sub(1, second - 1), body:sub(second + 1) end
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = line:sub(1, tab - 1),
    }, body)
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
  if body and body:find("<Message>", 1, true) then replied = replied + 1 end
  if answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local counts, repeats, all_sent, all_replied = "", 0, 0, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do counts = counts .. code .. "=" .. n .. " " end
    repeats = repeats + thread:get("exhausted")
    all_sent = all_sent + thread:get("sent")
    all_replied = all_replied + thread:get("replied")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"status_errors": %d, "statuses": "%s", "exhausted": %d, "sent": %d, "replied": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status, counts, repeats, all_sent,
    all_replied))
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
    sent: int = 0  # requests sent, answered or not (those in flight at the stop reach the server too)
    replied: int = 0  # answers carrying a <Message>

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Text:
    """One inbound text: who sends it, to which business number, and what it says."""

    sender: str
    to: str
    body: str
    known: bool  # from one of the business's customers (else from a phone it has never seen)


NEW_PHONES = "+1945"  # an area code no customer of bench/generate.py's data sets has


class Texts:
    """The texts one server gets over its life, in order; no phone texts twice.

    Businesses take turns: text n goes to business n % len(businesses) (a data
    set's manifest entries, bench/generate.py), at its own number. Within a
    business, every `every`-th text is one of its customers texting STATUS
    (each customer once, in the data set's shuffled order: the sender's open
    jobs looked up, the answer naming them or saying there are none); the
    others, and all of them once its customers are used up, come from phones
    it has never seen, each texting the tracking code of one of its open jobs
    (someone the customer passed the link to: a tenant, a site manager): a
    token lookup, an answer with the job's status. Every text gets an answer.

    `every=0`: no customer texts, only never-seen phones texting tracking codes.

    `cursor` is the first text not sent yet; a load run takes texts from it
    and moves it past the ones it sent.
    """

    def __init__(self, businesses: Sequence[dict[str, Any]], every: int = 2) -> None:
        self.businesses = list(businesses)
        self.every = every
        self.cursor = 0
        self.known_sent = 0

    def at(self, n: int) -> Text:
        business = self.businesses[n % len(self.businesses)]
        k = n // len(self.businesses)  # the business's own k-th text
        senders, number = business["senders"], business["number"]
        if self.every and k % self.every == 0 and k // self.every < len(senders):
            return Text(senders[k // self.every], number, "STATUS", known=True)
        tokens = business["open_tokens"]
        return Text(f"{NEW_PHONES}{n:07d}", number, tokens[k % len(tokens)], known=False)

    def advance(self, sent: int) -> None:
        self.known_sent += sum(self.at(n).known for n in range(self.cursor, self.cursor + sent))
        self.cursor += sent

    def sid(self, n: int) -> str:
        """The MessageSid of text n: unique over the server's life."""
        return f"SM{n:032x}"


STATUS_PATH = "/twilio/status"


def write_callbacks(
    path: Path, sids: Sequence[str], *, start: int, count: int, sender: str, status: str, auth_token: str,
    public_base_url: str, account_sid: str,
) -> Path:  # fmt: skip
    """Signed status callbacks reporting `status` for sids[start:start + count], one per line."""
    validator = RequestValidator(auth_token)
    url = public_base_url + STATUS_PATH
    with open(path, "w", encoding="utf-8") as out:
        for sid in sids[start : start + count]:
            form = status_callback_form(sid, sender, "+15125550000", account_sid, status)
            out.write(f"{validator.compute_signature(url, form)}\t{urlencode(form)}\n")
    return path


def write_requests(
    path: Path, texts: Texts, *, count: int, auth_token: str, public_base_url: str, account_sid: str
) -> Path:
    """The next `count` texts (from `texts.cursor`) as signed webhooks, one per line."""
    validator = RequestValidator(auth_token)
    url = public_base_url + WEBHOOK_PATH
    with open(path, "w", encoding="utf-8") as out:
        for n in range(texts.cursor, texts.cursor + count):
            text = texts.at(n)
            form = twilio_form(text.sender, text.to, texts.sid(n), account_sid, text.body)
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
        sent=raw["sent"],
        replied=raw["replied"],
    )
