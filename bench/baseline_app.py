"""The bare-Starlette baseline: parse the webhook's form, answer a constant TwiML reply.

    .venv/bin/python bench/baseline_app.py        # listens on $HOST:$PORT like `qdn serve`

No signature check, no store, no middleware: the least a Starlette endpoint
can do with the same request. It is served by uvicorn with exactly the
arguments `qdn serve` (web/main.py) passes -- one worker, proxy headers,
info-level access log through the same redaction filter -- so a comparison
against it measures the service's own work, not server settings.
"""

from __future__ import annotations

import os
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


async def healthz(request: Request) -> Response:
    return Response('{"status": "ok"}', media_type="application/json")


app = Starlette(routes=[Route("/twilio/sms", inbound_sms, methods=["POST"]), Route("/healthz", healthz)])


def main() -> None:
    import uvicorn

    from web.logging import install_redaction

    install_redaction()
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=1,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info",
    )


if __name__ == "__main__":
    main()
