"""What every store answers about itself (/healthz), and closing it (store.open_store opens one)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Health(ABC):
    """Whether the store can be used, and what it is."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the store's files or connections; nothing may be called after."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError if the store cannot be used right now."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What /healthz reports as `store` (never a secret)."""
