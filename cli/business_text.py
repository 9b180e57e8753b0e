"""Human-readable text for `qdn business`: a table of businesses, one business's details, a new token.

A business's null fields take the deployment's setting, and say so; secrets
show only the last four characters the API gives.
"""

from __future__ import annotations

from typing import Any

Business = dict[str, Any]
NO_VALUE = "-"
SETTINGS = "settings"  # `managed_by` of the default business


def _or(value: Any, fallback: str = NO_VALUE) -> str:
    return fallback if value is None or value == [] else str(value)


def _on_off(value: bool | None, fallback: str) -> str:
    """STATE_QUIET_HOURS of a business: "on", "off", or the deployment's."""
    return fallback if value is None else ("on" if value else "off")


def _listed(values: list[str] | None) -> str:
    return ", ".join(values) if values else NO_VALUE


def texts_on(business: Business) -> str:
    """What routes texts to it: its numbers, and its Messaging Service."""
    routes = [*(business.get("numbers") or []), *filter(None, [business.get("messaging_service_sid")])]
    return _listed(routes)


def _webhook(business: Business) -> str:
    """Where Twilio must post its texts (the API's `webhook_url`), said as the thing to do with it."""
    url = business.get("webhook_url")
    return f"{url} (set it as the numbers' incoming-message webhook in Twilio)" if url else NO_VALUE


def _twilio(business: Business) -> str:
    twilio = business.get("twilio")
    if business.get("managed_by") == SETTINGS:
        return "the deployment's (TWILIO_* settings)"
    if not twilio:
        return "the deployment's"
    shown = f"own account {twilio['account_sid']}, auth token {_last4(twilio.get('auth_token_last4'))}"
    if twilio.get("api_key"):
        shown += f", API key {twilio['api_key']} (secret {_last4(twilio.get('api_secret_last4'))})"
    return shown


def _last4(last4: str | None) -> str:
    return f"…{last4}" if last4 else "(set)"


def _templates(business: Business) -> str:
    if path := business.get("templates_file"):  # the default business's TEMPLATES_PATH, when set
        return f"TEMPLATES_PATH {path}, over the built-in wording"
    return "its own, over the built-in wording" if business.get("templates") else "the built-in wording"


def _unit(value: float | None, unit: str, inherit: str, per: str = "") -> str:
    """ "1 text a second", "2.5 texts a second", "3 hours"; the setting's name when unset."""
    if value is None:
        return inherit
    return f"{value:g} {unit}{'' if value == 1 else 's'}{per}"


def table(businesses: list[Business]) -> str:
    """One business a line: slug, name, where it is texted, dispatchers, tokens, who manages it."""
    header = ("SLUG", "NAME", "TEXTS ON", "DISPATCHERS", "TOKENS", "MANAGED BY")
    rows = [
        (
            b["slug"],
            b["name"],
            texts_on(b),
            str(len(b.get("dispatchers") or [])),
            "API_TOKEN" if b.get("managed_by") == SETTINGS else str(len(b.get("tokens") or [])),
            "the settings" if b.get("managed_by") == SETTINGS else "qdn business",
        )
        for b in businesses
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def _reviews(business: Business, inherit: str) -> str:
    """ "https://g.page/r/x/review at 10:00, once per phone in 90 days"; each unset part: the setting."""
    url = business.get("review_url")
    if url == "":
        return "off"
    hour, days = business.get("review_hour"), business.get("review_interval_days")
    return (
        f"{_or(url, inherit)} at {inherit if hour is None else f'{hour}:00'}, "
        f"once per phone in {inherit if days is None else f'{days} days'}"
    )


def details(business: Business) -> str:
    """Every field of one business, one a line (secrets: their last four characters)."""
    inherit = "the deployment's setting"
    events = business.get("events_url")
    if events:
        events += f" (secret {_last4(business.get('events_secret_last4'))})"
    tokens = [f"{token['id']} (made {token['created_at']})" for token in business.get("tokens") or []]
    reminder = business.get("reminder_hour")
    facts = [
        ("Business", f"{business['slug']}: {business['name']}"),
        ("Phone", _or(business.get("phone"))),
        ("Time zone", _or(business.get("timezone"), inherit)),
        ("Texts on", texts_on(business)),
        ("Webhook", _webhook(business)),
        ("Dispatchers", _listed(business.get("dispatchers"))),
        ("Twilio", _twilio(business)),
        ("Templates", _templates(business)),
        ("Accent colour", _or(business.get("accent_color"))),
        ("Send rate", _unit(business.get("send_rate_per_second"), "text", inherit, " a second")),
        ("Ack interval", _unit(business.get("ack_interval_hours"), "hour", inherit)),
        ("Quiet hours", "none" if business.get("quiet_hours") == "" else _or(business.get("quiet_hours"), inherit)),
        ("Reminders", "off" if reminder == "" else (inherit if reminder is None else f"at {reminder}:00")),
        ("Reviews", _reviews(business, inherit)),
        ("State hours", _on_off(business.get("state_quiet_hours"), inherit)),
        ("Events", _or(events)),
        ("Tokens", "API_TOKEN" if business.get("managed_by") == SETTINGS else _listed(tokens)),
    ]
    if business.get("managed_by") == SETTINGS:
        facts.append(("Managed by", "the settings (environment): change BUSINESS_NAME, TWILIO_* ... there"))
    else:
        facts += [("Created", _or(business.get("created_at"))), ("Updated", _or(business.get("updated_at")))]
    return "\n".join(f"{name + ':':<15}{value}" for name, value in facts)


def added(business: Business) -> str:
    return f"Business {business['slug']} ({business['name']}) added; texts on {texts_on(business)}."


def new_token(slug: str, token: dict[str, Any]) -> str:
    return (
        f"Dashboard token {token['id']} for {slug}: {token['token']}\n"
        "It is shown this once (only its hash is kept): give it to the dashboard now as its bearer token. "
        f"Revoke it with `qdn business token {slug} --revoke {token['id']}`."
    )
