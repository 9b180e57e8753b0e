"""One deployment: the businesses it carries, and each business's own Store.

    deployment = await open_deployment("tinydb:///data/qdn.json")
    store = deployment.store("acme")        # every job, text and phone of one business

Every row belongs to one business, and every Store call is scoped to one: a
caller gets the business's Store (from the request: the Twilio number called,
the dashboard token, the tracking token) and never sees another's. The
`default` business is the one the settings describe (a single-business install
has no other); the others are records in the registry here, managed over the
admin API (handlers/admin.py).

A backend lays businesses out as suits it -- TinyDB a folder each, PostgreSQL
the business id leading every key -- and answers the few questions that span
them: which business a tracking token or a Twilio message SID belongs to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from bot.errors import NotFound
from store.base import Job, Store

DEFAULT_BUSINESS = "default"

# A business record as the registry keeps it (bot/businesses.py cleans the fields; secrets are
# encrypted by store/secret_box.py before they get here; `tokens` holds dashboard-token hashes).
BusinessRecord = dict[str, Any]


class Conflict(Exception):
    """A business write refused because something it claims is taken: `field` names what (slug, numbers...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Deployment(ABC):
    """The businesses of one deployment and their stores."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What /healthz reports as `store` (never a secret)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every business's store."""

    @abstractmethod
    def stores(self) -> dict[str, Store]:
        """Every business's open Store, by slug (`default` first)."""

    def store(self, slug: str) -> Store:
        """The business's Store; NotFound if the deployment has no such business."""
        try:
            return self.stores()[slug]
        except KeyError:
            raise NotFound(f"No business {slug!r}.") from None

    @property
    def default(self) -> Store:
        return self.stores()[DEFAULT_BUSINESS]

    async def refresh(self) -> None:
        """Open the stores of businesses another process has registered since (where there can be one).

        A backend one process owns (TinyDB) registers every business itself: nothing to do.
        """
        return None

    async def ping(self) -> None:
        """Raise StoreError if any business's store cannot be used right now."""
        for store in self.stores().values():
            await store.ping()

    # -- the registry ---------------------------------------------------------

    @abstractmethod
    async def businesses(self) -> list[BusinessRecord]:
        """Every registered business (the `default` one is the settings', not here), oldest first."""

    async def get_business(self, slug: str) -> BusinessRecord:
        for record in await self.businesses():
            if record["slug"] == slug:
                return record
        raise NotFound(f"No business {slug!r}.")

    @abstractmethod
    async def add_business(self, record: BusinessRecord, *, reserved: Iterable[str] = ()) -> BusinessRecord:
        """Register a business and open its (empty) store.

        Conflict if its slug is taken, or one of its `numbers` / its `messaging_service_sid`
        belongs to another business or is in `reserved` (the default business's, from settings).
        """

    @abstractmethod
    async def update_business(
        self, slug: str, change: Callable[[BusinessRecord], BusinessRecord], *, reserved: Iterable[str] = ()
    ) -> BusinessRecord:
        """Replace the record with `change(record)`, atomically (NotFound; Conflict as for add_business)."""

    # -- lookups across businesses --------------------------------------------

    async def find_job_by_token(self, token: str) -> tuple[str, Job] | None:
        """The business and job a tracking token names (tokens are unique across the deployment)."""
        for slug, store in self.stores().items():
            job = await store.find_job_by_token(token)
            if job is not None:
                return slug, job
        return None

    async def business_of_sid(self, twilio_sid: str) -> str | None:
        """The business whose message log holds this Twilio message SID, if any."""
        for slug, store in self.stores().items():
            if await store.find_message_by_sid(twilio_sid) is not None:
                return slug
        return None


def claimed_addresses(record: BusinessRecord) -> list[str]:
    """What routes texts to a business: its numbers and its Messaging Service SID."""
    return [*record.get("numbers", ()), *filter(None, [record.get("messaging_service_sid")])]


def check_unclaimed(record: BusinessRecord, others: Iterable[BusinessRecord], reserved: Iterable[str]) -> None:
    """Conflict unless the record's slug, numbers and Messaging Service SID are its own."""
    taken: dict[str, Any] = dict.fromkeys(reserved, DEFAULT_BUSINESS)
    for other in others:
        if other["slug"] == record["slug"]:
            raise Conflict("slug", f"A business with slug {record['slug']!r} already exists.")
        taken.update(dict.fromkeys(claimed_addresses(other), other["slug"]))
    for address in claimed_addresses(record):
        if address in taken:
            field = "messaging_service_sid" if address == record.get("messaging_service_sid") else "numbers"
            raise Conflict(field, f"{address} already belongs to another business ({taken[address]}).")
