"""How many SMS segments a text costs, counted the way Twilio counts them.

A text that uses only the GSM-7 alphabet (3GPP TS 23.038: the basic table
plus the extension table, whose characters cost two septets because each is
sent as ESC + character) fits 160 septets in one segment; longer texts are
split into segments of 153 septets (7 go to the concatenation header).
Anything outside GSM-7 sends the whole text as UCS-2: 70 UTF-16 code units
in one segment, 67 per segment when split.

Like carriers and Twilio, a character is never split across two segments: an
ESC + character pair or a surrogate pair (emoji) that would straddle a
boundary moves to the next segment.
https://www.twilio.com/docs/glossary/what-sms-character-limit
"""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 03.38 basic character set (the default alphabet), in table order.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as ESC + character (two septets).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    """The encoding a text needs and what it costs."""

    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def is_gsm7(text: str) -> bool:
    """Whether `text` can go out in the GSM-7 alphabet (no UCS-2 fallback)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The characters of `text` that force UCS-2, in order of first use."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch, None)
    return list(seen)


def _costs(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # astral characters are surrogate pairs


def count_segments(text: str) -> SegmentCount:
    """Encoding, segment count and length in units of `text` as Twilio would send it."""
    gsm = is_gsm7(text)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if gsm else (UCS2_SINGLE, UCS2_MULTI)
    costs = _costs(text, gsm)
    units = sum(costs)
    encoding = "GSM-7" if gsm else "UCS-2"
    if units <= single:
        return SegmentCount(encoding, 1 if text else 0, units)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:  # the character would straddle the boundary: it starts the next segment
            segments += 1
            used = 0
        used += cost
    return SegmentCount(encoding, segments, units)
