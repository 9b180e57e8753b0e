"""The picture fetcher: a loop per business, beside its sender (docs/pictures.md, "Inbound picture" 3-4).

The webhook only names a text's pictures (the inbound row's `media_fetch` items,
due at once); this loop fetches them, outside Twilio's 15 s, as durable work:

1. It claims a due row with `update_message` -- re-checking `media_due_at <= now`,
   moving it LEASE_SECONDS ahead and counting the try in `media_attempts` -- so two
   fetchers (or a restart) never work on one row at once, and a fetcher that dies
   leaves it to the next once the lease runs out. While the fetch runs, the lease is
   renewed every quarter of it (sender/leases.py), so a slow fetch stays its fetcher's.
2. It fetches every item at once (sender/media/download.py: Twilio's hosts only, the
   business's credentials, at most MAX_BYTES, checked by the bytes) and keeps each
   picture with `save_media` (durable before the row says so).
3. One more `update_message` settles the row (sender/media/rows.py): kept items to `media`, given-up
   ones to `media_failed`, retryable ones left in `media_fetch`, due again after backoff
   (given up after MAX_TRIES). The sender holds a relay naming the pictures until then.
4. Then Twilio's copy of each kept picture is deleted (sender/media/delete.py).

Wake-up: a text with pictures stored wakes it at once (Store.wait_for_media: TinyDB in
this process, PostgreSQL in every process by NOTIFY); it also looks at `next_media_due`
every POLL_SECONDS (a retry's backoff ending) and at once when a fetch ends. It does not
wait on `Store.wait_for_work`: that flag is the sender's, cleared by whichever waiter wakes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from typing import Any

import httpx

from bot.errors import StoreError, StoreUnavailable
from bot.jobs import iso_utc
from bot.media import MAX_PER_TEXT
from bot.media_sources import fetch_origins
from config.checks import LOOPBACK_HOSTS
from config.settings import Settings
from sender.clock import Clock, utc_now
from sender.leases import renewed
from sender.loop import run_loop
from sender.media.delete import TwilioMediaDeleter
from sender.media.download import TIMEOUT_SECONDS, FetchFailed, credentials, download
from sender.media.rows import Outcome, claimed, handed_back, settled
from sender.pacing import Backoff
from sender.wakeups import first_of
from store import Message, Store
from store.base import MediaFile

log = logging.getLogger("qdn.media")

LEASE_SECONDS = 20.0  # how long a dead fetcher holds a row; a live one renews its claim while it fetches
POLL_SECONDS = 1.0  # a retry waits at most this long past its backoff for the fetcher to notice it
CONCURRENCY = 4  # rows fetched at once (each up to 10 pictures): a slow one does not hold up the rest
STOP_GRACE_SECONDS = 5.0


class MediaFetcher:
    """Fetches one business's pictures; `start()` / `stop()`, or `async with running(fetcher)`."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        backoff: Backoff | None = None,
        now: Clock = utc_now,
        poll_seconds: float = POLL_SECONDS,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self.auth = credentials(settings)
        self.deleter = TwilioMediaDeleter(settings)
        self.backoff = backoff or Backoff(base=4.0, cap=60.0)  # 5 tries within about a minute
        self.now = now
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.away_pause_seconds = 2.0  # after a StoreUnavailable: one warning line, then a pause
        self.stop_grace_seconds = STOP_GRACE_SECONDS  # how long a stop lets fetches in flight finish
        self._tasks: dict[asyncio.Task[None], tuple[str, list[str]] | None] = {}  # in flight -> (row id, leases)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None

    # -- one row ----------------------------------------------------------------

    async def fetch_row(self, row: Message) -> Message | None:
        """Claim `row` and fetch its pictures; the row as settled, None if it was not ours to take."""
        now = self.now()
        now_iso, lease = iso_utc(now), iso_utc(now + timedelta(seconds=LEASE_SECONDS))
        won: list[bool] = []

        def claim(current: Message) -> Message | None:
            changed = claimed(current, now_iso, lease)
            won.append(changed is not None and changed.get("media_due_at") == lease)
            return changed

        row = await self.store.update_message(row["id"], claim)
        if not won or not won[-1]:
            return None
        leases = [lease]  # the claim's marks: `media_due_at` as this fetcher wrote it, the newest last
        task = asyncio.current_task()
        if task in self._tasks:
            self._tasks[task] = (row["id"], leases)  # a stop hands the claim back
        async with renewed(partial(self._renew, row["id"], leases), LEASE_SECONDS, f"message {row['id']} pictures"):
            outcomes = await self._fetch_items(row)
        retry_at = iso_utc(self.now() + timedelta(seconds=self.backoff.delay(row["media_attempts"])))
        applied: list[bool] = []

        def record(current: Message) -> Message | None:
            changed = settled(current, ours(current, leases), outcomes, retry_at)
            applied.append(changed is not None)
            return changed

        after = await self.store.update_message(row["id"], record)
        if not applied or not applied[-1]:
            log.warning("message %s: its picture fetch outlived its claim; left to the fetcher that took it", row["id"])
            return after
        kept = [item for item in row["media_fetch"] if outcomes[item["id"]].verdict == "kept"]
        self._log(row["id"], after, kept)
        await asyncio.gather(*(self.deleter.delete(item["url"]) for item in kept if self.deleter.deletes(item["url"])))
        return after

    async def _renew(self, row_id: str, leases: list[str]) -> bool:
        """Move the row's claim LEASE_SECONDS ahead, if it is still ours; whether it is."""
        until = iso_utc(self.now() + timedelta(seconds=LEASE_SECONDS))
        leases.append(until)  # before the write: whatever it leaves in the row is recognised as ours
        moved: list[bool] = []

        def renew(current: Message) -> Message | None:
            moved.append(current.get("media_due_at") in leases[:-1])
            return {**current, "media_due_at": until} if moved[-1] else None

        await self.store.update_message(row_id, renew)
        if moved and moved[-1]:
            del leases[:-1]
            return True
        return False

    async def _fetch_items(self, row: Message) -> dict[str, Outcome]:
        room = max(0, MAX_PER_TEXT - len(row.get("media") or []))  # the webhook names 10 at most; never more
        items = row["media_fetch"]
        tried = await asyncio.gather(*(self._one(row, item) for item in items[:room]))
        outcomes = {item["id"]: outcome for item, outcome in zip(items, tried, strict=False)}
        for item in items[room:]:
            outcomes[item["id"]] = Outcome("failed", f"more than {MAX_PER_TEXT} pictures in one text")
        return outcomes

    def _origins(self, url: str) -> list[str]:
        """Where `url` may be fetched from besides Twilio: TWILIO_API_BASE_URL, and in local use the
        loopback address `qdn chat /photo` serves from (bot.media_sources.fetch_origins)."""
        api, local_use = self.settings.twilio_api_base_url, not self.settings.twilio_live
        return fetch_origins(url, api_base_url=api, local_use=local_use, loopback_hosts=LOOPBACK_HOSTS)

    async def _one(self, row: Message, item: dict[str, Any]) -> Outcome:
        url = item["url"]
        try:
            picture = await download(self.client, url, auth=self.auth, extra=self._origins(url))
        except FetchFailed as failure:
            return Outcome("retry" if failure.retry else "failed", failure.reason)
        kept = MediaFile(item["id"], picture.content_type, picture.data, row["id"], iso_utc(self.now()))
        try:
            await self.store.save_media(kept)
        except StoreError as error:  # the database away, a full disk: the picture is fetched again later
            return Outcome("retry", f"not saved: {error}")
        except ValueError as error:  # the store keeps no such id: trying again gives the same
            return Outcome("failed", f"not kept: {error}")
        return Outcome("kept", content_type=kept.content_type, size=kept.size)

    def _log(self, row_id: str, settled: Message, ours: list[dict[str, Any]]) -> None:
        left = len(settled.get("media_fetch") or [])
        failed = settled.get("media_failed") or []
        log.info("message %s: %d picture(s) kept, %d to try again, %d given up", row_id, len(ours), left, len(failed))
        for item in failed:
            log.info("message %s: picture %s given up: %s", row_id, item["id"], item["error"])

    # -- the loop -------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="qdn-media-fetch")

    async def stop(self) -> None:
        """Stop looking for work; let fetches in flight finish (bounded), hand back the claims of the rest."""
        self._stopping = True
        self._wakeup.set()
        if self._runner is not None:
            await self._runner
        held = dict(self._tasks)
        if held:
            await asyncio.wait(held, timeout=self.stop_grace_seconds)
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        for task, claim in held.items():
            if task.cancelled() and claim is not None:
                await self._hand_back(*claim)
        await self.client.aclose()
        await self.deleter.close()

    async def run_due(self) -> None:
        """Fetch everything due now, and return once done (for tests and `qdn` commands)."""
        while await self._take_due() or self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        await run_loop(
            "media fetcher", log, self._step, sleep=self._sleep, stopping=lambda: self._stopping,
            away_seconds=self.away_pause_seconds, error_seconds=5.0,
        )  # fmt: skip

    async def _step(self) -> float:
        self._wakeup.clear()  # before looking, so no wake-up in between is lost
        return 0.0 if await self._take_due() >= self.concurrency else self.poll_seconds

    async def _sleep(self, timeout: float) -> None:
        """Until a fetch of ours ends, the store says a text with pictures was stored, or `timeout` passes."""
        try:
            await first_of(self._wakeup, self.store.wait_for_media(timeout), timeout)
        except Exception:  # a store that cannot wait (the database away): pause all the same, never spin
            await asyncio.sleep(timeout)

    async def _take_due(self) -> int:
        """Start fetching the rows due now, into the free slots; how many were started."""
        free = self.concurrency - len(self._tasks)
        now = iso_utc(self.now())
        due = await self.store.next_media_due() if free > 0 else None
        if due is None or due > now:
            return 0
        rows = await self.store.due_media(now, free)
        for row in rows:
            task = asyncio.create_task(self._attempt(row))
            self._tasks[task] = None
        return len(rows)

    async def _attempt(self, row: Message) -> None:
        this = asyncio.current_task()
        woken = False
        try:
            # Woken at once only after real work (a slot freed, maybe more due): a row lost to another
            # fetcher, or an error, waits for the next look rather than spin.
            woken = await self.fetch_row(row) is not None
        except asyncio.CancelledError:
            raise
        except StoreUnavailable as error:  # the claim's lease runs out, then it is fetched again
            log.warning("message %s: pictures not settled (%s); tried again later", row["id"], error)
        except Exception:
            log.exception("message %s: error fetching its pictures; tried again when its claim ends", row["id"])
        finally:
            self._tasks.pop(this, None)  # type: ignore[arg-type]
            if woken:
                self._wakeup.set()

    async def _hand_back(self, row_id: str, leases: list[str]) -> None:
        """Make a row whose fetch was cut short due again now, so no one waits out its lease."""
        now = iso_utc(self.now())
        try:
            await self.store.update_message(row_id, lambda current: handed_back(current, ours(current, leases), now))
        except Exception:  # the store is going away too: the lease runs out instead
            log.warning("message %s: could not hand back its picture fetch", row_id)


def ours(row: Message, leases: list[str]) -> str:
    """The mark of this fetcher's claim the row carries (a renewal may have moved it), else the newest."""
    due = row.get("media_due_at")
    return due if due in leases else leases[-1]
