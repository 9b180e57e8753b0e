"""The bare-Starlette baseline: parse the webhook's form, answer a constant TwiML reply (or 204).

    .venv/bin/python bench/baseline_app.py [--server uvicorn|granian]   # listens on $HOST:$PORT like `qdn serve`

No signature check, no store, no middleware: the least a Starlette endpoint
can do with the same request. `/twilio/sms` parses the form and answers a
constant TwiML reply; `/twilio/status` parses the form and answers 204 (the
status callbacks' baseline). By default it is served by uvicorn with exactly
the arguments `qdn serve` passed before issue #19 -- one worker, proxy
headers, info-level access log through the redaction filter -- the user's
alternative ("a plain Starlette app under uvicorn"). `--no-access-log`: the same without any
access log -- the floor bench/bench_cpu.py measures against (issue #30). `--server granian` serves
the same app with granian (bench/servers.py), to compare the servers alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    "QuickDumpNow: Job 1042 (junk removal) is scheduled. Track: https://sms.quickdumpnow.test/track?token=K7M2-9XPQ"
    "</Message></Response>"
)


async def inbound_sms(request: Request) -> Response:
    form = await request.form()  # Starlette's own urlencoded parser
    if not form.get("From"):
        return Response(status_code=400)
    return Response(TWIML, media_type="text/xml")


async def status_callback(request: Request) -> Response:
    form = await request.form()
    if not form.get("MessageSid"):
        return Response(status_code=400)
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    return Response('{"status": "ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/twilio/sms", inbound_sms, methods=["POST"]),
        Route("/twilio/status", status_callback, methods=["POST"]),
        Route("/twilio/{business}/sms", inbound_sms, methods=["POST"]),  # the addresses naming the business
        Route("/twilio/{business}/status", status_callback, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--no-access-log", action="store_true", help="the floor (issue #30): no access log at all")
    args = parser.parse_args()
    from bench.servers import run_granian, run_uvicorn

    if args.server == "granian":
        run_granian(app)
    else:
        run_uvicorn(app, access_log=not args.no_access_log)


if __name__ == "__main__":
    main()
