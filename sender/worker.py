"""The sender: sends the store's `pending` texts through a transport, durably.

Started and stopped in the app's lifespan. It keeps one lane per phone so
texts to a phone go out in the order they were queued (a text waiting for a
retry holds back the later ones to that phone), sends to different phones
concurrently, and paces all sends to SEND_RATE_PER_SECOND.

Crash safety rests on one internal key, `send_started_at`: it is written to
the message row *before* the request that may reach Twilio and cleared in the
same write that records the outcome. A pending row that still carries it
(after a timeout, or a crash or kill at any moment) is never sent again; it
is reconciled by looking the text up at Twilio, and left `unknown` for a
person if that cannot settle it. Other internal keys: `attempts`,
`next_attempt_at` (backoff), `lookups`.

Outcomes of one attempt:
  accepted            -> queued/sent with its Twilio SID (callbacks take it from there)
  retry (429, 5xx, no connection) -> stays pending, next attempt after backoff with jitter
  permanent (other 4xx) -> failed with Twilio's code and message; 21610 records the opt-out
  unsure (timeout or reset after sending) -> reconcile
  opted out           -> skipped with the reason
  older than SEND_GIVE_UP_HOURS -> failed (or unknown, if an attempt may have gone out)
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.jobs import iso_utc
from bot.messages import OPTED_OUT_CODE, OPTED_OUT_REASON, TWILIO_STATUSES, opted_out
from bot.phones import redact_phone
from sender.pacing import Backoff, RateLimiter
from sender.transports import Accepted, SendFailed, Transport
from store import Message, Store

log = logging.getLogger("qdn.sender")

MAX_LOOKUPS = 5
# Twilio's fastest senders (short codes) take ~100 texts/s; 32 in flight keeps that up at ~300 ms
# latency. More hurts: httpcore scans its whole pool on every request event, and past ~40
# connections that scan costs more CPU than the requests (bench/bench_send.py shows the cliff).
MAX_CONCURRENCY = 32
UNKNOWN_REASON = (
    "the send timed out after the request may have reached Twilio, and Twilio has no matching message; "
    "check with the customer before sending it again"
)


def _due(message: Message) -> str:
    return message.get("next_attempt_at") or message["created_at"]


def _settled(message: Message) -> Message:
    # Cleared, not deleted: a store update merges keys, so a dropped key would survive.
    return {**message, "send_started_at": None, "next_attempt_at": None}


class Sender:
    """Drains pending outbound texts; `wake()` after queueing some."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        rate_per_second: float,
        give_up_hours: float,
        backoff: Backoff | None = None,
        settle_seconds: float = 10.0,
        concurrency: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 60.0,
        stop_grace_seconds: float = 20.0,
    ) -> None:
        self.store = store
        self.transport = transport
        self.rate = RateLimiter(rate_per_second)
        self.give_up = timedelta(hours=give_up_hours)
        self.backoff = backoff or Backoff()
        # Wait at least this long after an unsure send before looking it up, so Twilio has it listed.
        self.settle_seconds = settle_seconds
        self.concurrency = concurrency or self.concurrency_for(rate_per_second)
        self.now = now
        self.poll_seconds = poll_seconds
        self.stop_grace_seconds = stop_grace_seconds

        self._lanes: dict[str, deque[Message]] = {}  # phone -> its pending texts in queue order
        self._in_flight: dict[str, str] = {}  # phone -> id of the message being attempted
        self._ready: list[tuple[str, str, str, str]] = []  # heap of (due, created_at, id, phone) lane heads
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sending: set[asyncio.Task[Any]] = set()  # past the rate wait: claiming or talking to Twilio
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._reload = True
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None

    @staticmethod
    def concurrency_for(rate_per_second: float) -> int:
        """Enough sends in flight to keep the rate with up to ~1 s of Twilio latency, no more."""
        return max(1, min(MAX_CONCURRENCY, math.ceil(rate_per_second)))

    # -- control ------------------------------------------------------------

    def wake(self) -> None:
        """New texts were queued: reload the queue now instead of at the next poll."""
        self._reload = True
        self._idle.clear()
        self._wakeup.set()

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="qdn-sender")

    async def stop(self) -> None:
        """Stop taking work; let sends in progress finish (bounded), cancel the rest.

        Attempts still waiting for a rate slot are cancelled at once (nothing was
        written for them). A send cancelled after the grace period keeps its
        `send_started_at`, so the next start reconciles it.
        """
        self._stopping = True
        self._wakeup.set()
        if self._runner is not None:
            await self._runner
        for task in self._tasks - self._sending:
            task.cancel()
        if self._sending:
            await asyncio.wait(self._sending, timeout=self.stop_grace_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.transport.close()

    async def wait_idle(self) -> None:
        """Until nothing is in flight and nothing is due now (for tests and benchmarks)."""
        await self._idle.wait()

    # -- the dispatcher -----------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._step()
            except Exception:  # never let a bug stop all texts silently
                log.exception("send queue worker error; carrying on")
                await asyncio.sleep(1)

    async def _step(self) -> None:
        """Reload if asked, start what is due, then sleep until woken or the next text is due."""
        self._wakeup.clear()  # before looking at the state, so no wake-up in between is lost
        if self._reload:
            self._reload = False
            try:
                await self._load()
            except Exception:
                self._reload = True
                raise
        wait = self._dispatch()
        if not self._tasks and not self._reload and (wait is None or wait > 0):
            self._idle.set()
        timeout = self.poll_seconds if wait is None else min(wait, self.poll_seconds)
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            if wait is None or wait >= self.poll_seconds:
                self._reload = True  # a periodic re-read, in case a row was queued without wake()

    async def _load(self) -> None:
        pending = await self.store.pending_messages()
        # Read after the await: an attempt that finished meanwhile is in `pending` as stored.
        in_flight = set(self._in_flight.values())
        lanes: dict[str, deque[Message]] = {}
        for message in pending:
            if message["id"] not in in_flight:
                lanes.setdefault(message["phone"], deque()).append(message)
        self._lanes = lanes
        self._ready = []
        for phone in lanes:
            self._push(phone)

    def _push(self, phone: str) -> None:
        lane = self._lanes.get(phone)
        if lane and phone not in self._in_flight:
            head = lane[0]
            heapq.heappush(self._ready, (_due(head), head["created_at"], head["id"], phone))

    def _dispatch(self) -> float | None:
        """Start attempts for due lane heads; seconds until the next one is due (None: nothing waiting)."""
        now = iso_utc(self.now())
        while self._ready and len(self._tasks) < self.concurrency:
            due, _, message_id, phone = self._ready[0]
            lane = self._lanes.get(phone)
            if phone in self._in_flight or not lane or lane[0]["id"] != message_id or _due(lane[0]) != due:
                heapq.heappop(self._ready)  # stale: the lane moved on since this entry was pushed
                continue
            if due > now:
                return max(0.0, (datetime.fromisoformat(due) - self.now()).total_seconds())
            heapq.heappop(self._ready)
            message = lane.popleft()
            self._in_flight[phone] = message["id"]
            self._idle.clear()
            task = asyncio.create_task(self._attempt(message, phone))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return None

    async def _attempt(self, message: Message, phone: str) -> None:
        result = message
        try:
            result = await self._process(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A store or programming error: keep the row pending and come back later, never spin.
            log.exception("message %s: unexpected error; will try again", message["id"])
            later = self.now() + timedelta(seconds=self.backoff.delay(message.get("attempts", 0) + 1))
            result = {**message, "next_attempt_at": iso_utc(later)}
        finally:
            # Out of the counts before the worker is woken: a done-callback would run only after the
            # worker may already have looked, found the slot taken, and gone back to sleep.
            this = asyncio.current_task()
            self._sending.discard(this)
            self._tasks.discard(this)
            del self._in_flight[phone]
            if result["status"] == "pending":
                lane = self._lanes.setdefault(phone, deque())
                if any(m["id"] == result["id"] for m in lane):  # a reload raced us: keep one copy
                    self._lanes[phone] = lane = deque(m for m in lane if m["id"] != result["id"])
                lane.appendleft(result)
            self._push(phone)
            self._wakeup.set()

    # -- one attempt --------------------------------------------------------

    async def _process(self, message: Message) -> Message:
        """Move one pending message on as far as it can go now; returns the row as stored.

        `message` is the queue's copy. Every write re-checks the stored row (`_claim`,
        `_settle`), so a stale copy can delay a text but never send it twice.
        """
        now = self.now()
        if message.get("send_started_at"):
            current = await self.store.get_message(message["id"])
            if current["status"] != "pending" or not current.get("send_started_at") or _due(current) > iso_utc(now):
                return current
            return await self._reconcile(current, now)
        if _due(message) > iso_utc(now):
            return message
        if await self.store.is_opted_out(message["to"]):
            log.info("message %s to %s skipped: opted out", message["id"], redact_phone(message["to"]))
            return await self._settle(
                message, unsent=True, status="skipped", error_code=None, error_message=OPTED_OUT_REASON
            )
        if now - datetime.fromisoformat(message["created_at"]) >= self.give_up:
            hours = self.give_up.total_seconds() / 3600
            reason = f"not sent within {hours:g} hours (SEND_GIVE_UP_HOURS)"
            if message.get("error_message"):
                reason += f"; last error: {message['error_message']}"
            log.warning("message %s to %s: gave up", message["id"], redact_phone(message["to"]))
            return await self._settle(message, unsent=True, status="failed", error_message=reason)

        await asyncio.sleep(self.rate.reserve())
        # From here on a stop waits for this attempt: cancelling the claim's store write
        # could leave a marker with no request behind it.
        self._sending.add(asyncio.current_task())  # type: ignore[arg-type]
        started = iso_utc(self.now())
        claimed = await self.store.update_message(message["id"], lambda m: self._claim(m, started))
        if claimed.get("send_started_at") != started:
            return claimed  # someone else moved it on meanwhile
        try:
            accepted = await self.transport.send(claimed["to"], claimed["body"])
        except SendFailed as failure:
            return await self._failed_send(claimed, failure)
        sid = f" ({accepted.sid})" if accepted.sid else ""  # the console transport has no SID
        log.info("message %s to %s: %s%s", claimed["id"], redact_phone(claimed["to"]), accepted.status, sid)
        return await self._settle_as_twilio_has_it(claimed, accepted)

    @staticmethod
    def _claim(message: Message, started: str) -> Message | None:
        """Mark the stored row as being sent -- durably, before the request -- if it still may be."""
        if message["status"] != "pending" or message.get("send_started_at") or _due(message) > started:
            return None
        return {**message, "send_started_at": started, "attempts": message.get("attempts", 0) + 1}

    async def _settle_as_twilio_has_it(self, message: Message, twilio: Accepted) -> Message:
        """Record what Twilio says of the text: its SID, status and any error (a send or a lookup)."""
        return await self._settle(
            message,
            status=TWILIO_STATUSES.get(twilio.status, "queued"),
            twilio_sid=twilio.sid,
            error_code=twilio.error_code,
            error_message=twilio.error_message,
        )

    async def _settle(self, message: Message, *, unsent: bool = False, **changes: Any) -> Message:
        """Record a final outcome (the row leaves the queue); only a still-pending row is changed.

        `unsent`: the outcome assumes no attempt is out (skipped, gave up), so a row
        with `send_started_at` is left alone for reconciling.
        """

        def change(current: Message) -> Message | None:
            if current["status"] != "pending" or (unsent and current.get("send_started_at")):
                return None
            return {**_settled(current), **changes}

        return await self.store.update_message(message["id"], change)

    async def _later(self, message: Message, delay: float, **changes: Any) -> Message:
        """Keep the row pending, due again after `delay` seconds (never past the give-up time)."""
        due = self.now() + timedelta(seconds=delay)
        give_up_at = datetime.fromisoformat(message["created_at"]) + self.give_up
        due_iso = iso_utc(min(due, give_up_at))

        def change(current: Message) -> Message | None:
            if current["status"] != "pending":
                return None
            return {**current, "next_attempt_at": due_iso, **changes}

        return await self.store.update_message(message["id"], change)

    async def _failed_send(self, message: Message, failure: SendFailed) -> Message:
        who = redact_phone(message["to"])
        if failure.outcome == "retry":
            delay = self.backoff.delay(message["attempts"])
            log.warning("message %s to %s: %s; retrying in %.1fs", message["id"], who, failure.message, delay)
            return await self._later(
                message, delay, send_started_at=None, error_code=failure.code, error_message=failure.message
            )
        if failure.outcome == "unsure":
            log.warning("message %s to %s: %s; will look it up", message["id"], who, failure.message)
            return await self._later(message, max(self.settle_seconds, self.backoff.delay(1)))
        # Only the code: Twilio's message may quote the full number (it is kept in the message log).
        log.warning("message %s to %s failed: Twilio error %s", message["id"], who, failure.code)
        settled = await self._settle(message, status="failed", error_code=failure.code, error_message=failure.message)
        if failure.code == OPTED_OUT_CODE:  # they texted STOP: later texts to them are skipped
            source = f"Twilio error {OPTED_OUT_CODE} on a send"
            await self.store.update_phone(message["to"], lambda state: opted_out(state, iso_utc(self.now()), source))
            log.info("%s opted out (%s)", who, source)
        return settled

    async def _reconcile(self, message: Message, now: datetime) -> Message:
        """Settle an attempt that may have reached Twilio by looking it up; never re-send it."""
        started = datetime.fromisoformat(message["send_started_at"])
        lookups = message.get("lookups", 0) + 1
        try:
            found = await self.transport.find_sent(message["to"], message["body"], started)
        except SendFailed as failure:
            if lookups >= MAX_LOOKUPS or now - datetime.fromisoformat(message["created_at"]) >= self.give_up:
                return await self._settle(message, status="unknown", error_message=f"{UNKNOWN_REASON} ({failure})")
            return await self._later(message, self.backoff.delay(lookups), lookups=lookups)
        for candidate in found:
            if candidate.sid and await self.store.find_message_by_sid(candidate.sid) is None:
                log.info("message %s: found at Twilio as %s; not re-sent", message["id"], candidate.sid)
                return await self._settle_as_twilio_has_it(message, candidate)
        log.warning("message %s: outcome unknown; left for a person", message["id"])
        return await self._settle(message, status="unknown", error_message=UNKNOWN_REASON)


@contextlib.asynccontextmanager
async def running(sender: Sender) -> AsyncIterator[Sender]:
    """`async with running(sender):` starts the worker and stops it on the way out."""
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()
