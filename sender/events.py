"""Dashboard events: POSTed to EVENTS_URL from the store's outbox, signed per Standard Webhooks.

The store queues each event in the write that caused it (store/events.py),
so this loop never blocks a webhook: it claims the oldest undelivered event,
POSTs it, and records the outcome. One at a time, so the dashboard gets
them in the order they happened; a failed attempt (no connection, a
timeout, any answer but 2xx) is retried with backoff, and everything behind
it waits -- a dashboard that was down for an hour gets the hour's events
afterwards, in order. Delivery is at-least-once (a crash between the POST
and recording it sends it again), with the same `webhook-id` every time, so
a receiver dedupes on it. An event still undelivered GIVE_UP_HOURS after it
happened is given up (`failed`, logged) so that one dead URL does not keep
the rest forever.

Body: {"type", "timestamp", "business", "data"}: the Standard Webhooks
payload shape, plus the slug of the business the event is about. Each
business has its own outbox (its own store) and its own deliverer, to its
own EVENTS_URL (or the deployment's), so the slug is added here, on delivery.
Headers: webhook-id (the event's id), webhook-timestamp (this attempt's
time, so receivers can refuse replays), webhook-signature ("v1,<base64
HMAC-SHA256 of id.timestamp.body>", keyed with the business's EVENTS_SECRET),
signed with the reference library, `standardwebhooks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from bot.jobs import iso_utc
from config.settings import Settings
from sender.clock import Clock, utc_now
from sender.leases import renewed
from sender.loop import run_loop
from sender.pacing import Backoff
from sender.wakeups import first_of
from store import DEFAULT_BUSINESS, Event, Store, public_job, public_message

log = logging.getLogger("qdn.events")

GIVE_UP_HOURS = 72.0
# A claim's life without renewal: a dead deliverer holds the outbox this long. A live one renews its
# claim while the attempt runs (sender/leases.py), however long the POST takes.
LEASE_SECONDS = 20.0
TIMEOUT_SECONDS = 10.0


def payload(
    event: Event, tracking_url: Callable[[str], str], business: str, media_url: Callable[[str], str] | None = None
) -> bytes:
    """The body POSTed for `event` of the business `business` (its slug): the same bytes on every
    attempt (they are what is signed). `media_url` links a message's pictures as the dashboard API does."""
    data = dict(event["data"])
    if "job" in data:  # the snapshot the store kept, with the link as this deployment publishes it
        data["job"] = public_job(data["job"], tracking_url(data["job"]["token"]))
    if "message" in data and media_url is not None:
        data["message"] = public_message(data["message"], media_url)
    body = {"type": event["type"], "timestamp": event["created_at"], "business": business, "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class EventSender:
    """Delivers one business's outbox to one URL; `start()` / `stop()`, or `async with running(events)`."""

    def __init__(
        self,
        store: Store,
        url: str,
        secret: str,
        tracking_url: Callable[[str], str],
        *,
        business: str = DEFAULT_BUSINESS,
        media_url: Callable[[str], str] | None = None,
        client: httpx.AsyncClient | None = None,
        backoff: Backoff | None = None,
        now: Clock = utc_now,
        poll_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.url = url
        self.signer = Webhook(secret)
        self.tracking_url = tracking_url
        self.business = business  # the slug each payload names
        self.media_url = media_url  # media id -> the dashboard's link to the picture (GET /media/{id})
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self.backoff = backoff or Backoff(base=1.0, cap=300.0)
        self.now = now
        self.poll_seconds = poll_seconds  # a look at the outbox even without a wake-up
        self._stopping = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def headers(self, event: Event, body: bytes, at: datetime) -> dict[str, str]:
        signature = self.signer.sign(event["id"], at, body.decode())
        return {
            "content-type": "application/json",
            "webhook-id": event["id"],
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="qdn-events")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop after the attempt in flight, or cut it short after `grace_seconds` (its claim is released)."""
        self._stopping.set()
        if self._runner is not None:
            done, _ = await asyncio.wait({self._runner}, timeout=grace_seconds)
            if not done:
                self._runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._runner
        await self.client.aclose()

    async def _run(self) -> None:
        await run_loop("events", log, self._step, sleep=self._sleep, stopping=self._stopping.is_set)

    async def _step(self) -> float:
        """Deliver the oldest due event; else how long until one may be due."""
        if await self.deliver_due():
            return 0.0
        due = await self.store.next_event_due()
        timeout = self.poll_seconds
        if due is not None:
            timeout = min(timeout, max(0.0, (datetime.fromisoformat(due) - self.now()).total_seconds()))
        return timeout

    async def deliver_due(self) -> bool:
        """One attempt at the oldest event, if it is due now; whether there was one."""
        event = await self.store.claim_event(iso_utc(self.now()), LEASE_SECONDS)
        if event is None:
            return False

        def renew() -> Awaitable[bool]:
            return self.store.renew_event(event["id"], iso_utc(self.now()), LEASE_SECONDS)

        try:
            async with renewed(renew, LEASE_SECONDS, f"event {event['id']}"):
                await self.attempt(event)
        except asyncio.CancelledError:  # stopped mid-attempt: the next deliverer need not wait out the lease
            with contextlib.suppress(Exception):
                await self.store.release_event(event["id"])
            raise
        return True

    async def attempt(self, event: Event) -> None:
        at = self.now()
        body = payload(event, self.tracking_url, self.business, self.media_url)
        try:
            response = await self.client.post(self.url, content=body, headers=self.headers(event, body, at))
            error = None if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        await self.store.complete_event(event["id"], lambda row: self._outcome(row, error, at))

    def _outcome(self, row: Event, error: str | None, at: datetime) -> Event:
        attempts = row["attempts"] + 1
        if error is None:
            return {**row, "status": "delivered", "attempts": attempts, "next_attempt_at": None, "last_error": None}
        if at - datetime.fromisoformat(row["created_at"]) >= timedelta(hours=GIVE_UP_HOURS):
            log.warning("event %s (%s) given up after %d attempts: %s", row["id"], row["type"], attempts, error)
            return {**row, "status": "failed", "attempts": attempts, "next_attempt_at": None, "last_error": error}
        retry_at = iso_utc(at + timedelta(seconds=self.backoff.delay(attempts)))
        log.info("event %s (%s) not delivered (%s); next attempt at %s", row["id"], row["type"], error, retry_at)
        return {**row, "attempts": attempts, "next_attempt_at": retry_at, "last_error": error}

    async def _sleep(self, timeout: float) -> None:
        """Until the store queues an event, the loop is stopped, or `timeout` seconds pass."""
        if timeout <= 0 or self._stopping.is_set():
            return
        # A store that cannot wait just ends the sleep: the next look at the outbox says what is wrong.
        with contextlib.suppress(Exception):
            await first_of(self._stopping, self.store.wait_for_events(timeout), timeout)


def record_events(store: Store, settings: Settings) -> bool:
    """With EVENTS_URL set, writes to `store` queue their events from now on (every process that writes)."""
    if settings.events_url and settings.events_secret is not None:
        store.enable_events()
        return True
    return False


def events_for(store: Store, settings: Settings) -> EventSender | None:
    """The deliverer EVENTS_URL asks for (None without one), for a process that sends.

    `store` and `settings` are one business's: its events go to its EVENTS_URL
    (its own, or else the deployment's), signed with its secret, naming its slug.
    """
    if not record_events(store, settings) or not settings.events_url or settings.events_secret is None:
        return None
    parts = urlsplit(settings.events_url)
    log.info(
        "dashboard events of business %r go to %s://%s (signed, Standard Webhooks)",
        settings.business_slug,
        parts.scheme,
        parts.netloc.rpartition("@")[2],
    )
    return EventSender(
        store,
        settings.events_url,
        str(settings.events_secret),
        settings.tracking_url,
        business=settings.business_slug,
        media_url=settings.dashboard_media_url,
    )
