"""Each business's long-lived loops: its sender, its picture fetcher, its day-before reminders, its
review requests, its dashboard events.

A business sends with its own transport (its own Twilio account, or the
deployment's, from its own number: the send-rate cap is per sending number),
from its own store's queue. Its loops start with the process, or when the
admin API adds the business, and restart when its settings change.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from bot.media import PictureLinks
from bot.notifications import Notifier
from config.settings import Settings
from sender import events, reminders, reviews
from sender.loop import running, running_if_any
from sender.media import fetch as media_fetch
from sender.transports import make_transport
from sender.worker import Sender
from store import Store

log = logging.getLogger("qdn.sender")


class BusinessLoops:
    """The running loops of every business, by slug."""

    def __init__(self) -> None:
        self._running: dict[str, AsyncExitStack] = {}
        self.senders: dict[str, Sender] = {}
        self.events: dict[str, events.EventSender | None] = {}

    async def run(self, slug: str, store: Store, settings: Settings, notifier: Notifier, *, send: bool = True) -> None:
        """(Re)start the business's loops with these settings (`send`: also its sender, picture fetcher
        and reminders)."""
        await self.stop(slug)
        events.record_events(store, settings)  # every writer queues events once EVENTS_URL is set
        stack = AsyncExitStack()
        try:
            if send:
                # Links to the pictures an MMS carries, signed under keys derived once for the loop's life.
                links = PictureLinks(settings.public_base_url, settings.business_slug, str(settings.secret_key))
                sender = Sender(
                    store,
                    make_transport(settings),
                    rate_per_second=settings.send_rate_per_second,
                    give_up_hours=settings.send_give_up_hours,
                    number=settings.sender_address,
                    media_url=links.url,
                    dispatchers=settings.dispatcher_numbers,
                )
                await stack.enter_async_context(running(sender))
                self.senders[slug] = sender
                # Pictures texted in: fetched from Twilio wherever the business's texts are sent from.
                await stack.enter_async_context(running(media_fetch.MediaFetcher(store, settings)))
                await stack.enter_async_context(
                    running_if_any(reminders.reminders_for(store, notifier, settings.reminder_policy))
                )
                await stack.enter_async_context(
                    running_if_any(reviews.reviews_for(store, notifier, settings.review_policy))
                )
                self.events[slug] = await stack.enter_async_context(running_if_any(events.events_for(store, settings)))
        except BaseException:
            await stack.aclose()
            raise
        self._running[slug] = stack

    async def stop(self, slug: str) -> None:
        stack = self._running.pop(slug, None)
        self.senders.pop(slug, None)
        self.events.pop(slug, None)
        if stack is not None:
            await stack.aclose()

    async def stop_all(self) -> None:
        for slug in list(self._running):
            await self.stop(slug)
