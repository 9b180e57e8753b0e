"""`qdn business add|list|show|update|token`: the admin API from the command line (ADMIN_TOKEN).

Secrets never go on the command line (shell history, `ps`): --auth-token,
--api-secret and --events-secret take no value. Each reads its secret from
its environment variable when that is set (QDN_TWILIO_AUTH_TOKEN,
QDN_TWILIO_API_SECRET, QDN_EVENTS_SECRET), else asks for it without echo at
a terminal, else reads one line of piped input (in that order: auth token,
API secret, events secret).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from cli import business_text
from cli.admin_client import AdminClient
from cli.api_client import CliError, client_settings
from config.declarations import environment

# (flag, env var, prompt, where it goes: (object, key) with None for top level)
SECRETS = (
    ("--auth-token", "QDN_TWILIO_AUTH_TOKEN", "Twilio auth token", ("twilio", "auth_token")),
    ("--api-secret", "QDN_TWILIO_API_SECRET", "Twilio API secret", ("twilio", "api_secret")),
    ("--events-secret", "QDN_EVENTS_SECRET", "Events secret (whsec_...)", (None, "events_secret")),
)
# (flag's dest, API field) of the plain values.
PLAIN = (
    ("slug", "slug"),
    ("name", "name"),
    ("phone", "phone"),
    ("timezone", "timezone"),
    ("number", "numbers"),
    ("messaging_service_sid", "messaging_service_sid"),
    ("dispatcher", "dispatchers"),
    ("accent_color", "accent_color"),
    ("events_url", "events_url"),
    ("send_rate", "send_rate_per_second"),
    ("ack_interval_hours", "ack_interval_hours"),
    ("quiet_hours", "quiet_hours"),
    ("reminder_hour", "reminder_hour"),
    ("review_url", "review_url"),
    ("review_hour", "review_hour"),
    ("review_interval_days", "review_interval_days"),
    ("state_quiet_hours", "state_quiet_hours"),
)
TWILIO_PLAIN = (("account_sid", "account_sid"), ("api_key", "api_key"))


def _secret_help(env: str) -> str:
    return (
        f"takes no value: the secret is read from ${env} when set, else asked for without echo (or read as a "
        "line of piped input); never put a secret on the command line"
    )


def _secret(flag: str, env: str, prompt: str) -> str:
    value = environment(env)
    if value is None:
        if sys.stdin.isatty():
            value = getpass.getpass(f"{prompt} (not shown): ")
        else:
            value = sys.stdin.readline().rstrip("\r\n")
    if not value.strip():
        raise CliError(f"{flag}: no secret given; set {env}, or type it when asked")
    return value


def _on_off(text: str) -> bool:
    if text.strip().lower() in ("on", "true", "yes"):
        return True
    if text.strip().lower() in ("off", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not on or off")


def _templates(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise CliError(f"cannot read --templates {path}: {reason}") from None


def fields_of(args: argparse.Namespace, *, creating: bool) -> dict[str, Any]:
    """The API body the flags given describe (only those given: an update changes nothing else)."""
    given = PLAIN if creating else [(dest, field) for dest, field in PLAIN if field != "slug"]  # update's is whose
    body: dict[str, Any] = {field: getattr(args, dest) for dest, field in given if getattr(args, dest) is not None}
    if args.templates is not None:
        body["templates"] = _templates(args.templates)
    twilio = {key: getattr(args, dest) for dest, key in TWILIO_PLAIN if getattr(args, dest) is not None}
    for flag, env, prompt, (holder, key) in SECRETS:
        if getattr(args, flag[2:].replace("-", "_")):
            (body if holder is None else twilio)[key] = _secret(flag, env, prompt)
    if twilio:
        body["twilio"] = twilio  # replaced whole: an update gives every part it keeps
    if getattr(args, "no_twilio", False):
        body["twilio"] = None
    if getattr(args, "no_events", False):
        body |= {"events_url": None, "events_secret": None}
    return body


def connect(args: argparse.Namespace) -> AdminClient:
    return AdminClient.from_settings(client_settings(), args.url)


def add(args: argparse.Namespace) -> int:
    body = fields_of(args, creating=True)
    with connect(args) as client:
        created = client.add_business(body)
    print(business_text.added(created["business"]))
    print(business_text.new_token(created["business"]["slug"], created["token"]))
    return 0


def listing(args: argparse.Namespace) -> int:
    with connect(args) as client:
        print(business_text.table(client.list_businesses()))
    return 0


def show(args: argparse.Namespace) -> int:
    with connect(args) as client:
        print(business_text.details(client.get_business(args.slug)))
    return 0


def update(args: argparse.Namespace) -> int:
    body = fields_of(args, creating=False)
    if not body:
        raise CliError("nothing to change: give what to set, e.g. --name, --number, --dispatcher (see --help)")
    with connect(args) as client:
        business = client.update_business(args.slug, body)
    print(f"Business {business['slug']} updated ({', '.join(body)}).")
    print(business_text.details(business))
    return 0


def token(args: argparse.Namespace) -> int:
    with connect(args) as client:
        if args.revoke is not None:
            client.revoke_token(args.slug, args.revoke)
            print(f"Token {args.revoke} of {args.slug} is revoked: it no longer works.")
            return 0
        issued = client.issue_token(args.slug)
    print(business_text.new_token(args.slug, issued))
    return 0


def _business_flags(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    if creating:
        parser.add_argument("--slug", required=True, help="lowercase letters, digits and '-', e.g. acme-hauling")
        parser.add_argument("--name", required=True, help="as customers see it")
    else:
        parser.add_argument("slug", help="the business (see `qdn business list`)")
        parser.add_argument("--name", help="as customers see it")
    parser.add_argument("--phone", help="the phone shown to customers")
    parser.add_argument("--timezone", help="IANA name, e.g. America/Chicago (default: TIMEZONE)")
    replaced = "" if creating else " (replaces the list)"
    parser.add_argument("--number", action="append", help=f"a Twilio number it texts on; repeat for more{replaced}")
    parser.add_argument("--messaging-service-sid", metavar="MG...", help="its Twilio Messaging Service")
    parser.add_argument(
        "--dispatcher",
        action="append",
        help=f"a dispatcher's phone, optionally named (Maria:+15125550100); repeat for more{replaced}",
    )
    parser.add_argument("--accent-color", metavar="#RRGGBB", help="its tracking page's colour")
    parser.add_argument("--templates", metavar="FILE", help="a TOML file of its wording (the TEMPLATES_PATH shape)")
    own = parser.add_argument_group(
        "its own Twilio account (default: the deployment's)",
        "account SID and auth token, and optionally an API key and secret"
        + ("" if creating else "; an update replaces all of them: give every one it keeps"),
    )
    own.add_argument("--account-sid", metavar="AC...")
    own.add_argument("--api-key", metavar="SK...")
    parser.add_argument("--events-url", help="where its dashboard events are POSTed (with --events-secret)")
    for flag, env, _, (holder, _key) in SECRETS:
        group = own if holder == "twilio" else parser
        group.add_argument(flag, action="store_true", help=_secret_help(env))
    parser.add_argument("--send-rate", type=float, metavar="PER_SECOND", help="texts per second (default: the setting)")
    parser.add_argument("--ack-interval-hours", type=float, metavar="HOURS", help="loop guard (default: the setting)")
    parser.add_argument("--quiet-hours", metavar="21-8", help='hours reminders wait out; "" for none')
    parser.add_argument("--reminder-hour", metavar="HOUR", help='local hour of day-before reminders; "" for off')
    parser.add_argument("--review-url", metavar="URL", help='where customers leave a review; "" for no requests')
    parser.add_argument(
        "--review-hour", type=int, metavar="HOUR", help="local hour of review requests (default: the setting)"
    )
    parser.add_argument(
        "--review-interval-days", type=int, metavar="DAYS", help="one review request per phone in this many days"
    )
    parser.add_argument(
        "--state-quiet-hours",
        type=_on_off,
        metavar="on|off",
        help="also keep the customer's state's calling hours (docs: Compliance)",
    )
    if not creating:
        parser.add_argument("--no-twilio", action="store_true", help="use the deployment's Twilio account again")
        parser.add_argument("--no-events", action="store_true", help="stop its dashboard events")


def add_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `qdn business ...` (cli/main.py's build_parser); `remote` adds --url."""
    business = commands.add_parser(
        "business",
        help="add, list, show and change businesses; issue and revoke their dashboard tokens (ADMIN_TOKEN)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    ).add_subparsers(dest="business_command", required=True, metavar="ACTION")
    add_parser = business.add_parser("add", parents=[remote], help="register a business (prints its first token)")
    _business_flags(add_parser, creating=True)
    add_parser.set_defaults(run=add)
    business.add_parser("list", parents=[remote], help="every business, one a line").set_defaults(run=listing)
    show_parser = business.add_parser("show", parents=[remote], help="one business (secrets: last four only)")
    show_parser.add_argument("slug")
    show_parser.set_defaults(run=show)
    update_parser = business.add_parser("update", parents=[remote], help="change what is given; the rest stays")
    _business_flags(update_parser, creating=False)
    update_parser.set_defaults(run=update)
    token_parser = business.add_parser(
        "token", parents=[remote], help="issue another dashboard token (shown once), or --revoke one"
    )
    token_parser.add_argument("slug")
    token_parser.add_argument("--revoke", metavar="TOKEN_ID", help="the token's id (tok_...; see `qdn business show`)")
    token_parser.set_defaults(run=token)
