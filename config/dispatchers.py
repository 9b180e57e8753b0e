"""DISPATCHER_NUMBERS entries, each a phone or a named phone (`Maria:+15125550100`).

The name is only what people see for that phone (the inbox, `qdn log`); everything that matches a
dispatcher still matches the E.164 phone. A bad name or phone stops start-up, naming the entry.
The rules for one entry are bot/dispatcher_entries.py's, which the admin API's `dispatchers` share.
"""

from __future__ import annotations

from bot.dispatcher_entries import parse_entry
from bot.errors import ValidationError
from config.checks import ConfigError

SETTING = "DISPATCHER_NUMBERS"


def entries_of(value: str) -> list[str]:
    """The comma-separated entries, split on commas alone (not as shell words: "O'Neil" is a name),
    each without spaces or double quotes around it."""
    return [entry for part in value.split(",") if (entry := part.strip().strip('"').strip())]


def parse_dispatchers(value: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The E.164 phones in order, and the names of those named (phone -> name)."""
    phones, names = [], {}
    for entry in entries_of(value):
        try:
            phone, name = parse_entry(entry, SETTING)
        except ValidationError as error:
            raise ConfigError(error.message) from None
        phones.append(phone)
        if name:
            names[phone] = name
    return tuple(phones), names
