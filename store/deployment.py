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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.businesses import BusinessRecord as BusinessRecord
from bot.errors import NotFound
from store.base import Job, MessageRead, Store
from store.roles.login_codes import LoginCodes

DEFAULT_BUSINESS = "default"

# How often a process of a deployment several processes share (PostgreSQL) asks the registry what
# the others added or changed (registry_changes): the web's Tenants and `qdn send` both do. A
# business changed through another process's admin API -- a token revoked -- takes effect here
# within this, plus one registry read.
REGISTRY_REFRESH_SECONDS = 5.0


class Conflict(Exception):
    """A business write refused because something it claims is taken: `field` names what (slug, numbers...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Deployment(LoginCodes, ABC):
    """The businesses of one deployment and their stores, and what spans them (throttles, inbox login codes)."""

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

    # -- throttles that span businesses (store/throttles.py) ---------------------
    #
    # A client's misses (unknown tracking tokens, handlers/ratelimit.py) count deployment-wide:
    # the key is its address, whichever business it guesses at. Counted in memory by a backend
    # one process owns (TinyDB), in a table by one several processes share (PostgreSQL).

    @abstractmethod
    async def count_miss(self, key: str, now: str, window_seconds: float, limit: int) -> float:
        """Count one miss of `key` at `now` (ISO UTC); seconds until it may try again (0: it may now).

        The window is fixed: it starts at the key's first miss and lasts `window_seconds`; once
        `limit` misses fall in it, the key waits until it ends (more misses do not extend it).
        """

    @abstractmethod
    async def miss_retry_after(self, key: str, now: str) -> float:
        """Seconds from `now` (ISO UTC) until `key` may try again; 0 when it may now."""

    # -- lookups across businesses --------------------------------------------

    async def find_job_by_token(self, token: str) -> tuple[str, Job] | None:
        """The business and job a tracking token names (tokens are unique across the deployment)."""
        for slug, store in self.stores().items():
            job = await store.find_job_by_token(token)
            if job is not None:
                return slug, job
        return None

    async def lookup_sid(self, twilio_sid: str) -> tuple[str, MessageRead | None] | None:
        """The business whose message log holds this SID, and its message as read when the lookup read it
        (for that store's update_message_by_sid(read=...)); this default reads no message."""
        slug = await self.business_of_sid(twilio_sid)
        return None if slug is None else (slug, None)

    async def business_of_sid(self, twilio_sid: str) -> str | None:
        """The business whose message log holds this Twilio message SID, if any."""
        for slug, store in self.stores().items():
            if await store.find_message_by_sid(twilio_sid) is not None:
                return slug
        return None


async def registry_changes(deployment: Deployment, known: Mapping[str, BusinessRecord]) -> list[BusinessRecord]:
    """The registered businesses whose record is not the one `known` (by slug) holds, new ones included,
    oldest first, each with its store open: what other processes added or changed since.

    Records are compared whole, so an unchanged business is not restarted; there is no removing one.
    """
    changed = [record for record in await deployment.businesses() if known.get(record["slug"]) != record]
    if any(record["slug"] not in deployment.stores() for record in changed):
        await deployment.refresh()  # opens a store for every business registered by then: these among them
    return changed


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
