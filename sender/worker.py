"""The sender: claims due texts from the store and sends them through a transport, durably.

Runs inside `qdn serve` (the app's lifespan) or alone as `qdn send`
(sender/__main__.py). It claims as many due texts as it has free slots
(`Store.claim_due`: at most one per phone, that phone's oldest, so texts to
a phone go out in the order they were queued, and a text waiting for a retry
holds back the later ones to that phone), paces the sends to
SEND_RATE_PER_SECOND per sending number -- with the store's send slots
(sender/pacing.py), so every sender of the number, in any process, keeps to
it together -- and ends each claim with the attempt's outcome
(sender/attempt.py: retries with backoff, give-up, opted-out skips,
reconciling sends that may have reached Twilio). Everything it knows is in
the store, so a restart resumes what was pending, and any number of senders
can share one queue: a claim is a short lease (LEASE_SECONDS) that this
sender renews every quarter of it while its attempt runs -- however long a
send or a store outage takes -- so a claim lives as long as its sender: one
that dies (kill -9, a lost host) holds its texts at most LEASE_SECONDS, and
the next sender looks up any it had started, never re-sending it.

It sleeps until the store says a text was queued (`Store.wait_for_work`),
one of its attempts ends, or the next text is due.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from bot.errors import StoreError
from bot.jobs import iso_utc
from sender.attempt import Attempts
from sender.clock import Clock, utc_now
from sender.leases import keep_renewing
from sender.loop import run_loop
from sender.loop import running as running  # re-exported: `async with running(sender):`
from sender.mms import MediaUrl
from sender.pacing import Backoff, SendSlots
from sender.transports import Transport
from sender.wakeups import first_of
from store import Message, Store

log = logging.getLogger("qdn.sender")

# Twilio's fastest senders (short codes) take ~100 texts/s; 32 in flight keeps that up at ~300 ms
# latency. More hurts: httpcore scans its whole pool on every request event, and past ~40
# connections that scan costs more CPU than the requests (bench/bench_send.py shows the cliff).
MAX_CONCURRENCY = 32
# How long a claim holds a text without being renewed: how long a dead sender's texts wait for another
# sender (SPEC: at most 30 s). The sender renews its claims every quarter lease, so a live one keeps its
# texts however long an attempt takes; three renewals may fail (a slow or briefly away database) before
# the lease runs out, and even then the claim is renewed again if no other sender took it meanwhile.
LEASE_SECONDS = 20.0


class Sender:
    """Drains the store's due texts; `start()` / `stop()`, or `async with running(sender)`."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        rate_per_second: float,
        give_up_hours: float,
        number: str = "default",
        backoff: Backoff | None = None,
        settle_seconds: float = 10.0,
        concurrency: int | None = None,
        now: Clock = utc_now,
        poll_seconds: float = 60.0,
        stop_grace_seconds: float = 20.0,
        lease_seconds: float = LEASE_SECONDS,
        media_url: MediaUrl | None = None,
        dispatchers: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.transport = transport
        # The cap is per sending number (Settings.sender_address): senders given one number share it.
        self.rate = SendSlots(store, number, rate_per_second)
        self.give_up = timedelta(hours=give_up_hours)
        self.concurrency = concurrency or self.concurrency_for(rate_per_second)
        self.now = now
        self.poll_seconds = poll_seconds  # a look at the queue even without a wake-up, in case one was missed
        self.stop_grace_seconds = stop_grace_seconds
        self.lease_seconds = lease_seconds
        self.attempts = Attempts(
            store,
            transport,
            rate=self.rate,
            give_up=self.give_up,
            backoff=backoff or Backoff(),
            settle_seconds=settle_seconds,
            now=now,
            dispatchers=dispatchers,
            sender=number,
            media_url=media_url,  # PictureLinks.url (bot/media.py): the links Twilio fetches an MMS's pictures from
        )

        self._tasks: dict[asyncio.Task[Any], str] = {}  # attempts in flight -> the id of the text each holds
        self._sending: set[asyncio.Task[Any]] = set()  # past the rate wait: marking the row or talking to Twilio
        self._wakeup = asyncio.Event()  # an attempt ended: its slot is free, its phone's next text may be due
        self._idle = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None

    @staticmethod
    def concurrency_for(rate_per_second: float) -> int:
        """Enough sends in flight to keep the rate with up to ~1 s of Twilio latency, no more."""
        return max(1, min(MAX_CONCURRENCY, math.ceil(rate_per_second)))

    # -- control ------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="qdn-sender")
        self._renewer = asyncio.create_task(
            keep_renewing(self._keep_claims, self.lease_seconds, "sender"), name="qdn-sender-claims"
        )

    async def stop(self) -> None:
        """Stop taking work; let sends in progress finish (bounded), cancel the rest.

        Attempts still waiting for a rate slot are cancelled at once (nothing was
        written for them). A send cancelled after the grace period keeps its
        `send_started_at`, so whoever claims it next reconciles it. The claims of
        cancelled attempts are released, so another sender need not wait out the lease.
        """
        self._stopping = True
        self._wakeup.set()
        if self._runner is not None:
            await self._runner
        held = dict(self._tasks)
        for task in set(held) - self._sending:
            task.cancel()
        if self._sending:
            await asyncio.wait(self._sending, timeout=self.stop_grace_seconds)
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        for task, message_id in held.items():
            if task.cancelled():  # it ended without recording an outcome
                try:
                    await self.store.release(message_id)
                except Exception:  # the store is going away too: the lease runs out instead
                    log.warning("message %s: could not release its claim", message_id)
        await self.transport.close()

    async def wait_idle(self) -> None:
        """Until nothing is in flight and nothing is due now (for tests and benchmarks)."""
        while True:
            await self._idle.wait()
            due = await self.store.next_due()
            if self._tasks:
                continue  # the worker started something meanwhile (and cleared `_idle`)
            if due is None or due > iso_utc(self.now()):
                return
            self._idle.clear()  # a text was queued since the worker last looked: make it look
            self._wakeup.set()

    # -- the loop -----------------------------------------------------------

    async def _run(self) -> None:
        # After an error a plain pause: waiting on the store may be what failed.
        await run_loop(
            "sender", log, self._step, sleep=self._sleep, stopping=lambda: self._stopping, rest=asyncio.sleep
        )

    async def _step(self) -> float:
        """Claim what is due into the free slots; how long to sleep then (until woken or the next text is due)."""
        self._wakeup.clear()  # before looking, so no wake-up in between is lost
        free = self.concurrency - len(self._tasks)
        claimed = await self.store.claim_due(iso_utc(self.now()), free, self.lease_seconds) if free > 0 else []
        for message in claimed:
            self._start(message)
        timeout = self.poll_seconds
        if len(claimed) < free:  # all that is due is claimed: nothing more until the next due time
            due = await self.store.next_due()
            if due is not None:
                timeout = min(timeout, max(0.0, (datetime.fromisoformat(due) - self.now()).total_seconds()))
            if not self._tasks and timeout > 0:
                self._idle.set()
        return timeout

    async def _keep_claims(self) -> bool:
        """Renew the claims of the attempts in flight (every quarter lease, sender/leases.py), for as long
        as this sender lives: the claim is kept as long as no other sender took it, even through an
        outage, and the attempt records its outcome once the store is back."""
        held = set(self._tasks.values())
        if held:
            kept = await self.store.renew_claims(held, iso_utc(self.now()), self.lease_seconds)
            for message_id in (held - kept) & set(self._tasks.values()):
                log.warning(
                    "message %s: its claim ran out and another sender took it; this attempt writes nothing it "
                    "should not (each write re-checks the row)",
                    message_id,
                )
        return True

    async def _sleep(self, timeout: float) -> None:
        """Until one of our attempts ends, the store says a text was queued, or `timeout` seconds pass."""
        await first_of(self._wakeup, self.store.wait_for_work(timeout), timeout)  # a store error: logged, paused

    def _start(self, message: Message) -> None:
        self._idle.clear()
        task = asyncio.create_task(self._attempt(message))
        self._tasks[task] = message["id"]

    async def _attempt(self, message: Message) -> None:
        this = asyncio.current_task()
        assert this is not None
        try:
            await self.attempts.run(message, sending=lambda: self._sending.add(this))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if isinstance(error, StoreError):  # the store away or full: one line, not a traceback per text
                log.warning("message %s: %s; will try again", message["id"], error)
            else:
                log.exception("message %s: unexpected error; will try again", message["id"])
            try:
                await self.attempts.after_error(message)  # a store away: tried until it is back, the claim kept
            except Exception:  # a bug there too: the claim's lease runs out, then the text is retried
                log.exception("message %s: could not record the error; retried when its claim runs out", message["id"])
        finally:
            # Out of the counts before the worker is woken: woken first, it could find the slot
            # still taken and go back to sleep.
            self._sending.discard(this)
            self._tasks.pop(this, None)
            self._wakeup.set()
