"""DISPATCHER_NUMBERS entries, each a phone or a named phone (`Maria:+15125550100`).

The name is only what people see for that phone (the inbox, `qdn log`); everything that matches a
dispatcher still matches the E.164 phone. A bad name or phone stops start-up, naming the entry.
"""

from __future__ import annotations

from bot.errors import ValidationError
from bot.phones import normalize_phone
from config.checks import ConfigError

SETTING = "DISPATCHER_NUMBERS"
MAX_NAME = 40
NAME_MARKS = frozenset(" .'-")  # besides letters: "Mary-Jo", "J. O'Neil"


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not any(ch.isalpha() for ch in name):
        raise ConfigError(f"{SETTING}: the name {raw.strip()[:50]!r} must be 1 to {MAX_NAME} characters with a letter")
    if not all(ch.isalpha() or ch in NAME_MARKS for ch in name):
        raise ConfigError(f"{SETTING}: the name {name!r} may hold only letters, spaces and . ' -")
    return name


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw, SETTING)
    except ValidationError as error:
        raise ConfigError(f"{SETTING}: {error.message.split(': ', 1)[-1]}") from None


def entries_of(value: str) -> list[str]:
    """The comma-separated entries, split on commas alone (not as shell words: "O'Neil" is a name),
    each without spaces or double quotes around it."""
    return [entry for part in value.split(",") if (entry := part.strip().strip('"').strip())]


def parse_dispatchers(value: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The E.164 phones in order, and the names of those named (phone -> name)."""
    phones, names = [], {}
    for entry in entries_of(value):
        name, named, raw = entry.rpartition(":")
        phone = _phone(raw if named else entry)
        phones.append(phone)
        if named:
            names[phone] = _name(name)
    return tuple(phones), names
