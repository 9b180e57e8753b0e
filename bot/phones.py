"""Phone numbers: E.164 storage and privacy-preserving display."""

from __future__ import annotations

import re

import phonenumbers

from bot.errors import ValidationError

DEFAULT_REGION = "US"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


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
