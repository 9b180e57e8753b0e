"""A registered business's settings: its record over the deployment's settings.

The `default` business is the deployment's settings themselves. Any other gets
a copy of them with its own identity (slug, name, phone, numbers, dispatchers,
wording), its own Twilio account when it has one (else the deployment's), and
the deployment's values for whatever it leaves unset (time zone, loop guard,
send rate, quiet hours, reminder hour, dashboard events). What is the
deployment's alone -- DATABASE_URL, PUBLIC_BASE_URL, API_TOKEN, ADMIN_TOKEN,
the webhook SharedKey -- is never a business's: a business's dashboards use
their own tokens (hashes in the record), checked by handlers/tenancy.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import Secret

from bot.businesses import BusinessRecord
from bot.reminders import QuietHours
from bot.templates import Templates, builtin_templates, templates_from_text
from config.secret_box import SecretBox
from config.settings import Settings

REMINDERS_OFF = ""  # bot/businesses.py: a business's reminder_hour that turns reminders off


def _inherit(record: BusinessRecord, field: str, default: Any) -> Any:
    value = record.get(field)
    return default if value is None else value


def business_settings(base: Settings, record: BusinessRecord, box: SecretBox) -> Settings:
    """The Settings a registered business runs with (its sends, replies, wording and events)."""
    numbers = tuple(record.get("numbers") or ())
    dispatchers = tuple(record.get("dispatchers") or ())
    twilio = record.get("twilio") or None
    reminder_hour = _inherit(record, "reminder_hour", base.reminder_hour)
    quiet = record.get("quiet_hours")
    own: dict[str, Any] = {
        "business_slug": record["slug"],
        "business_name": record["name"],
        "business_phone": record.get("phone"),
        "timezone": ZoneInfo(record["timezone"]) if record.get("timezone") else base.timezone,
        "dispatcher_numbers": dispatchers,
        # Its own names (the admin API's "Maria:+1..."); a phone it leaves unnamed keeps DISPATCHER_NUMBERS' name.
        "dispatcher_names": {
            phone: name
            for phone in dispatchers
            if (name := (record.get("dispatcher_names") or {}).get(phone) or base.dispatcher_names.get(phone))
        },
        "twilio_from_number": numbers[0] if numbers else None,
        "twilio_messaging_service_sid": record.get("messaging_service_sid"),
        "templates_path": None,  # its wording is its record's `templates` (business_templates)
        "accent_color": record.get("accent_color"),
        "ack_interval_hours": _inherit(record, "ack_interval_hours", base.ack_interval_hours),
        "send_rate_per_second": _inherit(record, "send_rate_per_second", base.send_rate_per_second),
        "quiet_hours": base.quiet_hours if quiet is None else (QuietHours.parse(quiet) if quiet else None),
        "reminder_hour": None if reminder_hour == REMINDERS_OFF else reminder_hour,
        # review_url "" turns requests off for the business even when REVIEW_URL is set.
        "review_url": _inherit(record, "review_url", base.review_url) or None,
        "review_hour": _inherit(record, "review_hour", base.review_hour),
        "review_interval_days": _inherit(record, "review_interval_days", base.review_interval_days),
        "state_quiet_hours": _inherit(record, "state_quiet_hours", base.state_quiet_hours),
        "twilio_webhook_shared_key": None,
    }
    if twilio:  # its own Twilio account: its key checks its webhooks, its credentials send its texts
        api_secret = twilio.get("api_secret")
        own |= {
            "twilio_live": True,
            "twilio_account_sid": twilio["account_sid"],
            "twilio_auth_token": Secret(box.open(twilio["auth_token"]["sealed"])),
            "twilio_api_key": twilio.get("api_key"),
            "twilio_api_secret": Secret(box.open(api_secret["sealed"])) if api_secret else None,
        }
        own["webhook_secret"] = own["twilio_auth_token"]
    if record.get("events_url"):
        own |= {
            "events_url": record["events_url"],
            "events_secret": Secret(box.open(record["events_secret"]["sealed"])),
        }
    return replace(base, **own)


def business_templates(record: BusinessRecord) -> Templates:
    """The business's wording: the built-in templates under its own overrides, if any."""
    text = record.get("templates")
    return templates_from_text(text, f"business {record['slug']!r} templates") if text else builtin_templates()
