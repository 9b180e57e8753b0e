"""A dispatcher as people list one: a phone, or a named phone (`Maria:+15125550100`).

DISPATCHER_NUMBERS (config/dispatchers.py) and a business's `dispatchers` in the
admin API (bot/business_fields.py) take the same entries, checked by the same
rules here. The name is only what people read (the inbox, `qdn log`); what
matches a dispatcher is always the E.164 phone.

    parse_entry("Maria:512-555-0100", "dispatchers[0]")  # ("+15125550100", "Maria")
    entry_of("+15125550100", "Maria")                      # "Maria:+15125550100"
"""

from __future__ import annotations

from bot.errors import ValidationError
from bot.phones import normalize_phone

MAX_NAME = 40
NAME_MARKS = frozenset(" .'-")  # besides letters: "Mary-Jo", "J. O'Neil"
# The longest entry read at all: a name with room for spaces around it, ":" and a phone as typed.
MAX_ENTRY = 300


def dispatcher_name(raw: str, field: str) -> str:
    """The name with its spaces tidied; ValidationError naming `field` unless it is 1-40 letters, spaces and .'-"""
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not any(ch.isalpha() for ch in name):
        raise ValidationError(field, f"the name {raw.strip()[:50]!r} must be 1 to {MAX_NAME} characters with a letter")
    if not all(ch.isalpha() or ch in NAME_MARKS for ch in name):
        raise ValidationError(field, f"the name {name!r} may hold only letters, spaces and . ' -")
    return name


def parse_entry(entry: str, field: str) -> tuple[str, str | None]:
    """(E.164 phone, name or None) of one entry; ValidationError naming `field` for a bad name or phone.

    Split at the last ':' (a name holds none; a phone as people type it neither)."""
    if len(entry) > MAX_ENTRY:
        raise ValidationError(field, f"must be at most {MAX_ENTRY} characters")
    name, named, raw = entry.rpartition(":")
    phone = normalize_phone(raw if named else entry, field)
    return phone, dispatcher_name(name, field) if named else None


def entry_of(phone: str, name: str | None) -> str:
    """The entry people read and write back: "Maria:+15125550100", or the bare phone when unnamed."""
    return f"{name}:{phone}" if name else phone
