"""The `qdn` client commands: each talks to a running service over HTTP (`web/main.py` adds `serve`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from bot.errors import StoreError, ValidationError
from bot.jobs import STATUS_CHOICES, STATUSES, parse_status, parse_statuses
from bot.wording import first_name
from cli import business, transcript
from cli.api_client import ApiClient, CliError, dashboard_client
from cli.demo import add_demo_jobs
from store.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def client_settings() -> Settings:
    """The service's settings as a client reads them: never making a secret in its data folder."""
    try:
        return load_settings(read_only=True)
    except OSError as error:  # e.g. the service's api_token file is not readable by this user
        raise CliError(f"cannot read the service's data folder: {error}") from None


def connect(args: argparse.Namespace) -> tuple[Settings, ApiClient]:
    settings = client_settings()
    return settings, dashboard_client(settings, args.url)


def jobs_create(args: argparse.Namespace) -> int:
    fields = {"customer_name": args.name, "customer_phone": args.phone, "service_type": args.service}
    optional = {"address": args.address, "total": args.total, "scheduled_for": args.scheduled, "notes": args.notes}
    fields.update({key: value for key, value in optional.items() if value is not None})
    settings, client = connect(args)
    with client:
        print(transcript.job_created(client.create_job(fields), settings.timezone))
    return 0


def jobs_list(args: argparse.Namespace) -> int:
    wanted = checked(parse_statuses, args.status) if args.status else set()
    settings, client = connect(args)
    with client:
        statuses = ",".join(status for status in STATUSES if status in wanted) or None
        print(transcript.jobs_table(client.list_jobs(statuses), settings.timezone))
    return 0


def jobs_show(args: argparse.Namespace) -> int:
    settings, client = connect(args)
    with client:
        print(transcript.job_details(client.get_job(args.id), settings.timezone))
    return 0


def checked(parse: Callable[[str], T], text: str) -> T:
    """`parse(text)` with the same check (and words) as the service, as one CliError line."""
    try:
        return parse(text)
    except ValidationError as error:
        raise CliError(error.message) from None


def jobs_status(args: argparse.Namespace) -> int:
    # "en route", "EN-ROUTE", "done", "canceled": the spellings the API and dispatchers' texts take.
    status = checked(parse_status, args.status)
    with connect(args)[1] as client:
        job = client.change_status(args.id, status, eta_minutes=args.eta, total=args.total)
    print(f"Job {job['id']} is {transcript.status_text(job)}. Tracking: {job['tracking_url']}")
    # What became of the customer's text (the answer's `text`), said only when it was not sent.
    text = job.get("text")
    if text is None:
        print("Nothing changed; the customer was not texted again.")
    elif text.get("reason") == "opted_out":
        print("Customer has opted out; not texted.")
    return 0


def show_log(args: argparse.Namespace) -> int:
    settings, client = connect(args)
    dispatchers = set(settings.dispatcher_numbers)
    customers: dict[str, str] = {}
    with client:
        if args.unknown:
            messages = client.unknown_messages()
            title = "Texts whose outcome is unknown"
        elif args.job is not None:
            job = client.get_job(args.job)
            messages = client.job_messages(args.job)
            customers[job["customer_phone"]] = first_name(job["customer_name"])
            title = f"Job {job['id']}: {job['customer_name']}, {job['service_type']}, {transcript.status_text(job)}"
        else:
            messages = client.phone_messages(args.phone)
            title = f"Texts with {messages[0]['phone'] if messages else args.phone}"

    def who(phone: str) -> str:
        if phone in customers:
            return f"{customers[phone]} (customer) {phone}"
        return f"dispatcher {phone}" if phone in dispatchers else phone

    print(f"{title} (times in {settings.timezone.key})")
    print("\n".join(transcript.transcript(messages, settings.timezone, who)) if messages else "No texts yet.")
    if args.unknown and messages:
        print("\nCheck with the customer; to send one again: POST /jobs/{job}/messages/{message}/resend")
        for m in messages:
            print(f"  job {m['job_id']}, message {m['id']}" if m["job_id"] else f"  message {m['id']} (no job)")
    return 0


def demo(args: argparse.Namespace) -> int:
    settings, client = connect(args)
    with client:
        print("\n".join(add_demo_jobs(client, settings)))
    return 0


def chat(args: argparse.Namespace) -> int:
    from cli.phone import Phone, phone_number, run_chat

    phone = phone_number(args.from_phone, "--from")
    to = phone_number(args.to, "--to") if args.to is not None else None
    settings = client_settings()
    with dashboard_client(settings, args.url) as client, dashboard_client(settings, args.url) as poller:
        simulator = Phone(settings, client, poller, phone, to)
        return run_chat(simulator, sys.stdin, sys.stdout, interactive=sys.stdin.isatty(), wait=args.wait)


def build_parser(more_commands: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qdn", description="QuickDumpNow SMS service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if more_commands is not None:
        more_commands(commands)
    # Every other command talks to a running service: where it is comes from the settings, or --url.
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--url", help="the running service (default http://HOST:PORT from the settings)")

    jobs = commands.add_parser("jobs", help="create, list, show and move jobs").add_subparsers(
        dest="jobs_command", required=True, metavar="ACTION"
    )
    create = jobs.add_parser("create", parents=[remote], help="add a job (the customer is texted)")
    create.add_argument("--name", required=True, help="customer name")
    create.add_argument("--phone", required=True, help="customer phone, e.g. 512-555-0199")
    create.add_argument("--service", required=True, help='e.g. "junk removal", "dump trailer rental"')
    create.add_argument("--address")
    create.add_argument("--total", help="USD, e.g. 350 or $1,200.00")
    create.add_argument(
        "--scheduled", help="ISO 8601: a day (2026-12-05) or a time (2026-12-01T08:30; no zone means TIMEZONE)"
    )
    create.add_argument("--notes")
    create.set_defaults(run=jobs_create)
    listing = jobs.add_parser("list", parents=[remote], help="jobs, newest first")
    listing.add_argument("--status", help='only these statuses, comma-separated, e.g. "en route,arrived"')
    listing.set_defaults(run=jobs_list)
    show = jobs.add_parser("show", parents=[remote], help="one job with its tracking link and history")
    show.add_argument("id", type=int)
    show.set_defaults(run=jobs_show)
    status = jobs.add_parser("status", parents=[remote], help="move a job (the customer is texted)")
    status.add_argument("id", type=int)
    status.add_argument("status", help=f"{STATUS_CHOICES} (done, canceled, EN-ROUTE... work too)")
    status.add_argument("--eta", type=int, help="minutes, with en_route")
    status.add_argument("--total", help="USD, with complete")
    status.set_defaults(run=jobs_status)

    business.add_commands(commands, remote)  # qdn business add|list|show|update|token (ADMIN_TOKEN)

    log = commands.add_parser("log", parents=[remote], help="a conversation as a transcript")
    which = log.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", type=int, help="the job's conversation, dispatcher relays included")
    which.add_argument("--phone", help="every text to or from this phone")
    which.add_argument(
        "--unknown",
        action="store_true",
        help="every text whose send may or may not have reached Twilio, left for a person to check and send again",
    )
    log.set_defaults(run=show_log)
    commands.add_parser("demo", parents=[remote], help="add realistic jobs in every state").set_defaults(run=demo)
    chat_command = commands.add_parser("chat", parents=[remote], help="be a phone texting the service")
    chat_command.add_argument("--from", dest="from_phone", required=True, metavar="PHONE")
    chat_command.add_argument(
        "--to",
        metavar="NUMBER",
        help="the business number texted (default TWILIO_FROM_NUMBER, else BUSINESS_PHONE); another business's "
        "number makes this phone that business's customer or dispatcher. Texts are signed with the deployment's "
        "key, so that business must use the deployment's Twilio account (or the console). To see the texts it "
        "sends this phone later, set QDN_API_TOKEN to its dashboard token",
    )
    chat_command.add_argument(
        "--wait", type=float, default=3.0, help="with piped input, seconds to wait for texts after the last line"
    )
    chat_command.set_defaults(run=chat)
    return parser


def main(argv: list[str] | None = None, *, more_commands: Callable[[Any], None] | None = None) -> int:
    """Run one `qdn` command; `more_commands(subparsers)` adds the service's own (web/main.py).

    A command the service runs as a process sets `process=True`: it logs at INFO.
    """
    args = build_parser(more_commands).parse_args(argv)
    # Only the service's processes log at INFO; a client command's output is its answer (and httpx
    # logs every request at INFO).
    level = logging.INFO if getattr(args, "process", False) else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # httpx's own INFO line per request names every URL in full: a picture's redirect to Twilio's media
    # store is a link anyone holding it can open for hours. The sender and fetcher log what happened.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code = args.run(args)
        # Inside the try: with `| head -1` the reader may be gone only when the buffered output is written.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader stopped reading (`qdn jobs list | head -3`): not an error worth a word.
        # Python's "Note on SIGPIPE": point stdout at devnull so the flush at exit fails quietly too.
        _stdout_to_devnull()
        return 1
    except (ConfigError, StoreError, CliError) as error:
        print(f"qdn: {error}", file=sys.stderr)
        return 2 if isinstance(error, (ConfigError, StoreError)) else 1
    except KeyboardInterrupt:  # Ctrl-C at a prompt or mid-request: stop quietly, as shells expect
        print(file=sys.stderr)
        return 130


def _stdout_to_devnull() -> None:
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (an in-process capture): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
