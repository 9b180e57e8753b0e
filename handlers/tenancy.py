"""Which business a request is for, and that business's Services.

    tenant = tenants(request).for_address(form["To"], form.get("MessagingServiceSid"))
    use(request, tenant)              # services(request) is now that business's, for this request only

The scope always comes from the request -- the Twilio number called, the
dashboard token, the tracking token, the message a status callback names --
never from a global: `services(request)` fails (a 500, never another
business's data) for a request no step has scoped.

The `default` business is the settings' own (BUSINESS_NAME, TWILIO_*,
DISPATCHER_NUMBERS, API_TOKEN...); the others are registry records
(store/deployment.py) with settings made by config/business_settings.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from bot.consent import API_TOKEN_NAME
from bot.errors import NotFound
from bot.templates import Templates
from config.business_settings import business_settings, business_templates
from config.secret_box import SecretBox
from config.settings import Settings
from handlers.services import SERVICES_KEY, Services
from store import DEFAULT_BUSINESS, BusinessRecord, Deployment
from store.deployment import registry_changes

log = logging.getLogger("qdn.tenancy")

TOKEN_PREFIX = "qdn_"  # noqa: S105 -- dashboard tokens: recognisable in a leaked-secrets scan


@dataclass
class Tenant:
    """One business at run time: its settings, its Services (and so its Store)."""

    slug: str
    settings: Settings
    services: Services
    record: BusinessRecord | None = None  # None: the default business (the settings' own)
    token_hashes: frozenset[str] = field(default_factory=frozenset)

    @property
    def addresses(self) -> list[str]:
        """The numbers and Messaging Service SID that route texts to this business."""
        s = self.settings
        return [address for address in (s.twilio_from_number, s.twilio_messaging_service_sid) if address]


def token_hash(token: str) -> str:
    """What is kept of a dashboard token: its SHA-256 (tokens are 256 random bits, so no salt or stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_dashboard_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# Called with each tenant added or replaced (web/ restarts its sender, reminders and events).
Listener = Callable[[Tenant], Awaitable[None]]


class Tenants:
    """Every business of the deployment at run time, found by slug, number or dashboard token."""

    def __init__(self, settings: Settings, deployment: Deployment, templates: Templates) -> None:
        self.settings = settings  # the deployment's, which are also the default business's
        self.deployment = deployment
        self.box = SecretBox(settings.secret_key) if str(settings.secret_key) else None
        self._all: dict[str, Tenant] = {}
        self._by_address: dict[str, Tenant] = {}
        self._by_token: dict[str, Tenant] = {}
        self.listeners: list[Listener] = []
        self._running = asyncio.Lock()  # one put at a time (its listeners restart the business's loops)
        self._puts: dict[str, int] = {}  # puts so far, by slug: what a refresh compares (see `refresh`)
        default = Services(settings=settings, store=deployment.default, templates=templates)
        self._put(Tenant(DEFAULT_BUSINESS, settings, default))

    async def load(self) -> Tenants:
        """Every registered business, from the registry (at start-up)."""
        for record in await self.deployment.businesses():
            self._put(self.build(record))
        return self

    def build(self, record: BusinessRecord) -> Tenant:
        if self.box is None:
            raise RuntimeError("SECRET_KEY is needed to run registered businesses")
        settings = business_settings(self.settings, record, self.box)
        store = self.deployment.store(record["slug"])
        services = Services(settings=settings, store=store, templates=business_templates(record))
        hashes = frozenset(token["hash"] for token in record.get("tokens", ()))
        return Tenant(record["slug"], settings, services, record, hashes)

    def _put(self, tenant: Tenant) -> None:
        old = self._all.get(tenant.slug)
        if old is not None:
            for address in old.addresses:
                self._by_address.pop(address, None)
            for digest in old.token_hashes:
                self._by_token.pop(digest, None)
        self._all[tenant.slug] = tenant
        self._by_address.update(dict.fromkeys(tenant.addresses, tenant))
        self._by_token.update(dict.fromkeys(tenant.token_hashes, tenant))

    async def put(self, record: BusinessRecord) -> Tenant:
        """Run a business added or changed over the admin API, from its stored record."""
        async with self._running:
            return await self._run(record)

    async def _run(self, record: BusinessRecord) -> Tenant:
        tenant = self.build(record)
        self._put(tenant)
        self._puts[tenant.slug] = self._puts.get(tenant.slug, 0) + 1
        for listener in self.listeners:
            await listener(tenant)
        return tenant

    async def refresh(self) -> list[str]:
        """Run what other processes added or changed in the registry since (a shared store's): their slugs.

        Each changed record is put as `put` would (so a revoked token is refused from here on, and
        the business's loops restart); unchanged ones are left running. The registry is read
        outside the lock (a slow database must not hold up the admin API); a business this
        process put meanwhile is left as put -- the admin API puts the record it read back after
        its write, newer than the one read here -- so a refresh never brings back what this
        process just changed (a revoked token); the next refresh sees the registry again.
        A record this process cannot run (sealed under another SECRET_KEY) is logged and tried
        again next time. The web lifespan calls this every REGISTRY_REFRESH_SECONDS.
        """
        known = {tenant.slug: tenant.record for tenant in self.all() if tenant.record is not None}
        puts = dict(self._puts)
        changed = await registry_changes(self.deployment, known)
        ran = []
        async with self._running:
            for record in changed:
                slug = record["slug"]
                if self._puts.get(slug, 0) != puts.get(slug, 0):
                    continue  # put while the registry was read: that record is the newer one
                try:
                    await self._run(record)
                except Exception:
                    log.exception("business %r changed by another process, but cannot be run here", slug)
                    continue
                ran.append(slug)
        return ran

    def all(self) -> list[Tenant]:
        return list(self._all.values())

    def get(self, slug: str) -> Tenant | None:
        return self._all.get(slug)

    @property
    def default(self) -> Tenant:
        return self._all[DEFAULT_BUSINESS]

    def for_address(self, to: str, messaging_service_sid: str | None = None) -> Tenant | None:
        """The business a text to `to` (through that Messaging Service) is for; None if nobody's.

        A Messaging Service names its business whichever of its pool's numbers was texted.
        The default business with no Twilio sender of its own (local use: the simulator's
        placeholder number) answers every address no registered business has.
        """
        found = self._by_address.get(messaging_service_sid or "") or self._by_address.get(to)
        if found is None and not self.default.addresses:
            return self.default
        return found

    def for_bearer(self, presented: str) -> Tenant | None:
        """The business whose dashboard token (or, for the default one, API_TOKEN) this is."""
        if presented and secrets.compare_digest(presented.encode(), str(self.settings.api_token).encode()):
            return self.default
        # A dict lookup by the token's hash: the hash is what leaks in timing, never the token.
        return self._by_token.get(token_hash(presented)) if presented.startswith(TOKEN_PREFIX) else None

    def token_name(self, tenant: Tenant, presented: str) -> str:
        """How a consent record names the dashboard token `presented` (already accepted for `tenant`):
        "api" for API_TOKEN, else its id in the registry (`tok_...`), never the token itself."""
        if tenant.record is None:
            return API_TOKEN_NAME
        digest = token_hash(presented)
        for token in tenant.record.get("tokens") or ():
            if token.get("hash") == digest:
                return str(token.get("name") or token.get("id"))
        return API_TOKEN_NAME


def tenants(request: Request) -> Tenants:
    """The running app's businesses (set up in the lifespan)."""
    tenants: Tenants = request.state.tenants
    return tenants


def named_business(request: Request) -> Tenant:
    """The business a webhook address names (`/twilio/{business}/...`); NotFound (404) for a slug nobody has."""
    tenant = tenants(request).get(request.path_params.get("business", ""))
    if tenant is None:
        raise NotFound("No business has this address.")
    return tenant


def use(request: Request, tenant: Tenant) -> Services:
    """Scope this request to `tenant`: from here on `services(request)` is its Services."""
    request.scope[SERVICES_KEY] = tenant.services
    request.scope["qdn.business"] = tenant.slug
    return tenant.services


def scoped_slug(request: Request) -> Any:
    return request.scope.get("qdn.business")
