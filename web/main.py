"""The `qdn` command: the service's own processes run here, every other command is the client in cli/.

qdn serve     the web service (and, unless RUN_SENDER=false, the sender beside it)
qdn send      the sender alone (sender/__main__.py); with TinyDB it waits, as `qdn serve` sends
qdn ...       cli/main.py: commands that talk to a running service over HTTP
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from cli.main import main as run_command
from store.settings import load_settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from store import open_deployment
    from web.app import create_app
    from web.logging import QuietSimulatorPolling, install_redaction

    # Tokens and phone numbers never reach the access or application logs.
    install_redaction()
    settings = load_settings()
    if not settings.twilio_live:
        logging.getLogger("uvicorn.access").addFilter(QuietSimulatorPolling())
    # Open the store before the server starts, so a locked or corrupt data
    # folder stops us with one clear line instead of a lifespan traceback.
    deployment = asyncio.run(open_deployment(settings.database_url))
    uvicorn.run(
        create_app(settings, deployment),
        host=settings.host,
        port=settings.port,
        # One worker while the store is TinyDB: the store lives in this
        # process's memory and holds an exclusive lock on the data folder.
        workers=1,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="info",
    )
    return 0


def send(args: argparse.Namespace) -> int:
    from sender.__main__ import run
    from web.logging import install_redaction

    install_redaction()  # Twilio lookups carry the phone in their URL, which httpx logs
    # read_only: the secrets are the web process's to make; started at the same moment (honcho),
    # two makers would race, and the web process could end up using a secret the file no longer holds.
    return run(load_settings(read_only=True))


def add_process_commands(commands: Any) -> None:
    commands.add_parser("serve", help="run the web service").set_defaults(run=serve, process=True)
    commands.add_parser(
        "send",
        help="run the sender alone (beside `qdn serve` with RUN_SENDER=false)",
        description="Send queued texts until stopped (SIGTERM or Ctrl-C). With TinyDB the web process "
        "sends, and this waits quietly, so a Procfile's `worker: qdn send` line is harmless.",
    ).set_defaults(run=send, process=True)


def main(argv: list[str] | None = None) -> int:
    return run_command(argv, more_commands=add_process_commands)
