"""Tracking tokens: unguessable, easy to read aloud and to type on a phone.

A token is 20 symbols from an alphabet without look-alikes (no 0/O, 1/I/L),
drawn with `secrets`: 20 * log2(31) ~ 99 bits, well above the 80 the SPEC
asks for. It is shown as five groups of four (``K7M2-9XPQ-2HTR-4VWA-C3DF``)
and accepted in any case, with or without hyphens and spaces.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 20
GROUP = 4

_SEPARATORS = re.compile(r"[\s\-_.]+")
_SYMBOLS = frozenset(ALPHABET)


def new_token() -> str:
    """A fresh token in canonical form."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return format_token(raw)


def format_token(raw: str) -> str:
    """Canonical display form of a normalized token: groups of four joined by hyphens."""
    return "-".join([raw[i : i + GROUP] for i in range(0, len(raw), GROUP)])  # a list: join needs one anyway


def normalize_token(text: str) -> str | None:
    """The canonical form of `text` if it is shaped like a token, else None.

    Shape only: whether a job has this token is the store's question.
    """
    raw = _SEPARATORS.sub("", text).upper()
    if len(raw) != LENGTH or not _SYMBOLS.issuperset(raw):  # one C call, not a generator over 20 symbols
        return None
    return format_token(raw)
