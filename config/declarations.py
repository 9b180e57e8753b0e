"""Every setting the code reads, declared once: its name, default, scope and meaning.

config/settings.py reads settings only through `declared(name)`, and the qdn command its
own through `environment(name)` (an undeclared name is a LookupError either way); an
unset setting takes the default declared here, so this table is what the service does.
The settings page of the documentation (docs/settings.md) is generated from it
(`python -m config.declarations --write docs/settings.md`, run by `make docs`),
and tests/test_docs.py checks the page is current and that no code reads an environment
variable this table does not declare.

Self-contained on purpose (the standard library only): it moves as one piece.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENT = "deployment"  # one value for the whole deployment
BUSINESS = "business"  # the default business's value; a registered business may set its own field
QDN_COMMAND = "qdn command"  # read by the `qdn` client commands only, never by the service


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None  # as written in .env; None: unset (see `shown_default`)
    scope: str  # DEPLOYMENT, BUSINESS or QDN_COMMAND
    meaning: str
    shown_default: str | None = None  # the page's words for a default that is made or worked out
    business_field: str | None = None  # with BUSINESS: the business's own field (admin API, `qdn business`)


SETTINGS: tuple[Setting, ...] = (
    # Where the service runs and what it stores.
    Setting(
        "HOST",
        "127.0.0.1",
        DEPLOYMENT,
        "Where the web process listens; `0.0.0.0` where a platform routes traffic to the container.",
    ),
    Setting("PORT", "8000", DEPLOYMENT, "The port the web process listens on; the `qdn` commands follow it."),
    Setting(
        "PUBLIC_BASE_URL",
        None,
        DEPLOYMENT,
        "The public origin (`https://sms.example.com`, no path): tracking "
        "and picture links, and the URL Twilio's signatures are checked against. Required with Twilio settings.",
        shown_default="`http://HOST:PORT`",
    ),
    Setting(
        "DATABASE_URL",
        "tinydb:///./data/qdn.json",
        DEPLOYMENT,
        "The store: `tinydb:///relative/path.json` "
        "(four slashes for an absolute path) or `postgresql://user:password@host:5432/db`.",
    ),
    Setting(
        "DATA_DIR",
        None,
        DEPLOYMENT,
        "Where generated secrets (and TinyDB's files) live.",
        shown_default="the TinyDB folder, else `./data`",
    ),
    Setting(
        "FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        DEPLOYMENT,
        "Proxies whose `X-Forwarded-For` is trusted for the "
        "client's address (the tracking-token slow-down counts per address).",
    ),
    Setting(
        "CORS_ORIGINS",
        "",
        DEPLOYMENT,
        "Comma-separated origins a browser dashboard may call the API from; `*` is refused.",
    ),
    Setting(
        "RUN_SENDER",
        "true",
        DEPLOYMENT,
        "Whether `qdn serve` also sends texts (`qdn send` sends alone); "
        "`false` for web processes on a shared PostgreSQL store.",
    ),
    # Secrets (made at first start in DATA_DIR when unset).
    Setting(
        "API_TOKEN",
        None,
        DEPLOYMENT,
        "The dashboard API's bearer token (the default business's).",
        shown_default="made at first start (`DATA_DIR/api_token`)",
    ),
    Setting(
        "ADMIN_TOKEN",
        None,
        DEPLOYMENT,
        "The bearer token of the businesses' admin API (`/admin/…`, `qdn business`).",
        shown_default="made at first start (`DATA_DIR/admin_token`)",
    ),
    Setting(
        "SECRET_KEY",
        None,
        DEPLOYMENT,
        "Seals stored Twilio and events secrets and signs picture links; "
        "`new,old` to rotate. At least 32 random characters.",
        shown_default="made at first start (`DATA_DIR/secret_key`)",
    ),
    # Twilio (all or none; none is local use, texts printed instead of sent).
    Setting(
        "TWILIO_ACCOUNT_SID",
        None,
        BUSINESS,
        "The Twilio account (`AC` + 32 hex characters).",
        business_field="twilio.account_sid",
    ),
    Setting(
        "TWILIO_AUTH_TOKEN",
        None,
        BUSINESS,
        "Checks Twilio's webhook signatures (and sends, without an API key).",
        business_field="twilio.auth_token",
    ),
    Setting(
        "TWILIO_API_KEY",
        None,
        BUSINESS,
        "An API key SID (`SK…`) to send with, together with `TWILIO_API_SECRET`.",
        business_field="twilio.api_key",
    ),
    Setting("TWILIO_API_SECRET", None, BUSINESS, "The API key's secret.", business_field="twilio.api_secret"),
    Setting(
        "TWILIO_MESSAGING_SERVICE_SID",
        None,
        BUSINESS,
        "The Messaging Service texts are sent from (wins over `TWILIO_FROM_NUMBER`).",
        business_field="messaging_service_sid",
    ),
    Setting(
        "TWILIO_FROM_NUMBER",
        None,
        BUSINESS,
        "The number texts are sent from, in E.164 (`+15125550123`).",
        business_field="numbers",
    ),
    Setting(
        "TWILIO_API_BASE_URL",
        None,
        DEPLOYMENT,
        "Another origin for Twilio's REST API (a local Twilio mock).",
        shown_default="Twilio's",
    ),
    Setting(
        "TWILIO_WEBHOOK_SHARED_KEY",
        None,
        DEPLOYMENT,
        "The secret of a Twilio webhook SharedKey: requests "
        "signed with HMAC-SHA256 are checked with it (without it they are refused).",
    ),
    # The business and its wording.
    Setting(
        "BUSINESS_NAME", "QuickDumpNow", BUSINESS, "The name texts and the tracking page carry.", business_field="name"
    ),
    Setting("BUSINESS_PHONE", None, BUSINESS, "The phone customers are told to call.", business_field="phone"),
    Setting(
        "TIMEZONE",
        "America/New_York",
        BUSINESS,
        "Local times in texts and pages; an unknown zone stops start-up.",
        business_field="timezone",
    ),
    Setting(
        "DISPATCHER_NUMBERS",
        "",
        BUSINESS,
        "Comma-separated dispatcher phones, each optionally named "
        "(`Maria:+15125550100`; a name of letters, spaces and `.'-`, up to 40, shown in the inbox and "
        "`qdn log`); an invalid one stops start-up.",
        business_field="dispatchers",
    ),
    Setting(
        "TEMPLATES_PATH",
        None,
        BUSINESS,
        "A TOML file overriding the built-in wording of texts ([Texts](texts.md)).",
        shown_default="built-in wording",
        business_field="templates",
    ),
    # The office inbox (/inbox).
    Setting(
        "INBOX_SESSION_HOURS",
        "12",
        DEPLOYMENT,
        "How long an office inbox login lasts (hours) before the dispatcher is asked for a new texted code.",
    ),
    # Texting.
    Setting(
        "ACK_INTERVAL_HOURS",
        "3",
        BUSINESS,
        "At most one acknowledgement of a customer's free text per phone "
        "in this many hours (so two bots cannot ping-pong).",
        business_field="ack_interval_hours",
    ),
    Setting(
        "SEND_RATE_PER_SECOND",
        "1",
        BUSINESS,
        "Texts sent per second at most, per sending number.",
        business_field="send_rate_per_second",
    ),
    Setting("SEND_GIVE_UP_HOURS", "24", DEPLOYMENT, "A text not sent within this many hours of queueing is `failed`."),
    Setting(
        "REMINDER_HOUR",
        "17",
        BUSINESS,
        "The local hour (0-23) the day-before reminder goes out; set but empty turns reminders off.",
        business_field="reminder_hour",
    ),
    Setting(
        "QUIET_HOURS",
        "21-8",
        BUSINESS,
        "Hours no reminder goes out (9 PM up to 8 AM); empty means none.",
        business_field="quiet_hours",
    ),
    # Review requests (docs/reviews.md).
    Setting(
        "REVIEW_URL",
        "",
        BUSINESS,
        "Where customers leave a review (`https://`); a completed job's customer is asked the next day, "
        "and the tracking page links it. Empty turns review requests off.",
        business_field="review_url",
    ),
    Setting(
        "REVIEW_HOUR",
        "10",
        BUSINESS,
        "The local hour (0-23) of the day after completion the review request goes out (quiet hours hold it).",
        business_field="review_hour",
    ),
    Setting(
        "REVIEW_INTERVAL_DAYS",
        "90",
        BUSINESS,
        "At most one review request per phone in this many days (0: no limit).",
        business_field="review_interval_days",
    ),
    Setting(
        "STATE_QUIET_HOURS",
        "true",
        BUSINESS,
        "Also keep the calling hours of the customer's state (docs/compliance.md); the stricter wins.",
        business_field="state_quiet_hours",
    ),
    Setting(
        "DELETE_TWILIO_MEDIA", "true", DEPLOYMENT, "Delete Twilio's copy of a picture texted in once ours is kept."
    ),
    # Dashboards.
    Setting(
        "EVENTS_URL",
        None,
        BUSINESS,
        "Where dashboard events are POSTed (`http(s)://`); both or neither with `EVENTS_SECRET`.",
        business_field="events_url",
    ),
    Setting(
        "EVENTS_SECRET",
        None,
        BUSINESS,
        "The Standard Webhooks secret (`whsec_…`) signing the events.",
        business_field="events_secret",
    ),
    # The qdn command's own.
    Setting(
        "QDN_API_TOKEN",
        None,
        QDN_COMMAND,
        "A business's dashboard token: the `qdn` client commands then act for that business.",
        shown_default="`API_TOKEN`",
    ),
    Setting(
        "QDN_TWILIO_AUTH_TOKEN",
        None,
        QDN_COMMAND,
        "`qdn business add|update --auth-token` reads the secret from here (else asks for it).",
    ),
    Setting(
        "QDN_TWILIO_API_SECRET",
        None,
        QDN_COMMAND,
        "`qdn business add|update --api-secret` reads the secret from here (else asks for it).",
    ),
    Setting(
        "QDN_EVENTS_SECRET",
        None,
        QDN_COMMAND,
        "`qdn business add|update --events-secret` reads the secret from here (else asks for it).",
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def declared(name: str) -> Setting:
    """The declaration of setting `name`; LookupError for a name this table does not declare."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise LookupError(f"setting {name} is read but not declared in config/declarations.py") from None


def environment(name: str) -> str | None:
    """The environment variable `name` (a declared setting; the qdn command's own are read so), or None."""
    declared(name)
    return os.environ.get(name)


_SCOPES = (
    (DEPLOYMENT, "For the whole deployment", "One value for every business the deployment carries."),
    (
        BUSINESS,
        "Per business",
        "The settings' value is the default business's (the one a single-business install has). A business "
        "added with `qdn business add` or the admin API sets its own in the field named, and takes the "
        "settings' value for a field it leaves unset (its Twilio account included), but for its name, phone, "
        "sending number or Messaging Service, dispatchers and wording (the built-in one unless it has its own "
        "`templates`), which are always its own.",
    ),
    (QDN_COMMAND, "For the qdn command", "Read by the `qdn` client commands only, never by the service."),
)


def _default(setting: Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    return f"`{setting.default}`" if setting.default else "—"


def settings_page() -> str:
    """docs/settings.md: every declared setting, by scope, in the order declared."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated from config/declarations.py by `make docs`: edit the declarations, not this page. -->",
        "",
        "Settings are read once at start-up from the environment, then from `.env` in the folder the",
        "service runs in (the environment wins). A setting that is wrong stops start-up with one line",
        "naming it. The Twilio settings are all there or none: with none the service runs in local use,",
        "printing the texts it would send. What start-up checks: [Start-up checks](production.md#start-up-checks).",
    ]
    for scope, title, about in _SCOPES:
        lines += ["", f"## {title}", "", about, ""]
        extra = " | business field" if scope == BUSINESS else ""
        lines += [f"| name | default | meaning{extra} |", "|---|---|---|" + ("---|" if extra else "")]
        for setting in SETTINGS:
            if setting.scope == scope:
                row = f"| `{setting.name}` | {_default(setting)} | {setting.meaning}"
                if extra:
                    row += f" | `{setting.business_field}`"
                lines.append(row + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Print (or --write) the settings page of the documentation.")
    parser.add_argument("--write", type=Path, help="write the page to this file instead of printing it")
    args = parser.parse_args()
    if args.write:
        args.write.write_text(settings_page(), encoding="utf-8")
    else:
        print(settings_page(), end="")


if __name__ == "__main__":
    main()
