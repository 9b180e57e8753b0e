"""`Idempotency-Key` on the dashboard's writes: a retry gets the first answer and does nothing again.

    POST /jobs, POST /jobs/{id}/status, POST /jobs/{id}/messages

The key is kept by the store, unique, in the same atomic write as what it
guards (store.base.Once), never in this process's memory: ten retries racing
each other make one job and one text, and the other nine get its answer
(status and body, plus `Idempotent-Replayed: true`). The same key with
another request (another body, or another endpoint) is a 422. A request
that fails (4xx) keeps no key: nothing was done, so a retry runs again.
Keys are kept IDEMPOTENCY_HOURS (24 h).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.errors import ValidationError
from bot.jobs import utc_now
from handlers.json_body import json_body
from handlers.services import Services, services
from store import KeyUsed, Once, Store
from store.records import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 255
KEY_PATTERN = "^[!-~]{1,255}$"  # visible ASCII: a UUID, a ULID, "job-create-8842" ...
_KEY = re.compile(KEY_PATTERN)

Answer = Callable[[Any], tuple[int, Any]]


@dataclass(frozen=True)
class Retry:
    """One keyed (or unkeyed) request: `respond` runs its write once per key."""

    key: str | None
    fingerprint: str
    now: str

    @classmethod
    def of(cls, request: Request, body: Any) -> Retry:
        key = request.headers.get(HEADER)
        if key is not None and not _KEY.fullmatch(key):
            raise ValidationError(HEADER, f"must be 1 to {MAX_KEY} visible ASCII characters, e.g. a UUID")
        # The body as parsed, not its bytes: a client that re-encodes it (other spacing, key order) retries the same.
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()
        return cls(key, digest, utc_now())

    async def first_answer(self, store: Store) -> JSONResponse | None:
        """The kept answer when this key was used before (422 if for another request), else None."""
        if self.key is None:
            return None
        record = await store.find_once(self.key, self.now)
        return None if record is None else self.replay(record)

    def replay(self, record: IdempotencyRecord) -> JSONResponse:
        if record["fingerprint"] != self.fingerprint:
            raise ValidationError(
                HEADER,
                "was already used for another request (another body or endpoint); use a new key for a new request",
            )
        return JSONResponse(record["body"], status_code=record["status"], headers={REPLAYED: "true"})

    async def respond(self, act: Callable[[Once | None], Awaitable[Any]], answer: Answer) -> JSONResponse:
        """`act(once)` -- the write, with this key when there is one -- answered by `answer(result)`.

        A twin request that stored the key first (KeyUsed) gets that request's answer instead.
        """
        once = None if self.key is None else Once(self.key, self.fingerprint, self.now, answer)
        try:
            result = await act(once)
        except KeyUsed as used:
            return self.replay(used.record)
        status, body = answer(result)
        return JSONResponse(body, status_code=status)


# What an endpoint wrapped in `idempotent` is: given the request, its business's Services, the parsed
# body and the request's Retry, it checks the body and answers with `retry.respond(...)`.
KeyedEndpoint = Callable[[Request, Services, Any, Retry], Awaitable[Response]]


def idempotent(endpoint: KeyedEndpoint) -> Callable[[Request], Awaitable[Response]]:
    """A JSON write that honours Idempotency-Key: a request whose key was used is answered as the first
    one was (or 422 for another request) before its body is checked -- the first may have been
    checked by rules since changed -- and otherwise `endpoint(request, svc, body, retry)` runs.

    Put it under handlers.auth.require_api_token, which scopes the request to its business."""

    @functools.wraps(endpoint)
    async def keyed(request: Request) -> Response:
        svc = services(request)
        body = await json_body(request)
        retry = Retry.of(request, body)
        if (first := await retry.first_answer(svc.store)) is not None:
            return first
        return await endpoint(request, svc, body, retry)

    return keyed
