"""Idempotency-Keys (SPEC "For dashboards"): a retried write gets the first answer (store_contract/test_outbox.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.records import IdempotencyRecord

# How long an Idempotency-Key is kept: a retry within this gets the first answer.
IDEMPOTENCY_HOURS = 24


@dataclass(frozen=True)
class Once:
    """An Idempotency-Key guarding one write (SPEC "For dashboards").

    The store keeps the key, unique, in the same atomic write as what it guards, with the
    answer `answer(result)` builds from what the write stored (a JobWrite, or a Message): a
    second write with the key -- a retry, or its twin racing it -- raises KeyUsed instead of
    acting. A key older than IDEMPOTENCY_HOURS at `now` is forgotten.
    """

    key: str
    fingerprint: str
    now: str
    answer: Callable[[Any], tuple[int, Any]]


class KeyUsed(Exception):
    """The write's Idempotency-Key is taken: `record` holds the first request's answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record["key"])
        self.record = record


class IdempotencyKeys(ABC):
    """The answers kept for Idempotency-Keys; the writes they guard take a `once=`."""

    @abstractmethod
    async def find_once(self, key: str, now: str) -> IdempotencyRecord | None:
        """The answer kept for an Idempotency-Key (Once), unless older than IDEMPOTENCY_HOURS at `now`."""
