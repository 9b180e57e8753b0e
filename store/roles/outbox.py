"""Dashboard events: the outbox (store_contract/test_outbox.py).

Once `enable_events()` is called (EVENTS_URL is set), the store itself queues an event
(store/events.py) in the very write that causes it: an inbound text stored, a job's status
changed, a text turned finally `undelivered` or `failed`. Whichever handler, sender or loop made
the write, the event is there exactly when its cause is. They are delivered one at a time,
oldest first, by claims with a lease (as texts are).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from store.records import Event


class Outbox(ABC):
    """Dashboard events queued by the writes that cause them, claimed in order by a deliverer."""

    @abstractmethod
    def enable_events(self) -> None:
        """From now on, writes queue their dashboard events."""

    @abstractmethod
    async def claim_event(self, now: str, lease_seconds: float) -> Event | None:
        """The oldest undelivered event, claimed for `lease_seconds`, if it is due at `now` and unclaimed.

        Never a later event while an earlier one waits: events go out in the order they happened.
        """

    @abstractmethod
    async def complete_event(self, event_id: str, change: Callable[[Event], Event]) -> Event:
        """Record an attempt's outcome (`change(row)`) and drop the claim, in one write.

        A row left `pending` is due again at its `next_attempt_at`.
        """

    @abstractmethod
    async def release_event(self, event_id: str) -> None:
        """Drop the claim on an event without changing it."""

    @abstractmethod
    async def next_event_due(self) -> str | None:
        """When the oldest undelivered event can next be claimed (ISO UTC), None if none waits."""

    @abstractmethod
    async def wait_for_events(self, timeout: float) -> bool:
        """Until a write queues an event (True) or `timeout` seconds pass (False)."""
