"""Reading the numbers in Twilio's webhook forms (NumMedia, ErrorCode).

Twilio sends them as plain ASCII digits, but anyone can post a form: a field
must never turn a webhook into a 500. `str.isdigit()` accepts "²", which
`int()` refuses; `int()` accepts "٣" and "１", which no Twilio request
carries; and `int()` of more than 4,300 digits raises ValueError
(https://docs.python.org/3/library/stdtypes.html#int-max-str-digits).
"""

from __future__ import annotations

import re

# Twilio's numbers are short (NumMedia <= 10, error codes 5 digits); 9 digits leaves room and fits 32 bits.
_PLAIN_NUMBER = re.compile(r"[0-9]{1,9}")  # [0-9], not \d: \d matches every script's digits


def plain_number(raw: str | None) -> int | None:
    """The number in `raw` (surrounding spaces allowed), or None unless it is 1-9 ASCII digits."""
    text = (raw or "").strip()
    return int(text) if _PLAIN_NUMBER.fullmatch(text) else None
