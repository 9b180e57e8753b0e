"""The send-rate cap: one schedule per sending number (store_contract/test_throttles.py).

Twilio caps the texts a second of each sending number (or Messaging Service), whichever sender
sends them. The store keeps, per number, when its next text may go (GCRA with no burst), so any
number of senders in any number of processes share one schedule: in memory for TinyDB (one
process), in a row for PostgreSQL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class SendRate(ABC):
    """Send slots, evenly spaced per sending number."""

    @abstractmethod
    async def take_send_slot(self, number: str, now: str, per_second: float) -> float:
        """Reserve `number`'s next send slot at `per_second`; seconds from `now` (ISO UTC) until it (0: go now).

        The slot is max(now, the number's next free time), and the next free time moves one
        interval (1 / per_second) past it, atomically: callers of one number together get
        slots evenly spaced, each slot once. Idle time saves up no burst. Numbers are independent.
        """
