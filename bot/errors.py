"""Domain errors, mapped to HTTP answers and SMS replies in one place each.

QdnError
├── NotFound              -- no such job / token / message (404)
├── InvalidTransition     -- a status move the machine refuses (409)
├── ValidationError       -- a field is missing or malformed (422)
├── BadRequest            -- the body cannot be parsed at all (400)
├── PayloadTooLarge       -- the body is over the limit (413)
└── StoreError            -- the store cannot be used
    ├── StoreLocked       -- another process owns the data folder
    ├── StoreCorrupt      -- a store file is empty or does not parse
    └── StoreUnavailable  -- the database server cannot be reached right now (PostgreSQL)
"""

from __future__ import annotations


class QdnError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(QdnError):
    code = "not_found"


class InvalidTransition(QdnError):
    code = "invalid_transition"


class ValidationError(QdnError):
    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class BadRequest(QdnError):
    code = "bad_request"


class PayloadTooLarge(QdnError):
    code = "payload_too_large"


class StoreError(QdnError):
    code = "store_error"


class StoreLocked(StoreError):
    pass


class StoreCorrupt(StoreError):
    pass


class StoreUnavailable(StoreError):
    pass
