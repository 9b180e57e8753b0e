"""Phone numbers: E.164 storage and privacy-preserving display."""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, region_code_for_country_code

from bot.errors import ValidationError

DEFAULT_REGION = "US"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# E.164: a plus, then at most 15 ASCII digits, the first not 0 ([0-9], not \d: \d matches every script's digits).
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{1,14}")


def normalize_e164(text: str, field: str = "phone") -> str:
    """normalize_phone for a number a machine wrote in E.164 (Twilio's `From` and `To`), faster.

    Twilio always sends E.164. A number of that exact shape whose country code
    phonenumbers knows, which no national prefix could be stripped from, and whose
    national part has a length the country's metadata calls possible (not
    local-only), is what the full parse would return unchanged: it is returned
    as it is, without the parse (~50-90 us a new sender). Anything else --
    spaces, a trunk prefix after the country code, an odd length -- goes through
    normalize_phone, so the answer (or the ValidationError) is always the full
    parse's. Numbers a person typed go straight to normalize_phone.
    """
    if isinstance(text, str) and _E164_SHAPE.fullmatch(text) and _possible_e164(text):
        return text
    return normalize_phone(text, field)


def _possible_e164(text: str) -> bool:
    digits = text[1:]
    for size in (1, 2, 3):  # country codes are prefix-free: at most one of these is one
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    lengths = _country(code)
    if lengths is None:
        return False
    prefix, possible = lengths
    national = digits[size:]
    if prefix is not None and prefix.match(national):
        return False  # phonenumbers.parse might strip it as a trunk prefix ("+44 0 20..."): its call
    return len(national) in possible


@cache  # one entry per country code seen; a few hundred at most
def _country(code: int) -> tuple[re.Pattern[str] | None, frozenset[int]] | None:
    """The country's national-prefix pattern (as phonenumbers.parse applies it) and possible national lengths."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region_code_for_country_code(code))
    general = None if metadata is None else metadata.general_desc
    if metadata is None or general is None:
        return None
    possible = frozenset(general.possible_length) - frozenset(general.possible_length_local_only or ())
    prefix = metadata.national_prefix_for_parsing
    return (re.compile(prefix) if prefix else None), possible


def normalize_phone(text: str, field: str = "phone") -> str:
    """E.164 form of `text` ("(512) 555-0199" -> "+15125550199").

    Raises ValidationError naming `field` unless phonenumbers finds it possible
    and dialable from anywhere: "555-1234" is possible only as a local call (no
    area code), which no one can text.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, "a phone number is required")
    # phonenumbers skips junk around the digits; a control character means the text is not a phone number.
    if _CONTROL.search(text.strip()):
        raise ValidationError(field, f"{text!r} is not a phone number")
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(field, f"{text!r} is not a phone number") from None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise ValidationError(field, f"{text!r} has no area code; give the whole number, e.g. 512-555-0199")
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValidationError(field, f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Only the last four digits, e.g. "(•••) •••-0199"."""
    return f"(•••) •••-{e164[-4:]}"


def redact_phone(e164: str) -> str:
    """For operational logs: never a full number ("+1•••••••0199")."""
    return f"{e164[:2]}•••••••{e164[-4:]}"
