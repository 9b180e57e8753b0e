"""The `qdn` client commands: each talks to a running service over HTTP (`web/main.py` adds `serve`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.errors import StoreError, ValidationError
from bot.jobs import OPEN_STATUSES, REQUIRED_FIELDS, STATUS_CHOICES, STATUSES, parse_status, parse_statuses
from bot.wording import appointment_at, first_name, reschedule_words
from cli import business, consent, transcript
from cli.api_client import ApiClient, CliError, client_settings, dashboard_client
from cli.demo import add_demo_jobs
from cli.picture_links import signed_link
from config.settings import ConfigError, Settings

T = TypeVar("T")


def connect(args: argparse.Namespace) -> tuple[Settings, ApiClient]:
    settings = client_settings()
    return settings, dashboard_client(settings, args.url)


def jobs_create(args: argparse.Namespace) -> int:
    fields = {"customer_name": args.name, "customer_phone": args.phone, "service_type": args.service}
    optional = {"address": args.address, "total": args.total, "scheduled_for": args.scheduled, "notes": args.notes}
    fields.update({key: value for key, value in optional.items() if value is not None})
    with connect(args)[1] as client:
        job = client.create_job(fields)
        print(transcript.job_created(job, client.business_zone()))
    return 0


def jobs_list(args: argparse.Namespace) -> int:
    wanted = checked(parse_statuses, args.status) if args.status else set()
    with connect(args)[1] as client:
        statuses = ",".join(status for status in STATUSES if status in wanted) or None
        print(transcript.jobs_table(client.list_jobs(statuses), client.business_zone()))
    return 0


def jobs_show(args: argparse.Namespace) -> int:
    with connect(args)[1] as client:
        print(transcript.job_details(client.get_job(args.id), client.business_zone()))
    return 0


# `qdn jobs edit` options: (flag, the PATCH field, what it is called in qdn's answer).
EDIT_OPTIONS = (
    ("--name", "customer_name", "name"),
    ("--phone", "customer_phone", "phone"),
    ("--service", "service_type", "service"),
    ("--address", "address", "address"),
    ("--scheduled", "scheduled_for", "appointment"),
    ("--total", "total", "total"),
    ("--invoice-url", "invoice_url", "invoice"),
    ("--notes", "notes", "notes"),
)
EDIT_FLAGS = ", ".join(flag for flag, _, _ in EDIT_OPTIONS[:-1]) + f" or {EDIT_OPTIONS[-1][0]}"


def jobs_edit(args: argparse.Namespace) -> int:
    given = {field: getattr(args, field) for _, field, _ in EDIT_OPTIONS if getattr(args, field) is not None}
    if not given:
        raise CliError(f"say what to change: {EDIT_FLAGS}")
    # An empty value clears an optional field (the service refuses an empty required one, saying so).
    fields = {field: value if value.strip() or field in REQUIRED_FIELDS else None for field, value in given.items()}
    with connect(args)[1] as client:
        before = client.get_job(args.id)
        job = client.edit_job(args.id, fields)
        zone = client.business_zone()
        print("\n".join(edit_report(client, before, job, zone)))
    return 0


def edit_report(client: ApiClient, before: dict[str, Any], job: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """What `qdn jobs edit` changed, and whether the customer was texted a new appointment."""
    changed = [name for _, field, name in EDIT_OPTIONS if before.get(field) != job.get(field)]
    if not changed:
        return [f"Job {job['id']}: nothing changed. Tracking: {job['tracking_url']}"]
    lines = [f"Job {job['id']} updated: {', '.join(changed)}. Tracking: {job['tracking_url']}"]
    moves = job.get("reschedules") or []
    if len(moves) > len(before.get("reschedules") or []):
        words = reschedule_words(moves[-1], zone)
        # The service queues the `rescheduled` text in the same write, stamped with the job's update time.
        texts = [
            m
            for m in client.job_messages(job["id"])
            if m["kind"] == "notification" and m["created_at"] == job["updated_at"]
        ]
        if not texts:
            still_open = job["status"] in OPEN_STATUSES
            told = "no one is texted" + ("" if still_open else f" (the job is {transcript.status_text(job)})")
        elif texts[-1]["status"] == "skipped":
            told = "the customer has opted out; not texted"
        else:
            told = "the customer is texted the new time"
        lines.append(f"{words[0].upper()}{words[1:]}; {told}.")
        shown = [appointment_at(moves[-1].get(end), zone) for end in ("from", "to")]
        if any(shown):
            lines.append(transcript.zone_note(zone, shown))
    return lines


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
            if held := job.get("reminder_held"):  # waiting out the customer's quiet hours (their clock)
                title += f"\nReminder: {held['outcome']}"
        else:
            messages = client.phone_messages(args.phone)
            title = f"Texts with {messages[0]['phone'] if messages else args.phone}"
        acting_for = client.business()
        zone, slug = client.business_zone(acting_for), str(acting_for.get("slug"))

    def who(phone: str) -> str:
        if phone in customers:
            return f"{customers[phone]} (customer) {phone}"
        if name := settings.dispatcher_names.get(phone):
            return f"{name} (dispatcher) {phone}"
        return f"dispatcher {phone}" if phone in dispatchers else phone

    print(title)
    if not messages:
        print("None: every text's outcome is known." if args.unknown else "No texts yet.")
        return 0
    print(transcript.zone_note(zone, [transcript.moment_of(message["created_at"], zone) for message in messages]))
    # A picture as a phone gets it: the signed /m/ link (the API's /media/ one, if qdn has no SECRET_KEY).
    print("\n".join(transcript.transcript(messages, zone, who, lambda item: signed_link(settings, slug, item))))
    if args.unknown:
        print("\nCheck with the customer; to send one again: POST /jobs/{job}/messages/{message}/resend")
        for m in messages:
            print(f"  job {m['job_id']}, message {m['id']}" if m["job_id"] else f"  message {m['id']} (no job)")
    return 0


def demo(args: argparse.Namespace) -> int:
    settings, client = connect(args)
    with client:
        print("\n".join(add_demo_jobs(client, settings, client.business_zone())))
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

    jobs = commands.add_parser("jobs", help="create, list, show, edit and move jobs").add_subparsers(
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
    edit = jobs.add_parser(
        "edit",
        parents=[remote],
        help="change a job's details; a new appointment texts the customer",
        description="Change a job's details (at least one option). An empty value clears an optional one "
        '(--notes ""). A new --scheduled for an open job texts the customer the new time and is kept in '
        "the job's history; nothing else texts anyone.",
    )
    edit.add_argument("id", type=int, metavar="ID")
    edit.add_argument("--name", dest="customer_name", metavar="NAME", help="customer name")
    edit.add_argument("--phone", dest="customer_phone", metavar="PHONE", help="customer phone, e.g. 512-555-0199")
    edit.add_argument("--service", dest="service_type", metavar="SERVICE", help='e.g. "junk removal"')
    edit.add_argument("--address", dest="address", metavar="ADDRESS")
    edit.add_argument(
        "--scheduled",
        dest="scheduled_for",
        metavar="WHEN",
        help="the new appointment, ISO 8601: 2026-12-09T14:00 (no zone means the business's) or 2026-12-09",
    )
    edit.add_argument("--total", dest="total", metavar="USD", help="e.g. 350 or $1,200.00")
    edit.add_argument("--invoice-url", dest="invoice_url", metavar="URL", help="an http(s) link")
    edit.add_argument("--notes", dest="notes", metavar="TEXT")
    edit.set_defaults(run=jobs_edit)
    status = jobs.add_parser("status", parents=[remote], help="move a job (the customer is texted)")
    status.add_argument("id", type=int)
    status.add_argument("status", help=f"{STATUS_CHOICES} (done, canceled, EN-ROUTE... work too)")
    status.add_argument("--eta", type=int, help="minutes, with en_route")
    status.add_argument("--total", help="USD, with complete")
    status.set_defaults(run=jobs_status)

    business.add_commands(commands, remote)  # qdn business add|list|show|update|token (ADMIN_TOKEN)
    consent.add_commands(commands, remote)  # qdn consent export

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
