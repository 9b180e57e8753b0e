"""Login codes kept in one process's memory (a backend one process owns: TinyDB), and their hash.

A code lives 10 minutes, so a restart loses at most codes nobody has typed yet: the dispatcher
asks for another. PostgreSQL keeps them in a table every web process reads (store/postgres/login_codes.py).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from store.throttles import seconds_of

MAX_PENDING = 50_000  # codes kept at most: past this the oldest go (a flood of requests cannot grow memory)


def code_hash(phone: str, code: str, key: str) -> str:
    """What the store keeps of a code: an HMAC keyed by the deployment's secret, bound to the phone.

    A million codes are quick to try against a bare hash; keyed, a copy of the store gives nothing."""
    return hmac.new(key.encode(), f"{phone}\x00{code}".encode(), hashlib.sha256).hexdigest()


@dataclass
class _Pending:
    code_hash: str
    expires_at: float
    wrong: int = 0


class MemoryLoginCodes:
    """Deployment.put_login_code / use_login_code in this process's memory."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._codes: dict[str, _Pending] = {}
        self.max_pending = max_pending

    def put(self, phone: str, hashed: str, now: str, expires_at: str) -> None:
        self._codes.pop(phone, None)
        moment = seconds_of(now)
        for key in [key for key, pending in self._codes.items() if pending.expires_at <= moment]:
            del self._codes[key]
        while len(self._codes) >= self.max_pending:
            del self._codes[next(iter(self._codes))]
        self._codes[phone] = _Pending(hashed, seconds_of(expires_at))

    def use(self, phone: str, hashed: str, now: str, tries: int) -> bool:
        pending = self._codes.get(phone)
        if pending is None or seconds_of(now) >= pending.expires_at or pending.wrong >= tries:
            return False
        if hmac.compare_digest(pending.code_hash, hashed):
            del self._codes[phone]
            return True
        pending.wrong += 1
        return False
