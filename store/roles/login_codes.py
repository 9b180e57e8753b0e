"""The office inbox's login codes (store_contract/test_login_codes.py): one pending code per phone.

A code is kept only as its hash (the caller hashes it: store/login_codes.py `code_hash`), works once,
until it expires, and for a limited number of tries: a wrong guess uses a try, and once the tries are
used up even the right code is refused, so a 6-digit code cannot be guessed in the window. Asking for
a new code replaces the old one (its tries start afresh, but requests are throttled: handlers/inbox/).

Kept deployment-wide, by phone: a dispatcher of several businesses logs in once and then picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class LoginCodes(ABC):
    """Pending login codes, by phone."""

    @abstractmethod
    async def put_login_code(self, phone: str, code_hash: str, now: str, expires_at: str) -> None:
        """Keep `code_hash` as `phone`'s only pending code until `expires_at` (ISO UTC), replacing any other."""

    @abstractmethod
    async def use_login_code(self, phone: str, code_hash: str, now: str, tries: int) -> bool:
        """Whether `code_hash` is `phone`'s pending code at `now`, atomically: True uses it up (a second use
        is False); a wrong one uses one of its `tries`; after `tries` wrong ones, or once expired, nothing
        matches until a new code is put."""
