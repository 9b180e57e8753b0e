"""Issue #18: how long a customer's picture takes from the webhook to the dispatcher's relay.

    .venv/bin/python bench/bench_media.py [--rounds 10] [--mb 3] [--postgres]

A real `qdn serve` (TinyDB, its own sender and fetcher) talks to the local
Twilio fake over HTTP (tests/twilio_fake.py TwilioServer), which keeps each
picture as Twilio does: an authenticated Media resource that redirects to a
media host. Each round a new customer texts "How much for this?" with one
picture of `--mb` megabytes; the clock runs from the moment the webhook is
POSTed until the fake Twilio receives the relay to the dispatcher carrying the
picture's link, i.e. webhook + fetch + sniff + keep + the sender's send.

Baseline, in the same run: the same text without a picture (webhook -> relay:
the sender's own latency). Printed: p50 and max of each, and their ratio.
`--postgres` runs the service on a fresh PostgreSQL database instead of TinyDB
(QDN_TEST_POSTGRES_URL, as the tests).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pg import fresh_database, postgres_problem
from tests.support import LiveServer
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    FROM_NUMBER,
    TwilioServer,
    sign,
    twilio_environ,
)

DISPATCHER = "+15125550170"
_customers = (f"+1512555{n:04d}" for n in itertools.count(2001))
_sids = (f"MM{n:032x}" for n in itertools.count(0xBE7C4))
HANG_GUARD_SECONDS = 60  # a round that takes this long has failed; it is not a measure


def jpeg_of(size: int) -> bytes:
    """A JPEG-shaped file of `size` bytes: a real header (2000 x 1500) and noise, as a phone photo is."""
    header = (
        b"\xff\xd8"
        + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0\x00\x11\x08\x05\xdc\x07\xd0\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        + b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    )
    return header + os.urandom(size - len(header) - 2) + b"\xff\xd9"


def text_in(server: LiveServer, customer: str, body: str, media: list[str]) -> None:
    form = {"MessageSid": next(_sids), "AccountSid": ACCOUNT_SID, "From": customer, "To": FROM_NUMBER, "Body": body}
    form["NumMedia"] = str(len(media))
    for index, url in enumerate(media):
        form[f"MediaUrl{index}"], form[f"MediaContentType{index}"] = url, "image/jpeg"
    url = server.environ["PUBLIC_BASE_URL"] + "/twilio/sms"
    headers = {"X-Twilio-Signature": sign(url, form), "Content-Type": "application/x-www-form-urlencoded"}
    answer = httpx.post(f"{server.url}/twilio/sms", content=urlencode(form), headers=headers, timeout=15)
    answer.raise_for_status()


def relay_seconds(server: LiveServer, twilio: TwilioServer, picture: bytes | None) -> float:
    """Seconds from POSTing a customer's text until the fake Twilio gets its relay to the dispatcher."""
    customer = next(_customers)
    seen = len(twilio.creates())
    media = [twilio.add_media(ACCOUNT_SID, f"MM{os.urandom(16).hex()}", picture)] if picture else []
    started = time.perf_counter()
    text_in(server, customer, "How much for this?", media)
    while time.perf_counter() - started < HANG_GUARD_SECONDS:
        for create in twilio.creates()[seen:]:
            if create.form.get("To") == DISPATCHER and customer[-4:] in create.form.get("Body", ""):
                if picture and "/m/" not in create.form["Body"]:
                    raise SystemExit(f"the relay carries no picture link: {create.form['Body']!r}")
                return time.perf_counter() - started
        time.sleep(0.002)
    raise SystemExit(f"no relay within {HANG_GUARD_SECONDS} s; see {server.log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--mb", type=float, default=3.0)
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database instead of TinyDB")
    args = parser.parse_args()
    if args.postgres and (problem := postgres_problem()) is not None:
        raise SystemExit(f"bench: {problem}")
    picture = jpeg_of(int(args.mb * 1024 * 1024))

    with contextlib.ExitStack() as stack:
        twilio = stack.enter_context(TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}))
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        environ = twilio_environ(
            Path(folder), TWILIO_API_BASE_URL=twilio.url, DISPATCHER_NUMBERS=DISPATCHER, SEND_RATE_PER_SECOND="100"
        )
        if args.postgres:
            environ["DATABASE_URL"] = stack.enter_context(fresh_database("bench_media"))
        server = LiveServer(environ, Path(folder))
        server.environ["PUBLIC_BASE_URL"] = server.url  # links the bench can open (http: loopback only)
        server.start()
        try:
            relay_seconds(server, twilio, picture)  # warm-up: first connections, first files
            relay_seconds(server, twilio, None)
            plain = [relay_seconds(server, twilio, None) for _ in range(args.rounds)]
            pictured = [relay_seconds(server, twilio, picture) for _ in range(args.rounds)]
        finally:
            server.stop()
        kept = len(twilio.media_deletes)

    def line(name: str, values: list[float]) -> str:
        return f"{name:<34} p50 {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"

    store = "PostgreSQL" if args.postgres else "TinyDB"
    print(f"webhook -> relay to the dispatcher, {args.rounds} rounds each, one `qdn serve` ({store}) + Twilio fake")
    print(line("text only (baseline)", plain))
    print(line(f"text + one {args.mb:g} MB picture", pictured))
    print(f"ratio (picture / text only, p50)   {statistics.median(pictured) / statistics.median(plain):.2f}x")
    print(f"Twilio's copies deleted: {kept} of {args.rounds + 1}")


if __name__ == "__main__":
    main()
