"""The TinyDB deployment: a folder per business, and a small registry file beside the default store.

Layout, for DATABASE_URL=tinydb:///data/qdn.json::

    data/qdn.json ...                 the `default` business's store, as before (store/tinydb/store.py)
    data/qdn.businesses.json          the registry: every other business's record
    data/qdn.businesses/acme/qdn.json the `acme` business's store (same layout, its own journal and lock)

A business is a whole store of its own, so nothing of one can be read through
another's indexes, job ids count from 1001 in each, and a single-business
install keeps exactly the files it had. The registry is a few records changed
by an administrator now and then: rewritten whole (temp file, fsync, rename)
under an asyncio lock, read from memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from bot.errors import NotFound, StoreCorrupt
from store import codec
from store.base import Job, Store
from store.deployment import DEFAULT_BUSINESS, BusinessRecord, Deployment, check_unclaimed
from store.files import read_json, write_atomically
from store.login_codes import MemoryLoginCodes
from store.throttles import MissWindows, seconds_of
from store.tinydb.group_commit import GroupCommit
from store.tinydb.store import TinyDBStore

log = logging.getLogger("qdn.store")
SYNC_THREADS = 8  # journals synced at once in one round (group_commit.py); idle threads cost nothing


class TinyDBDeployment(Deployment):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.registry_path = path.with_name(f"{path.stem}.businesses.json")
        self.folder = path.with_name(f"{path.stem}.businesses")
        self._stores: dict[str, TinyDBStore] = {}
        self._records: dict[str, BusinessRecord] = {}
        self._writing = asyncio.Lock()
        # One fdatasync thread and shared rounds for every business's journal: concurrent webhooks to
        # different businesses share flushes as webhooks to one do (store/tinydb/group_commit.py).
        self._syncer = ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="tinydb-sync")
        self._commits = GroupCommit(self._syncer)
        self._misses = MissWindows()  # throttled misses (count_miss): one process serves, so memory holds them
        self._login_codes = MemoryLoginCodes()  # the inbox's (store/login_codes.py): memory too, for the same reason

    def _open_store(self, path: Path) -> Awaitable[TinyDBStore]:
        return TinyDBStore(path, self._commits).open()

    @property
    def description(self) -> str:
        return "tinydb"

    def _adopt(self, slug: str, store: TinyDBStore) -> None:
        self._stores[slug] = store
        store.core.token_elsewhere = partial(self._token_elsewhere, slug)  # type: ignore[method-assign]

    def _token_elsewhere(self, slug: str, token: str) -> bool:
        # Another store's dict read without its mutex: one membership test, atomic under the GIL.
        return any(token in other.core.index.by_token for key, other in self._stores.items() if key != slug)

    def stores(self) -> dict[str, Store]:
        return dict(self._stores)

    def _business_path(self, slug: str) -> Path:
        return self.folder / slug / self.path.name

    async def open(self) -> TinyDBDeployment:
        """Open the default store (its lock keeps a second process out), then every business's."""
        self._adopt(DEFAULT_BUSINESS, await self._open_store(self.path))
        data = await asyncio.to_thread(read_json, self.registry_path)
        records = data.get("businesses", {}) if isinstance(data, dict) else None
        if data is not None and not isinstance(records, dict):
            raise StoreCorrupt(f"{self.registry_path} is not a QDN business registry; restore it or move it away")
        self._records = dict(records or {})
        try:
            for slug in self._records:
                self._adopt(slug, await self._open_store(self._business_path(slug)))
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        stores, self._stores = list(self._stores.values()), {}
        try:
            for store in stores:
                await store.close()
        finally:
            self._syncer.shutdown(wait=True)

    async def businesses(self) -> list[BusinessRecord]:
        return list(self._records.values())

    async def _save(self, records: dict[str, BusinessRecord]) -> None:
        self.registry_path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(write_atomically, self.registry_path, codec.dumps({"businesses": records}))
        self._records = records

    async def add_business(self, record: BusinessRecord, *, reserved: Iterable[str] = ()) -> BusinessRecord:
        async with self._writing:
            check_unclaimed(record, self._records.values(), reserved)
            # The store first: a registry entry never names a store that could not be opened.
            store = await self._open_store(self._business_path(record["slug"]))
            try:
                await self._save({**self._records, record["slug"]: record})
            except BaseException:
                await store.close()
                raise
            self._adopt(record["slug"], store)
            log.info("business %r added", record["slug"])
            return record

    async def update_business(
        self, slug: str, change: Callable[[BusinessRecord], BusinessRecord], *, reserved: Iterable[str] = ()
    ) -> BusinessRecord:
        async with self._writing:
            if slug not in self._records:
                raise NotFound(f"No business {slug!r}.")
            record = change(self._records[slug])
            others = [other for key, other in self._records.items() if key != slug]
            check_unclaimed(record, others, reserved)
            await self._save({**self._records, slug: record})
            return record

    async def count_miss(self, key: str, now: str, window_seconds: float, limit: int) -> float:
        return self._misses.count(key, seconds_of(now), window_seconds, limit)

    async def miss_retry_after(self, key: str, now: str) -> float:
        return self._misses.retry_after(key, seconds_of(now))

    async def put_login_code(self, phone: str, code_hash: str, now: str, expires_at: str) -> None:
        self._login_codes.put(phone, code_hash, now, expires_at)

    async def use_login_code(self, phone: str, code_hash: str, now: str, tries: int) -> bool:
        return self._login_codes.use(phone, code_hash, now, tries)

    async def find_job_by_token(self, token: str) -> tuple[str, Job] | None:
        for slug, store in self._stores.items():
            if token in store.core.index.by_token:  # memory only: no await per business
                job = await store.find_job_by_token(token)
                if job is not None:
                    return slug, job
        return None

    async def business_of_sid(self, twilio_sid: str) -> str | None:
        for slug, store in self._stores.items():
            if twilio_sid in store.core.index.by_sid:
                return slug
        return None
