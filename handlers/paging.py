"""`limit` and `cursor` for the dashboard's lists (SPEC "For dashboards").

A cursor is the store's position after a page's last row (`Page.after`),
tagged with the list it belongs to, as compact JSON in unpadded base64url:
opaque to clients, and nothing in it but times and ids (never a phone
number: cursors travel in URLs, and so in access logs).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.requests import Request

from bot.errors import ValidationError
from store import Page

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 512  # characters; a real one is well under 100
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"
_CURSOR = re.compile(CURSOR_PATTERN)
# Bounded: int() refuses strings of over 4,300 digits (a 500 otherwise), and no limit needs five.
_DIGITS = re.compile("[0-9]{1,4}")


def limit_of(request: Request) -> int:
    """The `limit` query parameter: 1 to MAX_LIMIT, DEFAULT_LIMIT when absent."""
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def cursor_of(request: Request, kind: str) -> list[Any] | None:
    """The position the `cursor` query parameter carries (None without one); 422 for one of another list."""
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    refused = ValidationError("cursor", "is not one this list gave (pass back next_cursor as it came)")
    if len(raw) > MAX_CURSOR or not _CURSOR.fullmatch(raw):
        raise refused
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(data, dict) or data.get("list") != kind or not isinstance(data.get("after"), list):
        raise refused
    return data["after"]


def next_cursor(page: Page, kind: str) -> str | None:
    if page.after is None:
        return None
    data = json.dumps({"list": kind, "after": page.after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
