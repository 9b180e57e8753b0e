"""The `qdn` command: the service's own processes run here, every other command is the client in cli/.

qdn serve     the web service (and, unless RUN_SENDER=false, the sender beside it)
qdn send      the sender alone (sender/__main__.py); with TinyDB it waits, as `qdn serve` sends
qdn migrate   apply the PostgreSQL schema's pending migrations (TinyDB has none)
qdn store copy --to URL
              copy the whole configured store into a new, empty one (store/copy.py)
qdn store backup DIR
              a consistent copy of a TinyDB store, taken while it runs or not (store/tinydb/backup.py)
qdn ...       cli/main.py: commands that talk to a running service over HTTP
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cli.api_client import CliError
from cli.main import main as run_command
from config.settings import (
    ADMIN_TOKEN_FILE,
    API_TOKEN_FILE,
    DEV_WEBHOOK_SECRET_FILE,
    SECRET_KEY_FILE,
    ConfigError,
    load_settings,
)

if TYPE_CHECKING:
    from store import Deployment

POSTGRES_SCHEMES = ("postgresql", "postgres")
# The files the service makes its secrets in (DATA_DIR): a copy or a backup of the store carries them.
GENERATED_SECRETS = (API_TOKEN_FILE, ADMIN_TOKEN_FILE, SECRET_KEY_FILE, DEV_WEBHOOK_SECRET_FILE)


def serve(args: argparse.Namespace) -> int:
    from store import backend_for
    from web.app import create_app
    from web.logging import ACCESS_LOGGER, QuietSimulatorPolling, install_redaction, log_off_the_loop
    from web.middleware import BODY_TIMEOUT_SECONDS, AccessLogMiddleware
    from web.slow_clients import (
        HEADER_TIMEOUT_SECONDS,
        KEEP_ALIVE_SECONDS,
        default_max_connections,
        protocol_with_limits,
    )

    # Tokens and phone numbers never reach the access or application logs.
    install_redaction()
    settings = load_settings(check_database_url=backend_for)  # a malformed server URL: before any secret is made
    if not settings.twilio_live:
        logging.getLogger(ACCESS_LOGGER).addFilter(QuietSimulatorPolling())
    # Open the store before the server starts, so a locked or corrupt data
    # folder stops us with one clear line instead of a lifespan traceback.
    deployment = asyncio.run(_open_to_serve(settings.database_url))
    # The access log is the app's own line, masked field by field (web/middleware.py); uvicorn's is off.
    # uvicorn, not granian: on one core granian took ~45 us less a request for bare Starlette, but ~70-120 us
    # more for this service (its flush and store threads beside granian's Rust one; docs/performance.md #19).
    app = AccessLogMiddleware(create_app(settings, deployment, body_timeout=args.body_timeout or BODY_TIMEOUT_SECONDS))
    import uvicorn

    # The event loop only appends log records to a deque; a thread masks, formats and writes them (issue #30).
    listener = log_off_the_loop()
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            # One worker: with TinyDB the store lives in this process's memory behind a lock on the
            # data folder; with PostgreSQL, run more `qdn serve` processes instead (README).
            workers=1,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            log_level="info",
            access_log=False,
            # Slow clients (docs/production-timeouts.md): headers within --header-timeout, at most
            # --max-connections open (web/slow_clients.py); the body within --body-timeout (the app's);
            # an idle kept-alive connection closed after --keep-alive seconds.
            http=protocol_with_limits(
                args.header_timeout or HEADER_TIMEOUT_SECONDS, args.max_connections or default_max_connections()
            ),
            timeout_keep_alive=args.keep_alive or KEEP_ALIVE_SECONDS,
        )
    finally:
        listener.stop()  # writes what is still queued
    return 0


async def _open_to_serve(database_url: str) -> Deployment | None:
    """The deployment `qdn serve` hands the app: opened here, so a store that cannot be used stops
    start-up with one clear line. A backend whose connections belong to the event loop that opened
    them (PostgreSQL) is checked, closed again, and opened by the lifespan in the server's own loop.
    """
    from store import backend_for, open_deployment

    deployment = await open_deployment(database_url)
    if backend_for(database_url).one_process:
        return deployment
    await deployment.close()
    return None


def send(args: argparse.Namespace) -> int:
    from sender.__main__ import run
    from web.logging import install_redaction

    install_redaction()  # Twilio lookups carry the phone in their URL, which httpx logs
    # read_only: the secrets are the web process's to make; started at the same moment (honcho),
    # two makers would race, and the web process could end up using a secret the file no longer holds.
    return run(load_settings(read_only=True))


def migrate(args: argparse.Namespace) -> int:
    from store import backend_for

    database_url = load_settings(read_only=True).database_url
    backend_for(database_url)  # an unknown scheme is one line naming DATABASE_URL
    if urlsplit(database_url).scheme not in POSTGRES_SCHEMES:
        print("TinyDB needs no migrations: its files carry their own format, read at every start.")
        return 0
    from store.postgres.migrate import migrate_database

    applied, version = asyncio.run(migrate_database(database_url))
    for name in applied:
        print(f"applied {name}")
    print(f"up to date (version {version})")
    return 0


def store_copy(args: argparse.Namespace) -> int:
    from store import backend_for, open_deployment
    from store.copy import CopyReport, carry_secrets, check_not_same, copy_deployment, shown_url

    settings = load_settings(read_only=True)  # the source's; its generated secrets are read, never made
    target_url = args.to
    try:
        target_backend = backend_for(target_url)
    except ValueError as error:  # the registry's words, for --to, without the URL's password
        problem = str(error).replace(repr(target_url), repr(shown_url(target_url)))
        raise ConfigError(problem.replace("DATABASE_URL", "--to", 1)) from None
    check_not_same(settings.database_url, target_url)

    async def run() -> CopyReport:
        source = await open_deployment(settings.database_url)
        try:
            target = await open_deployment(target_url)
            try:
                return await copy_deployment(source, target)
            finally:
                await target.close()
        finally:
            await source.close()

    report = asyncio.run(run())
    print(f"Copied {shown_url(settings.database_url)} to {shown_url(target_url)}:")
    print("\n".join(report.lines()))
    for line in carry_secrets(settings.data_folder, target_backend.data_folder(target_url), GENERATED_SECRETS):
        print(line)
    print("To switch, stop the service, set DATABASE_URL to the target and start it again.")
    return 0


def store_backup(args: argparse.Namespace) -> int:
    settings = load_settings(read_only=True)  # the secrets the service made are read, never made
    if urlsplit(settings.database_url).scheme in POSTGRES_SCHEMES:
        # pg_dump is PostgreSQL's own consistent snapshot; wrapping it would add a client that must
        # match the server's version, and hide the options (and PITR) an operator should choose.
        raise CliError(
            'PostgreSQL backs up with its own tools: pg_dump -Fc -d "$DATABASE_URL" -f qdn.dump while the service '
            "runs, or WAL archiving for point-in-time recovery (docs/backup.md); nothing was written"
        )
    from store import shown_url
    from store.tinydb import tinydb_path
    from store.tinydb.backup import back_up

    folder = settings.data_folder
    into = Path(args.dir).absolute()
    report = back_up(tinydb_path(settings.database_url), into, secrets=[folder / name for name in GENERATED_SECRETS])
    businesses = ", ".join(["default", *report.businesses])
    print(f"Backed up {shown_url(settings.database_url)} to {into}: businesses {businesses}; "
          f"{report.files} files, {report.bytes / 1e6:.1f} MB.")  # fmt: skip
    if report.secrets:
        print(f"With the generated secrets from {folder} ({', '.join(report.secrets)}): keep the backup as private "
              "as the data folder.")  # fmt: skip
    if SECRET_KEY_FILE not in report.secrets and str(settings.secret_key):
        print("SECRET_KEY is set in the environment, so it is not in the backup: keep it with your backups "
              "(the businesses' Twilio secrets are sealed with it).")  # fmt: skip
    print("To restore: stop the service, put this folder's files in place of the store's, start it (docs/backup.md).")
    return 0


def add_process_commands(commands: Any) -> None:
    serve_command = commands.add_parser(
        "serve",
        help="run the web service",
        description="Run the web service (and, unless RUN_SENDER=false, the sender). The timeouts bound slow "
        "clients; behind a reverse proxy set its own too (docs/production-timeouts.md).",
    )
    serve_command.set_defaults(run=serve, process=True)
    _add_slow_client_options(serve_command)
    commands.add_parser(
        "send",
        help="run the sender alone (beside `qdn serve` with RUN_SENDER=false)",
        description="Send queued texts until stopped (SIGTERM or Ctrl-C). With TinyDB the web process "
        "sends, and this waits quietly, so a Procfile's `worker: qdn send` line is harmless.",
    ).set_defaults(run=send, process=True)
    commands.add_parser(
        "migrate",
        help="bring DATABASE_URL's PostgreSQL schema up to date",
        description="Apply the pending schema migrations of DATABASE_URL's PostgreSQL database (the service "
        "also applies them at start) and say what was applied. TinyDB needs none. A database newer than this "
        "code is refused.",
    ).set_defaults(run=migrate)
    store = commands.add_parser("store", help="copy or back up the configured store").add_subparsers(
        dest="store_command", required=True, metavar="ACTION"
    )
    copy = store.add_parser(
        "copy",
        help="copy everything into a new, empty store (e.g. TinyDB to PostgreSQL)",
        description="Copy every business with its jobs, texts (pending ones included) and phone states from "
        "DATABASE_URL into the empty store --to names, read everything back and print the counts on both "
        "sides. Stop the service first (TinyDB: the copy needs its lock). Idempotency keys and undelivered "
        "dashboard events are not copied.",
    )
    copy.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://user:pw@host/db")
    copy.set_defaults(run=store_copy)
    backup = store.add_parser(
        "backup",
        help="copy a TinyDB store into a new folder, while the service runs or not",
        description="Copy the TinyDB store DATABASE_URL names (every business, pictures, the generated secrets) "
        "into DIR, a new or empty folder: everything written before the backup began, consistent even while "
        "the service runs. A service started on DIR (or on a data folder DIR is copied into) finds it all. "
        "PostgreSQL backs up with pg_dump (docs/backup.md).",
    )
    backup.add_argument("dir", metavar="DIR", help="a new or empty folder, e.g. /backups/qdn-2026-12-07T0100")
    backup.set_defaults(run=store_backup)


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def _add_slow_client_options(serve_command: argparse.ArgumentParser) -> None:
    # Defaults are resolved in `serve` (web/middleware.py, web/slow_clients.py): building the parser,
    # which every `qdn` command does, imports neither Starlette nor uvicorn.
    for flag, what in [
        ("--header-timeout", "close a connection whose request headers take longer (default 10)"),
        ("--body-timeout", "answer 408 to a request whose body takes longer (default 30)"),
    ]:
        serve_command.add_argument(flag, type=_positive_seconds, metavar="SECONDS", help=what)
    serve_command.add_argument(
        "--keep-alive", type=int, metavar="SECONDS", help="close a kept-alive connection idle this long (default 5)"
    )
    serve_command.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="close new connections past this many open ones (default: `ulimit -n` less 256, at most 10000)",
    )


def main(argv: list[str] | None = None) -> int:
    return run_command(argv, more_commands=add_process_commands)
