"""Consent records: every phone with a consent history, a page at a time (store_contract/test_consent.py).

The history itself is kept in each phone's state (key `consent`, bot/consent.py), written in the
same write as what it records; this role lists the phones that have one, for the CSV export.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from store.records import PhoneState
from store.roles.pages import Page


def consent_order(phone: str) -> str:
    """The key phones are listed by: a digest, so a page's cursor never carries a phone number
    (cursors travel in URLs). PostgreSQL's md5(phone) is the same digest (its index orders by it)."""
    return hashlib.md5(phone.encode(), usedforsecurity=False).hexdigest()


class ConsentRecords(ABC):
    """The phones whose state holds a consent history, and many phones' states in one read."""

    @abstractmethod
    async def consent_page(self, *, after: list[Any] | None = None, limit: int) -> Page:
        """Rows {"phone", "state"} of phones with a consent history, in `consent_order`; positions [digest]."""

    @abstractmethod
    async def phone_states(self, phones: Iterable[str]) -> dict[str, PhoneState]:
        """The states of these phones at once (a page of jobs' `phone_status`); a phone with none is left out."""
