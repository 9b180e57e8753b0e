"""A business's review-request fields as the admin API takes them (bot.business_fields.CLEANERS).

The rules are REVIEW_URL's, REVIEW_HOUR's and REVIEW_INTERVAL_DAYS' own (bot/reviews.py); None
means the deployment's setting, and review_url "" turns requests off for the business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import reviews
from bot.errors import ValidationError


def clean_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("review_url", 'must be an http(s) link, "" for off, or null')
    try:
        return reviews.parse_url(value) or ""
    except ValueError as error:
        raise ValidationError("review_url", str(error)) from None


def _whole(field: str, parse: Callable[[str], int], what: str) -> Callable[[Any], int | None]:
    def clean(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and len(value) > 8):
            raise ValidationError(field, f"must be {what}, or null for the deployment's setting")
        try:
            return parse(str(value))
        except ValueError as error:
            raise ValidationError(field, str(error)) from None

    return clean


clean_hour = _whole("review_hour", reviews.parse_hour, "an hour from 0 to 23")
clean_interval = _whole("review_interval_days", reviews.parse_interval, "a whole number of days")
