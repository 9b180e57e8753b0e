"""Counting round trips to PostgreSQL: every asyncpg Connection call made while a list is collecting.

Shared by tests/test_postgres_round_trips.py (which asserts the counts) and
bench/bench_postgres.py's part (c) (which prints them). Each call -- execute, executemany,
fetch, fetchrow, fetchval; BEGIN and COMMIT are `execute`s -- is one round trip once its
statement is prepared on the connection (asyncpg prepares on first use: one more, once), and
the pool adds none (store/postgres/connection.py). Calls made in tasks that are not collecting
(the app's background loops) are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

COUNTED = ("execute", "executemany", "fetch", "fetchrow", "fetchval")

calls_now: ContextVar[list[str] | None] = ContextVar("round_trips", default=None)  # where calls go, if anywhere


def count_calls(patch: Callable[[Any, str, Any], None]) -> None:
    """Wrap asyncpg's Connection calls so each lands in `calls_now`'s list; `patch` is setattr or
    pytest's monkeypatch.setattr (which undoes it after the test)."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

    for name in COUNTED:
        original = getattr(asyncpg.connection.Connection, name)

        def counted(self: Any, query: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls = calls_now.get()
            if calls is not None:
                calls.append(" ".join(query.split()))
            return _original(self, query, *args, **kwargs)

        patch(asyncpg.connection.Connection, name, counted)


def per_request(app: Any) -> tuple[Callable[..., Any], list[list[str]]]:
    """The app, and the calls of each HTTP request it handles (a list per request)."""
    requests: list[list[str]] = []

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        calls: list[str] = []
        requests.append(calls)
        token = calls_now.set(calls)
        try:
            await app(scope, receive, send)
        finally:
            calls_now.reset(token)

    return wrapped, requests
