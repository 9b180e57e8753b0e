"""The sender's one clock: what every loop, attempt and pacer reads as the present.

Each takes a `now` (a Clock) so that tests can pass a clock of their own; this is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The present, timezone-aware, in UTC."""
    return datetime.now(UTC)
