"""The PostgreSQL driver, behind one seam: a pool, transactions, LISTEN/NOTIFY, and the errors it raises.

    database = await Database.open("postgresql://qdn:pw@db:5432/qdn")
    async with database.transaction() as conn:      # one transaction; commits on leaving
        row = await conn.fetchrow("SELECT ... WHERE business = $1", slug)

Only this module imports asyncpg. The rest of store/postgres/ writes plain SQL with
`$n` parameters against the `Connection` protocol below, so a later measurement could
put another driver behind the same four methods.

Time limits keep a request well inside Twilio's 15 s: connecting 3 s, a statement 5 s,
waiting for a pooled connection 5 s. A lost or refused connection anywhere in a store
call is StoreUnavailable (a StoreError: 503 with Retry-After); the pool opens a fresh
connection on the next acquire once the server is back, so the service heals by itself.

Senders and event deliverers wait on one dedicated listening connection per Database:
writes `pg_notify(channel, business)` in their transaction, so the wake-up is sent at
commit, to every process. If that connection drops, it is opened again in the background,
and every waiter is woken once (a notification may have been missed meanwhile).

The webhooks' one-statement writes (store/postgres/inbound.py) notify after their commit
instead (`notify_later`): a NOTIFY in a transaction takes a database-wide lock at commit and
holds it while the commit's WAL is flushed, so every such write commits one after the other,
never two with one flush (issue #30, docs/performance.md). The wake-ups a process owes are
sent together, in a statement of their own (no WAL to flush), NOTIFY_AFTER_SECONDS after the
first: at most that much later.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from bot.errors import StoreError, StoreUnavailable
from store import codec
from store import shown_url as shown

log = logging.getLogger("qdn.store")

CONNECT_TIMEOUT = 3.0
COMMAND_TIMEOUT = 5.0
ACQUIRE_TIMEOUT = 5.0
POOL_MIN, POOL_MAX = 1, 10
RELISTEN_SECONDS = 1.0
KEEPALIVE_SECONDS = 30.0  # the listener is asked a question this often: a silently dropped link shows up
HOUSEKEEPING_SECONDS = 3600.0
NOTIFY_AFTER_SECONDS = 0.05  # wake-ups owed after a commit (notify_later) wait this long for company

# Sent with each pooled connection's start-up (no round trip of their own). Generic plans: every statement
# here is a parameterized lookup on `business`-led keys, prepared once per connection (asyncpg's cache),
# whose best plan does not depend on the values; re-planning each call (PostgreSQL's default while its
# estimate of a custom plan is lower) cost more than running them for the webhook's one-statement read
# and write (store/postgres/inbound.py): ~0.2 and ~0.3 ms of planning against ~0.05 and ~0.2 ms of
# execution (EXPLAIN ANALYZE on the bench's 10k-job copy). docs/performance.md, "PostgreSQL (#15)".
SESSION_SETTINGS = {"plan_cache_mode": "force_generic_plan"}

WORK_CHANNEL = "qdn_work"  # a pending text was queued; payload: the business
EVENTS_CHANNEL = "qdn_events"  # a dashboard event was queued; payload: the business
CHANGES_CHANNEL = "qdn_changes"  # a job or message was written (a trigger, 0009_changes.sql); payload: the business
MEDIA_CHANNEL = "qdn_media"  # a text with pictures to fetch was stored (a trigger, 0003_media.sql); payload: ditto

Row = Any  # a result row: read by column name (row["doc"]) or position (row[0])


class Connection(Protocol):
    """What store/postgres/ uses of a connection (asyncpg's names and `$n` parameters)."""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str: ...

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Row]: ...

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Row | None: ...

    async def fetchval(self, query: str, *args: Any, timeout: float | None = None) -> Any: ...


# Errors that leave a connection unusable: it is dropped, and the pool's others with it.
_BROKEN: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, a name that does not resolve; TimeoutError is one too
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or is gone
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.exceptions.InternalClientError,  # e.g. the server's goodbye to an idle connection, read mid-query
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up, cancelled
)
# Errors that mean "the database cannot be reached or used right now", not "this request is wrong".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    *_BROKEN,
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby, mid-failover
    asyncpg.exceptions.SerializationError,  # retry later: the client gets 503 and Retry-After
    asyncpg.exceptions.DeadlockDetectedError,
)


# The SQLSTATE of qdn_write_conflict() (migrations/0004_write_conflict.sql): a one-statement write found a
# row changed since it was read, and rolled back whole; the caller reads again and retries.
WRITE_CONFLICT = "QD409"


def is_write_conflict(error: BaseException) -> bool:
    """Whether `error` is a one-statement write's conflict (WRITE_CONFLICT), not a real failure."""
    return isinstance(error, asyncpg.PostgresError) and getattr(error, "sqlstate", None) == WRITE_CONFLICT


def unavailable(error: BaseException) -> StoreUnavailable:
    """The StoreError a driver or network error becomes (its message names no secret)."""
    detail = str(error).strip() or type(error).__name__
    return StoreUnavailable(f"PostgreSQL is unavailable ({type(error).__name__}: {detail})")


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn a lost connection (or a refused one) inside the block into StoreUnavailable."""
    try:
        yield
    except _UNAVAILABLE as error:
        raise unavailable(error) from error


async def _init_connection(conn: Any) -> None:
    # `json` values in and out as Python values, with orjson (store/codec.py).
    await conn.set_type_codec(
        "json", encoder=lambda value: codec.dumps(value).decode(), decoder=codec.loads, schema="pg_catalog"
    )


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[Connection]:
    """One connection of its own, outside any pool (`qdn migrate`)."""
    async with translated():
        try:
            conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
        except asyncpg.PostgresError as error:  # a wrong password, no such database ...
            raise StoreError(f"PostgreSQL at {shown(url)} refused the connection: {error}") from error
        try:
            await _init_connection(conn)
            yield conn
        finally:
            await conn.close()


async def _keep_session(conn: Any) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own (it rolls back an open transaction).

    Pooled connections change no session state -- no SET, no LISTEN (the listener has its own
    connection), the migrations' advisory lock released by its holder -- so the default reset
    query (RESET ALL; UNLISTEN *; ...) would only cost a round trip on every store call.
    """
    return None


def _drop(conn: Any) -> None:
    """Close a pooled connection at once, without a word to the server (which may not be answering)."""
    with suppress(asyncpg.InterfaceError):  # the pool took it back already (it saw the connection close)
        conn.terminate()


class Database:
    """One pool and one listening connection for a DATABASE_URL, shared by every business's store."""

    def __init__(self, url: str, housekeeping: Callable[[Connection], Awaitable[None]] | None = None) -> None:
        self.url = url
        self._housekeeping = housekeeping  # run now and then (forgetting old rows), by every process
        self._pool: Any = None
        self._listener: Any = None
        self._listening: asyncio.Task[None] | None = None
        self._closing = False
        # channel -> business -> callbacks run when a notification names it
        self._subscribers: dict[str, dict[str, list[Callable[[], None]]]] = {
            channel: {} for channel in (WORK_CHANNEL, EVENTS_CHANNEL, MEDIA_CHANNEL, CHANGES_CHANNEL)
        }
        self._owed: set[tuple[str, str]] = set()  # (channel, business) to notify: notify_later
        self._notifying: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: Callable[[Connection], Awaitable[object]],
        housekeeping: Callable[[Connection], Awaitable[None]] | None = None,
    ) -> Database:
        """Connect, bring the schema up to date with `migrate` (store/postgres/migrate.py's), start listening.

        The migrations are passed in, not imported: they run over this module's connections, so
        importing them here would make the two modules import each other.
        """
        database = cls(url, housekeeping)
        try:
            async with translated():
                database._pool = await asyncpg.create_pool(
                    url,
                    min_size=POOL_MIN,
                    max_size=POOL_MAX,
                    timeout=CONNECT_TIMEOUT,
                    command_timeout=COMMAND_TIMEOUT,
                    init=_init_connection,
                    reset=_keep_session,
                    server_settings=SESSION_SETTINGS,
                )
                async with database.connection() as conn:
                    await migrate(conn)
                await database._listen()
            database._listening = asyncio.create_task(database._keep_listening(), name="qdn-pg-listener")
        except asyncpg.PostgresError as error:  # a wrong password, no such database, no permission ...
            await database.close()
            raise StoreError(f"PostgreSQL at {shown(url)} refused to open the store: {error}") from error
        except BaseException:
            await database.close()
            raise
        return database

    async def close(self) -> None:
        self._closing = True
        if self._notifying is not None and not self._notifying.done():
            with suppress(Exception):  # the wake-ups owed, before the pool goes (they wait on it)
                await asyncio.wait_for(asyncio.shield(self._notifying), COMMAND_TIMEOUT)
        if self._listening is not None:
            self._listening.cancel()
            with suppress(asyncio.CancelledError):
                await self._listening
        if self._listener is not None:
            with suppress(Exception):
                await asyncio.wait_for(self._listener.close(), CONNECT_TIMEOUT)
            self._listener = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), COMMAND_TIMEOUT)
            except _UNAVAILABLE:  # TimeoutError too: an OSError
                pool.terminate()

    # -- using it --------------------------------------------------------------

    @asynccontextmanager
    async def connection(self, *, transaction: bool = False) -> AsyncIterator[Connection]:
        """A pooled connection, for statements that need no transaction of their own (see `transaction`)."""
        pool = self._pool
        if pool is None:
            raise StoreError("the PostgreSQL store is closed")
        # A connection in the pool's queue is handed over without waiting (one not open yet is opened,
        # within CONNECT_TIMEOUT), so there is no wait to bound: no timer then (asyncpg's timeout costs
        # two a call, on acquiring and on releasing; issue #30). Only an acquire that may wait for
        # another's release gets ACQUIRE_TIMEOUT. (asyncpg's private queue would tell this ~2.5 us sooner;
        # the public count is kept: a private name can change under us in any release.)
        timeout = ACQUIRE_TIMEOUT if pool.get_idle_size() == 0 else None
        try:  # translated(), written out: one generator fewer a store call (~1.3 us)
            conn = await pool.acquire(timeout=timeout)
            failed = True
            try:
                if transaction:
                    started = conn.transaction()
                    await started.start()
                    try:
                        yield conn
                    except _BROKEN:
                        # No ROLLBACK on a broken connection: to a server that stopped answering (a
                        # partition) it would wait out another COMMAND_TIMEOUT, and a webhook Twilio's
                        # 15 s. The connection is dropped below; the server rolls back what it leaves.
                        raise
                    except BaseException:
                        await started.rollback()
                        raise
                    await started.commit()
                else:
                    yield conn
                failed = False
            except _BROKEN:
                # A server that went away (a restart, a failover) leaves every idle connection dead:
                # replace them all now, so only this call fails, not the next one on each of them.
                _drop(conn)
                await pool.expire_connections()
                raise
            finally:
                # A block that failed (cancelled mid-statement, say) may leave a statement being cancelled,
                # which the release waits for: at most ACQUIRE_TIMEOUT, as when every acquire had that
                # timeout (asyncpg's release inherits the acquire's). Otherwise the acquire's, if any.
                await pool.release(conn, timeout=ACQUIRE_TIMEOUT if failed else None)
        except _UNAVAILABLE as error:
            raise unavailable(error) from error

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A pooled connection inside one transaction: committed when the block ends, rolled back if it raises."""
        return self.connection(transaction=True)

    # -- LISTEN/NOTIFY ---------------------------------------------------------------

    def subscribe(self, channel: str, business: str, callback: Callable[[], None]) -> None:
        """Call `callback` (on the event loop) whenever a committed write notifies `channel` for `business`."""
        self._subscribers[channel].setdefault(business, []).append(callback)

    def unsubscribe(self, channel: str, business: str, callback: Callable[[], None]) -> None:
        callbacks = self._subscribers[channel].get(business, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def notify_later(self, channel: str, business: str) -> None:
        """Notify `channel` for `business`, as a write's own `pg_notify` would, once that write has
        committed (call it after): soon, with the other wake-ups this process owes by then."""
        self._owed.add((channel, business))
        if self._notifying is None or self._notifying.done():
            # A context of its own: it sends for every request, it is none's (nor counted as one's trips).
            self._notifying = asyncio.get_running_loop().create_task(
                self._send_owed(), name="qdn-pg-notify", context=contextvars.Context()
            )

    async def _send_owed(self) -> None:
        while self._owed:
            await asyncio.sleep(0 if self._closing else NOTIFY_AFTER_SECONDS)
            owed, self._owed = sorted(self._owed), set()
            try:
                async with self.connection() as conn:
                    await conn.execute(
                        "SELECT pg_notify(c, b) FROM unnest($1::text[], $2::text[]) AS owed (c, b)",
                        [channel for channel, _ in owed],
                        [business for _, business in owed],
                    )
            except StoreError as error:
                # The other processes learn of it when their listeners reconnect (they wake everyone);
                # this one's waiters are woken now.
                log.warning("PostgreSQL wake-ups not sent (%s)", error)
                for channel, business in owed:
                    self._notified(None, 0, channel, business)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        for callback in list(self._subscribers.get(channel, {}).get(payload, ())):
            callback()

    def _wake_everyone(self) -> None:
        for by_business in self._subscribers.values():
            for callbacks in by_business.values():
                for callback in list(callbacks):
                    callback()

    async def _sweep(self) -> None:
        assert self._housekeeping is not None
        try:
            async with self.connection() as conn:
                await self._housekeeping(conn)
        except StoreError as error:
            log.warning("PostgreSQL housekeeping skipped (%s)", error)

    async def _listen(self) -> None:
        listener = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
        try:
            for channel in self._subscribers:
                await listener.add_listener(channel, self._notified)
        except BaseException:
            listener.terminate()
            raise
        self._listener = listener

    async def _alive(self) -> bool:
        if self._listener is None or self._listener.is_closed():
            return False
        try:
            await asyncio.wait_for(self._listener.fetchval("SELECT 1"), COMMAND_TIMEOUT)
        except (*_UNAVAILABLE, asyncpg.PostgresError):
            self._listener.terminate()
            return False
        return True

    async def _keep_listening(self) -> None:
        """Reopen the listening connection whenever it is lost, until the Database closes; now and
        then, run the housekeeping."""
        loop = asyncio.get_running_loop()
        checked = swept = loop.time()
        while not self._closing:
            await asyncio.sleep(RELISTEN_SECONDS)
            if self._housekeeping is not None and loop.time() - swept >= HOUSEKEEPING_SECONDS:
                swept = loop.time()
                await self._sweep()
            if self._listener is not None and not self._listener.is_closed():
                if loop.time() - checked < KEEPALIVE_SECONDS:
                    continue
                checked = loop.time()
                if await self._alive():
                    continue
            self._listener = None
            try:
                await self._listen()
            except (*_UNAVAILABLE, asyncpg.PostgresError) as error:
                log.warning("PostgreSQL notifications unavailable (%s); retrying", type(error).__name__)
                continue
            log.info("PostgreSQL notifications restored")
            self._wake_everyone()  # something may have been queued while nobody listened
