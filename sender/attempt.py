"""One attempt on a claimed text, and what each outcome writes.

Crash safety rests on one internal key, `send_started_at`: it is written to
the message row *before* the request that may reach Twilio and cleared in the
same write that records the outcome. A pending row that still carries it
(after a timeout, or a crash or kill at any moment, or a claim whose lease ran
out) is never sent again; it is reconciled by looking the text up at Twilio,
and left `unknown` for a person if that cannot settle it. Other internal keys:
`attempts`, `next_attempt_at` (backoff), `lookups`.

Outcomes of one attempt:
  accepted            -> queued/sent with its Twilio SID (callbacks take it from there)
  retry (429, 5xx, no connection) -> stays pending, next attempt after backoff with jitter
  permanent (other 4xx) -> failed with Twilio's code and message; 21610 records the opt-out
  unsure (timeout or reset after sending) -> reconcile: found at Twilio -> as Twilio has it;
                      proven never to have reached Twilio (see NEVER_SENT_AFTER) -> sent again;
                      neither -> unknown, for a person (POST /jobs/{id}/messages/{id}/resend)
  opted out           -> skipped with the reason
  can't take texts (30006/30005/21614 before: a landline) -> skipped with the reason (bot/undeliverable.py)
  older than SEND_GIVE_UP_HOURS -> failed (or unknown, if an attempt may have gone out)
  pictures still being fetched -> held a moment (mms.hold_seconds), not an attempt (sender/mms.py)

A row with `media` goes out as an MMS: Twilio fetches each picture from its
signed link (`media_url`).

Every attempt ends its claim: with `store.complete` (the outcome and the end
of the claim in one write), or `store.release` where it has nothing to write.
An outcome the store cannot take now (the database away, a full disk) is
written again and again until it can: the claim stays this sender's (the
worker renews it), so the phone's next texts wait only for the store, never
for a lease to run out, and nothing learnt from Twilio is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot import undeliverable
from bot.errors import StoreError
from bot.jobs import iso_utc
from bot.messages import OPTED_OUT_CODE, OPTED_OUT_REASON, TWILIO_STATUSES, opted_out
from bot.phones import redact_phone
from sender.mms import MediaUrl, hold_seconds, media_links, still_fetching, with_fetched_media
from sender.pacing import Backoff, SendSlots
from sender.transports import Accepted, SendFailed, Transport
from store import Message, Store
from store.undeliverable import mark_undeliverable

log = logging.getLogger("qdn.sender")

MAX_LOOKUPS = 5
# Between tries at recording an outcome the store refused: doubling from the first to the last.
RECORD_RETRY_SECONDS = (0.5, 5.0)
UNKNOWN_REASON = (
    "the send timed out after the request may have reached Twilio, and Twilio has no matching message; "
    "check with the customer before sending it again"
)


# "No such message at Twilio" is trusted -- and the text sent again -- only when all of these hold:
# - at least NEVER_SENT_AFTER has passed since the attempt started: far longer than any request
#   Twilio could still be working on (ours gave up after 15 s), so a text it created is listed;
# - Twilio listed every text to the phone (To, and From when we send from one number; no date
#   filter, since a queued text has no DateSent) in one page that was not full (Listing.complete);
# - none of them was created from LOOKUP_SLACK before the attempt on, except texts whose SID this
#   store already holds for another message (they are ours, accounted for) -- a text in that span
#   we cannot account for, whatever its body (Twilio may rewrite a body: smart encoding), may be
#   this one, and the text is left `unknown`.
NEVER_SENT_AFTER = timedelta(minutes=2)
NEVER_REACHED_TWILIO = "the send timed out, and Twilio lists no such text: it never reached Twilio; sent again"


def _due(message: Message) -> str:
    return message.get("next_attempt_at") or message["created_at"]


def _settled(message: Message) -> Message:
    # None rather than dropped: the row says plainly that no send is out and no retry waits.
    return {**message, "send_started_at": None, "next_attempt_at": None}


def _mark_started(message: Message, started: str) -> Message | None:
    """The stored row marked as being sent -- durably, before the request -- if it still may be.

    Re-checked on the row as stored: after a lease ran out, another sender may have sent it
    or scheduled a retry meanwhile."""
    if message["status"] != "pending" or message.get("send_started_at") or _due(message) > started:
        return None
    return {**message, "send_started_at": started, "attempts": message.get("attempts", 0) + 1}


class Attempts:
    """Moves claimed texts on: send, look up, retry later, or settle."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        rate: SendSlots,
        give_up: timedelta,
        backoff: Backoff,
        settle_seconds: float,
        now: Callable[[], datetime],
        media_url: MediaUrl | None = None,
        dispatchers: tuple[str, ...] = (),
        sender: str = "console",
    ) -> None:
        self.store = store
        self.dispatchers = dispatchers  # told when a phone turns out unable to take texts
        self.sender = sender  # what their texts record as `from`
        self.transport = transport
        self.rate = rate
        self.give_up = give_up
        self.backoff = backoff
        # Wait at least this long after an unsure send before looking it up, so Twilio has it listed.
        self.settle_seconds = settle_seconds
        self.now = now
        self.media_url = media_url  # links to pictures, for MMS (None: this sender sends none)

    async def run(self, message: Message, sending: Callable[[], None]) -> Message:
        """Move one claimed text on as far as it can go now; returns the row as stored.

        `message` is the row as claimed. `sending()` is called once the attempt has its
        rate slot, just before it marks the row: from there on it should be let finish.
        Every write re-checks the stored row, so a claim that outlived its lease can
        delay a text but never send it twice.
        """
        now = self.now()
        if message.get("send_started_at"):
            return await self._reconcile(message, now)
        phone_state = await self.store.get_phone(message["to"])  # is_opted_out reads this key: one read
        if phone_state.get("opted_out"):
            log.info("message %s to %s skipped: opted out", message["id"], redact_phone(message["to"]))
            return await self._settle(
                message, unsent=True, status="skipped", error_code=None, error_message=OPTED_OUT_REASON
            )
        if (cannot := undeliverable.skip_reason(phone_state)) is not None:  # a landline: not tried again
            log.info("message %s to %s skipped: %s", message["id"], redact_phone(message["to"]), cannot)
            if undeliverable.untold(phone_state, message):  # a text of another job: its dispatchers hear too
                await self._mark_undeliverable(message, (undeliverable.mark(phone_state) or {}).get("code"))
            return await self._settle(message, unsent=True, status="skipped", error_code=None, error_message=cannot)
        if now - datetime.fromisoformat(message["created_at"]) >= self.give_up:
            hours = self.give_up.total_seconds() / 3600
            reason = f"not sent within {hours:g} hours (SEND_GIVE_UP_HOURS)"
            if message.get("error_message"):
                reason += f"; last error: {message['error_message']}"
            log.warning("message %s to %s: gave up", message["id"], redact_phone(message["to"]))
            return await self._settle(message, unsent=True, status="failed", error_message=reason)

        inbound = None
        if message.get("media_wait_sid"):
            inbound = await self.store.find_message_by_sid(message["media_wait_sid"])
            if still_fetching(inbound):  # its pictures are still coming: look again shortly
                return await self._later(message, hold_seconds(message, now))
        # Made before anything is marked: a link that cannot be made leaves no attempt behind.
        links = media_links(with_fetched_media(message, inbound), self.media_url, now.timestamp())

        await self.rate.wait()
        sending()
        started = iso_utc(self.now())
        marked = await self.store.update_message(
            message["id"], lambda m: _mark_started(with_fetched_media(m, inbound), started)
        )
        if marked.get("send_started_at") != started:
            await self.store.release(message["id"])
            return marked  # someone else moved it on meanwhile
        try:
            accepted = await self.transport.send(
                marked["to"], marked["body"], media_urls=links, message_id=marked["id"]
            )
        except SendFailed as failure:
            return await self._failed_send(marked, failure)
        sid = f" ({accepted.sid})" if accepted.sid else ""  # the console transport has no SID
        log.info("message %s to %s: %s%s", marked["id"], redact_phone(marked["to"]), accepted.status, sid)
        return await self._settle_as_twilio_has_it(marked, accepted)

    async def after_error(self, message: Message) -> Message:
        """A store or programming error: keep the row pending and come back later, never spin."""
        return await self._later(message, self.backoff.delay(message.get("attempts", 0) + 1))

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

        return await self._complete(message, change)

    async def _later(self, message: Message, delay: float, **changes: Any) -> Message:
        """Keep the row pending, due again after `delay` seconds (never past the give-up time)."""
        due = self.now() + timedelta(seconds=delay)
        give_up_at = datetime.fromisoformat(message["created_at"]) + self.give_up
        due_iso = iso_utc(min(due, give_up_at))

        def change(current: Message) -> Message | None:
            if current["status"] != "pending":
                return None
            return {**current, "next_attempt_at": due_iso, **changes}

        return await self._complete(message, change)

    async def _complete(self, message: Message, change: Callable[[Message], Message | None]) -> Message:
        """`store.complete`, tried again while the store cannot write, until it can (see the module's doc).

        Safe to repeat: a write that did land before its answer was lost is re-checked by `change`
        (a settled row is left alone; a retry's due time is set again)."""
        pause, longest = RECORD_RETRY_SECONDS
        failing = False
        while True:
            try:
                outcome = await self.store.complete(message["id"], change)
            except StoreError as error:
                if not failing:
                    log.warning(
                        "message %s: outcome not recorded (%s); keeping its claim, trying again", message["id"], error
                    )
                failing = True
                await asyncio.sleep(pause)
                pause = min(longest, pause * 2)
                continue
            if failing:
                log.info("message %s: outcome recorded", message["id"])
            return outcome

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
        if failure.code == OPTED_OUT_CODE:  # they texted STOP: later texts to them are skipped
            # Recorded before the claim ends, so the phone's next text cannot slip out meanwhile.
            source = f"Twilio error {OPTED_OUT_CODE} on a send"
            await self.store.update_phone(message["to"], lambda state: opted_out(state, iso_utc(self.now()), source))
            log.info("%s opted out (%s)", who, source)
        if undeliverable.reason_for(failure.code):  # a landline: marked, the dispatchers told to call
            await self._mark_undeliverable(message, failure.code)
        # Only the code: Twilio's message may quote the full number (it is kept in the message log).
        log.warning("message %s to %s failed: Twilio error %s", message["id"], who, failure.code)
        return await self._settle(message, status="failed", error_code=failure.code, error_message=failure.message)

    async def _mark_undeliverable(self, message: Message, code: int | None) -> None:
        now = iso_utc(self.now())
        await mark_undeliverable(self.store, message, code, now, dispatchers=self.dispatchers, sender=self.sender)

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
        if now - started < NEVER_SENT_AFTER and self.transport.lists_texts:
            # Too early to trust an absence (NEVER_SENT_AFTER): look again once it is not.
            wait = (started + NEVER_SENT_AFTER - now).total_seconds()
            return await self._later(message, wait, lookups=lookups)
        if await self._never_reached_twilio(message, started):
            log.warning("message %s: never reached Twilio (not listed there); sending it again", message["id"])
            return await self._later(
                message, 0, send_started_at=None, lookups=0, error_code=None, error_message=NEVER_REACHED_TWILIO
            )
        log.warning("message %s: outcome unknown; left for a person", message["id"])
        return await self._settle(message, status="unknown", error_message=UNKNOWN_REASON)

    async def _never_reached_twilio(self, message: Message, started: datetime) -> bool:
        """Whether Twilio's list proves the attempt created no text (NEVER_SENT_AFTER says when it does)."""
        try:
            listing = await self.transport.texts_since(message["to"], started)
        except SendFailed:
            return False
        if listing is None or not listing.complete:
            return False
        for text in listing.texts:
            if not text.sid or await self.store.find_message_by_sid(text.sid) is None:
                return False  # a text in the span we cannot account for: it may be this one
        return True
