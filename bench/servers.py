"""The bench's HTTP servers: uvicorn as `qdn serve` ran it before issue #19, or granian.

    .venv/bin/python bench/servers.py service      # `qdn serve`, with granian in uvicorn's place

Both run the app in this one process (pinned to one CPU by the bench), on
$HOST:$PORT. The baseline (bench/baseline_app.py) logs through uvicorn's
access log and the redaction filter, as the service did before #19; on
granian it has no access log. `service` runs web/main.py's `serve` exactly,
but hands the app it builds (the app's own access line included) to
granian's embedded server instead of `uvicorn.run`, behind uvicorn's
ProxyHeadersMiddleware (granian reads no X-Forwarded-For): issue #19's
server lever, measured and not kept (docs/performance.md).
"""

from __future__ import annotations

import os
from typing import Any


def host_port() -> tuple[str, int]:
    return os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))


def run_uvicorn(app: Any, access_log: bool = True) -> None:
    """uvicorn as `qdn serve` ran it before #19; `access_log=False`: the floor, no access log at all."""
    import logging

    import uvicorn

    from web.logging import install_redaction

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_redaction()
    host, port = host_port()
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info",
        access_log=access_log,
    )


def run_granian(app: Any, host: str | None = None, port: int | None = None) -> None:
    """granian's embedded server (one process, one Rust runtime thread) on uvloop; SIGTERM stops it gracefully."""
    import asyncio
    import signal

    import uvloop
    from granian.constants import Interfaces
    from granian.server.embed import Server

    if host is None or port is None:
        host, port = host_port()

    async def serve() -> None:
        server = Server(app, address=host, port=port, interface=Interfaces.ASGI, log_access=False)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.stop)
        await server.serve()

    uvloop.run(serve())


def serve_service_on_granian() -> int:
    import sys
    from pathlib import Path

    import uvicorn
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from web.main import main

    def run(app: Any, *, host: str, port: int, forwarded_allow_ips: str, **ignored: Any) -> None:
        run_granian(ProxyHeadersMiddleware(app, trusted_hosts=forwarded_allow_ips), host, port)

    uvicorn.run = run  # type: ignore[assignment]
    return main(["serve"])


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["service"]:
        raise SystemExit(__doc__)
    sys.exit(serve_service_on_granian())
