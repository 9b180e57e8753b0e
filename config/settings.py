"""Every setting, read once through starlette.config (environment, then .env).

Here: `Settings`, `load_settings` and the parsing of each setting (reminders and quiet
hours, dashboard events, phones, the data folder). The Twilio and PUBLIC_BASE_URL checks
and `ConfigError` live in config/checks.py; DATABASE_URL's scheme and folder in
config/database_url.py; the secrets the service generates in its data folder in
config/generated_secrets.py. Every name read is declared, with its default, in
config/declarations.py (`_DeclaredConfig` reads nothing else). Callers import `ConfigError`
and `read_generated_secret` from this module.

Settings are values: what is built from them (the notifier, picture links, picture origins)
is built where it is used (handlers/services.py, sender/business_loops.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.config import Config
from starlette.datastructures import CommaSeparatedStrings, Secret

from bot import reviews
from bot.errors import ValidationError
from bot.events_config import check_events
from bot.phones import normalize_phone
from bot.redaction import redact
from bot.reminders import QuietHours, ReminderPolicy, parse_hour
from bot.reviews import ReviewPolicy
from config.checks import (
    ConfigError,
    check_account_sid,
    check_twilio_complete,
    twilio_public_origin,
)
from config.database_url import data_folder, url_scheme
from config.declarations import declared
from config.dispatchers import parse_dispatchers
from config.generated_secrets import generated_secret
from config.generated_secrets import read_generated_secret as read_generated_secret
from config.secret_box import SecretBox

T = TypeVar("T")

API_TOKEN_FILE = "api_token"  # noqa: S105 -- a file name, not a secret
ADMIN_TOKEN_FILE = "admin_token"  # noqa: S105 -- a file name
SECRET_KEY_FILE = "secret_key"  # noqa: S105 -- a file name
DEV_WEBHOOK_SECRET_FILE = "dev_webhook_secret"  # noqa: S105 -- a file name

NO_SECRET = Secret("")  # a secret not made yet (a read-only client of the service)
DEFAULT_QUIET_HOURS = QuietHours(21, 8)  # QUIET_HOURS unset: 9 PM to 8 AM


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_folder: Path  # DATA_DIR: generated secrets (API token, development webhook secret)
    public_base_url: str
    host: str
    port: int
    api_token: Secret
    webhook_secret: Secret  # the Twilio auth token, or the local development secret
    twilio_live: bool
    twilio_account_sid: str | None
    twilio_auth_token: Secret | None
    twilio_api_key: str | None
    twilio_api_secret: Secret | None
    twilio_messaging_service_sid: str | None
    twilio_from_number: str | None
    twilio_api_base_url: str | None
    dispatcher_numbers: tuple[str, ...]
    cors_origins: tuple[str, ...]
    forwarded_allow_ips: str
    business_name: str
    business_phone: str | None
    timezone: ZoneInfo
    templates_path: Path | None
    ack_interval_hours: float
    send_rate_per_second: float
    send_give_up_hours: float
    run_sender: bool = True  # RUN_SENDER: whether `qdn serve` also sends (`qdn send` sends alone)
    # Optional: the secret of a Twilio webhook SharedKey, for requests that announce
    # X-Twilio-Webhooks-Signature-Settings (HMAC-SHA256); others use webhook_secret.
    twilio_webhook_shared_key: Secret | None = None
    # Day-before reminders: REMINDER_HOUR (local; None: off) and QUIET_HOURS (None: none).
    reminder_hour: int | None = 17
    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    # Review requests (bot/reviews.py): REVIEW_URL (None: off), REVIEW_HOUR (local), REVIEW_INTERVAL_DAYS.
    review_url: str | None = None
    review_hour: int = 10
    review_interval_days: int = 90
    state_quiet_hours: bool = True  # STATE_QUIET_HOURS: the customer's state's calling hours apply too
    # Dashboard events (sender/events.py): where they are POSTed and the Standard Webhooks secret signing them.
    events_url: str | None = None
    events_secret: Secret | None = None
    # Businesses (SPEC "Businesses"): the deployment's admin token and the key sealing stored Twilio
    # secrets; these settings describe the business `business_slug` (config/business_settings.py makes
    # the others' from their records).
    admin_token: Secret = NO_SECRET
    secret_key: Secret = NO_SECRET
    business_slug: str = "default"
    accent_color: str | None = None
    # Pictures (SPEC "Pictures (MMS)"): whether Twilio's copy of a picture is deleted once ours is kept.
    delete_twilio_media: bool = True
    # The office inbox (handlers/inbox/): how long a login lasts.
    inbox_session_hours: float = 12.0
    # DISPATCHER_NUMBERS' names, phone -> name (config/dispatchers.py), for what people read.
    dispatcher_names: Mapping[str, str] = field(default_factory=dict, hash=False)

    def tracking_url(self, token: str) -> str:
        return f"{self.public_base_url}/track?token={token}"

    def dashboard_media_url(self, media_id: str) -> str:
        """Where a dashboard opens a picture: GET /media/{id}, with its bearer token (SPEC "Pictures (MMS)")."""
        return f"{self.public_base_url}/media/{quote(media_id, safe='')}"

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(self.reminder_hour, self.quiet_hours, self.timezone, self.state_quiet_hours)

    @property
    def review_policy(self) -> ReviewPolicy:
        return ReviewPolicy(self.review_url, self.review_hour, self.review_interval_days, self.reminder_policy)

    @property
    def sender_address(self) -> str:
        """What outbound rows record as `from` (a number, a Messaging Service SID, or "console")."""
        return self.twilio_from_number or self.twilio_messaging_service_sid or self.business_phone or "console"

    def describe(self, store: str) -> str:
        """What start-up loaded, in one line for the log: never a secret, never a whole phone number."""
        templates = str(self.templates_path) if self.templates_path else "built-in"
        if not self.twilio_live:
            sender = "the console (no Twilio settings)"
        elif self.twilio_messaging_service_sid:
            sid = self.twilio_messaging_service_sid
            sender = f"Twilio via messaging service {sid[:2]}…{sid[-4:]}"
        else:
            sender = f"Twilio from {redact(self.twilio_from_number or '')}"
        if self.twilio_live and self.twilio_api_base_url:
            api = urlsplit(self.twilio_api_base_url)
            sender += f" (API at {api.scheme}://{api.netloc.rpartition('@')[2]})"
        reminders = "off (REMINDER_HOUR empty)"
        if self.reminder_hour is not None:
            quiet = f"{self.quiet_hours.start}-{self.quiet_hours.end}" if self.quiet_hours else "none"
            reminders = f"the day before at {self.reminder_hour}:00 (quiet hours {quiet})"
        return (
            f"business {self.business_name!r}; templates {templates}; store {store} (data folder "
            f"{self.data_folder}); texts go to {sender}; reminders {reminders}; PUBLIC_BASE_URL {self.public_base_url}"
        )


class _DeclaredConfig:
    """starlette's Config, reading declared settings only, each unset one as its declared default."""

    def __init__(self, config: Config) -> None:
        self._config = config

    def __call__(self, name: str, cast: Callable[[Any], Any] | None = None) -> Any:
        default = declared(name).default
        if cast is None:
            return self._config(name, default=default)
        return self._config(name, cast=cast, default=default)


def _positive(config: _DeclaredConfig, name: str) -> float:
    value = config(name, cast=float)
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, not {value}")
    return value


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = ".env",
    *,
    read_only: bool = False,
    check_database_url: Callable[[str], object] | None = None,
) -> Settings:
    """Settings from `environ` (default os.environ) over `env_file`, validated.

    `read_only` is for clients of a running service (the qdn command): secrets
    the service generates are read from the data folder but never made there;
    one not made yet is an empty Secret. Raises ConfigError naming the
    setting when something is wrong.

    Settings check DATABASE_URL's scheme only (config/database_url.py); a process that opens
    the store passes the store's full check (`store.backend_for`) as `check_database_url`, so
    a malformed server URL stops it before any secret is made.
    """
    env_path = env_file if env_file is not None and Path(env_file).is_file() else None
    config = Config(env_path, environ=os.environ if environ is None else environ)
    try:
        return _load(_DeclaredConfig(config), make_secrets=not read_only, check_database_url=check_database_url)
    except ValueError as error:  # starlette's cast errors and URL errors name the setting
        raise ConfigError(str(error)) from None


def _yes_no(config: _DeclaredConfig, name: str) -> bool:
    """true/false/1/0 (any case); empty, like unset, means the declared default."""
    if not config(name).strip():
        return declared(name).default == "true"
    return bool(config(name, cast=bool))


def _optional(config: _DeclaredConfig, name: str) -> str | None:
    return config(name) or None


def _load(config: _DeclaredConfig, make_secrets: bool, check_database_url: Callable[[str], object] | None) -> Settings:
    """Every setting, in the order its checks run: the first wrong one is the one start-up names."""
    host = config("HOST") or str(declared("HOST").default)  # set but empty: the default too
    port = config("PORT", cast=int)
    database_url = config("DATABASE_URL")
    folder = _data_dir(config, database_url)
    if check_database_url is not None:
        check_database_url(database_url)
    twilio = _twilio_settings(config, host, port)

    zone_name = config("TIMEZONE")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE {zone_name!r} is not a known time zone (e.g. America/Chicago)") from None

    dispatchers, dispatcher_names = parse_dispatchers(config("DISPATCHER_NUMBERS"))
    origins = tuple(config("CORS_ORIGINS", cast=CommaSeparatedStrings))
    if "*" in origins:
        raise ConfigError("CORS_ORIGINS must list origins; '*' is not allowed")
    business_phone = _optional(config, "BUSINESS_PHONE")
    templates = _optional(config, "TEMPLATES_PATH")
    return Settings(
        database_url=database_url,
        data_folder=folder,
        host=host,
        port=port,
        **twilio,
        **_secrets(config, folder, twilio["twilio_auth_token"], make_secrets),
        dispatcher_numbers=dispatchers,
        dispatcher_names=dispatcher_names,
        cors_origins=origins,
        forwarded_allow_ips=config("FORWARDED_ALLOW_IPS"),
        business_name=config("BUSINESS_NAME"),
        business_phone=_phone_setting("BUSINESS_PHONE", business_phone) if business_phone else None,
        timezone=zone,
        templates_path=Path(templates) if templates else None,
        ack_interval_hours=_positive(config, "ACK_INTERVAL_HOURS"),
        send_rate_per_second=_positive(config, "SEND_RATE_PER_SECOND"),
        send_give_up_hours=_positive(config, "SEND_GIVE_UP_HOURS"),
        inbox_session_hours=_positive(config, "INBOX_SESSION_HOURS"),
        run_sender=_yes_no(config, "RUN_SENDER"),
        delete_twilio_media=_yes_no(config, "DELETE_TWILIO_MEDIA"),
        twilio_webhook_shared_key=config("TWILIO_WEBHOOK_SHARED_KEY", cast=Secret) or None,
        reminder_hour=_reminder_setting(config, "REMINDER_HOUR", parse_hour),
        quiet_hours=_reminder_setting(config, "QUIET_HOURS", QuietHours.parse),
        review_url=_reminder_setting(config, "REVIEW_URL", reviews.parse_url),
        review_hour=_reminder_setting(config, "REVIEW_HOUR", reviews.parse_hour),
        review_interval_days=_reminder_setting(config, "REVIEW_INTERVAL_DAYS", reviews.parse_interval),
        state_quiet_hours=_yes_no(config, "STATE_QUIET_HOURS"),
        **_events_settings(config),
    )


_TWILIO_NAMES = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_FROM_NUMBER",
)


def _twilio_settings(config: _DeclaredConfig, host: str, port: int) -> dict[str, Any]:
    """The TWILIO_* settings (all or none: config/checks.py) and PUBLIC_BASE_URL, which they make strict."""
    twilio = {name: _optional(config, name) for name in _TWILIO_NAMES}
    configured_base_url = _optional(config, "PUBLIC_BASE_URL")
    twilio_live = check_twilio_complete(twilio)
    if twilio_live:
        check_account_sid(twilio["TWILIO_ACCOUNT_SID"] or "")
        public_base_url = twilio_public_origin(configured_base_url)
    else:
        public_base_url = (configured_base_url or f"http://{host}:{port}").rstrip("/")
    from_number = twilio["TWILIO_FROM_NUMBER"]
    auth_token = twilio["TWILIO_AUTH_TOKEN"]
    api_secret = twilio["TWILIO_API_SECRET"]
    return {
        "public_base_url": public_base_url,
        "twilio_live": twilio_live,
        "twilio_account_sid": twilio["TWILIO_ACCOUNT_SID"],
        "twilio_auth_token": Secret(auth_token) if auth_token else None,
        "twilio_api_key": twilio["TWILIO_API_KEY"],
        "twilio_api_secret": Secret(api_secret) if api_secret else None,
        "twilio_messaging_service_sid": twilio["TWILIO_MESSAGING_SERVICE_SID"],
        "twilio_from_number": _phone_setting("TWILIO_FROM_NUMBER", from_number) if from_number else None,
        "twilio_api_base_url": (_optional(config, "TWILIO_API_BASE_URL") or "").rstrip("/") or None,
    }


def _secrets(config: _DeclaredConfig, folder: Path, auth_token: Secret | None, make: bool) -> dict[str, Any]:
    """API_TOKEN, ADMIN_TOKEN, SECRET_KEY and the webhook secret: each set, else made (or, not `make`,
    read) in the data folder (config/generated_secrets.py). The webhook secret is the Twilio auth token
    when there is one."""
    api_token = config("API_TOKEN", cast=Secret) or generated_secret(
        folder, API_TOKEN_FILE, "API token (API_TOKEN)", make
    )
    admin_token = config("ADMIN_TOKEN", cast=Secret) or generated_secret(
        folder, ADMIN_TOKEN_FILE, "admin token for the businesses API (ADMIN_TOKEN)", make
    )
    secret_key = config("SECRET_KEY", cast=Secret) or generated_secret(
        folder, SECRET_KEY_FILE, "key for stored Twilio secrets (SECRET_KEY)", make
    )
    if str(secret_key):
        try:
            SecretBox(secret_key)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    webhook_secret = auth_token or generated_secret(
        folder, DEV_WEBHOOK_SECRET_FILE, "local webhook signing secret", make
    )
    return {
        "api_token": api_token,
        "admin_token": admin_token,
        "secret_key": secret_key,
        "webhook_secret": webhook_secret,
    }


def _events_settings(config: _DeclaredConfig) -> dict[str, Any]:
    """EVENTS_URL and EVENTS_SECRET: both or neither; an http(s) URL and a Standard Webhooks secret.

    The rule is bot.events_config's, which a business's own pair follows too.
    """
    try:
        checked = check_events(
            _optional(config, "EVENTS_URL"),
            _optional(config, "EVENTS_SECRET"),
            url_field="EVENTS_URL",
            secret_field="EVENTS_SECRET",  # noqa: S106 -- a setting's name, not a secret
        )
    except ValidationError as error:
        raise ConfigError(f"{error.field} {error.message.removeprefix(f'{error.field}: ')}") from None
    if checked is None:
        return {}
    url, secret = checked
    return {"events_url": url, "events_secret": Secret(secret)}


def _reminder_setting(config: _DeclaredConfig, name: str, parse: Callable[[str], T]) -> T:
    """REMINDER_HOUR, QUIET_HOURS or a REVIEW_* setting, parsed by `parse` (a ValueError names the setting);
    unset is the declared default."""
    try:
        return parse(config(name))
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def _data_dir(config: _DeclaredConfig, database_url: str) -> Path:
    """DATA_DIR, else the folder the store keeps on this machine (TinyDB's), else ./data.

    Only the URL's scheme is asked (config/database_url.py), and only for that default;
    one that keeps no folder here (a database server) gets ./data. A scheme
    the service does not know is a ValueError naming DATABASE_URL either way.
    """
    configured = _optional(config, "DATA_DIR")
    if configured is None:
        return data_folder(database_url)
    url_scheme(database_url)
    return Path(configured)


def _phone_setting(name: str, raw: str) -> str:
    try:
        return normalize_phone(raw, name)
    except ValidationError as error:
        raise ConfigError(f"{name}: {error.message.split(': ', 1)[-1]}") from None
