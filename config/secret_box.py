"""Businesses' Twilio secrets, encrypted at rest with SECRET_KEY (cryptography's Fernet).

    box = SecretBox(settings.secret_key)
    sealed = box.seal("the auth token")      # what the registry keeps
    box.open(sealed)                         # the token again, for signatures and sends

Fernet is authenticated encryption (AES-CBC + HMAC-SHA256), so a sealed value
that was altered, or sealed under another key, fails to open instead of
yielding garbage. SECRET_KEY is any long random string (the service makes one
in the data folder when unset); the Fernet key is its SHA-256, so an operator
need not produce Fernet's own format. Several keys, comma-separated, rotate:
the first seals, any of them opens (MultiFernet).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from starlette.datastructures import Secret

from bot.errors import StoreError

MIN_KEY_CHARS = 32


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    def __init__(self, secret_key: Secret | str) -> None:
        keys = [key.strip() for key in str(secret_key).split(",") if key.strip()]
        if not keys or any(len(key) < MIN_KEY_CHARS for key in keys):
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_KEY_CHARS} random characters (comma-separated to rotate)"
            )
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plaintext; StoreError if it was sealed under a key SECRET_KEY no longer lists (or altered)."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            raise StoreError(
                "a stored Twilio secret cannot be decrypted: SECRET_KEY is not the key it was stored with "
                "(to rotate, list the new key first and keep the old one after a comma)"
            ) from None


def last_four(secret: str) -> str:
    """What the admin API shows of a secret: its last four characters."""
    return secret[-4:]
