"""Phone numbers: E.164 storage and privacy-preserving display."""

from __future__ import annotations

import phonenumbers

from bot.errors import ValidationError

DEFAULT_REGION = "US"


def normalize_phone(text: str, field: str = "phone") -> str:
    """E.164 form of `text` ("(512) 555-0199" -> "+15125550199").

    Raises ValidationError naming `field` unless phonenumbers finds it possible.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, "a phone number is required")
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(field, f"{text!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(field, f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Only the last four digits, e.g. "(•••) •••-0199"."""
    return f"(•••) •••-{e164[-4:]}"


def redact_phone(e164: str) -> str:
    """For operational logs: never a full number ("+1•••••••0199")."""
    return f"{e164[:2]}•••••••{e164[-4:]}"
