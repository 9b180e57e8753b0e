"""A business's review-request fields as the admin API takes them (bot.business_fields.CLEANERS).

The rules are REVIEW_URL's, REVIEW_HOUR's and REVIEW_INTERVAL_DAYS' own (bot/reviews.py); None
means the deployment's setting, and review_url "" turns requests off for the business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import reviews
from bot.errors import ValidationError
from bot.job_fields import check_characters


def clean_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2 * reviews.URL_LIMIT:
        raise ValidationError(
            "review_url", f'must be an http(s) link of at most {reviews.URL_LIMIT} characters, "" for off, or null'
        )
    try:
        return reviews.parse_url(check_characters("review_url", value, multiline=False)) or ""
    except ValueError as error:
        raise ValidationError("review_url", str(error)) from None


def _whole(field: str, highest: int, what: str) -> Callable[[Any], int | None]:
    """A whole number from 0 to `highest` (JSON numbers only: `qdn business` sends them so), or None."""

    def clean(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(field, f"must be {what}, or null for the deployment's setting")
        if not 0 <= value <= highest:
            raise ValidationError(field, f"must be {what}")
        return value

    return clean


clean_hour = _whole("review_hour", 23, "an hour from 0 to 23")
clean_interval = _whole(
    "review_interval_days", reviews.MAX_INTERVAL_DAYS, f"a whole number of days from 0 to {reviews.MAX_INTERVAL_DAYS}"
)
