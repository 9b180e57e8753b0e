"""Per-phone state: opt-out and loop guards (store_contract/test_phone_state.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from store.records import PhoneState


class PhoneStates(ABC):
    """A small state kept per phone number, changed atomically."""

    @abstractmethod
    async def get_phone(self, phone: str) -> PhoneState:
        """State kept for a phone; {} if none."""

    @abstractmethod
    async def update_phone(self, phone: str, change: Callable[[PhoneState], PhoneState]) -> PhoneState:
        """Replace the phone's state with `change(state)`, atomically; returns the new state."""

    @abstractmethod
    async def is_opted_out(self, phone: str) -> bool:
        """Whether the phone's last word was an opt-out (state key `opted_out`)."""
