"""Persistence behind one interface; `open_store` picks the backend from DATABASE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from store.base import Job, JobWrite, Message, Store, public_message

__all__ = ["Job", "JobWrite", "Message", "Store", "data_folder", "open_store", "public_message"]


def tinydb_path(database_url: str) -> Path:
    """The file a `tinydb:` URL names, by SQLAlchemy's slash convention.

    tinydb:///data/qdn.json is relative (data/qdn.json); tinydb:////srv/qdn.json is absolute.
    """
    parts = urlsplit(database_url)
    if parts.scheme != "tinydb" or parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ValueError(
            f"DATABASE_URL {database_url!r} is not supported; use tinydb:///relative/path.json "
            "or tinydb:////absolute/path.json"
        )
    return Path(parts.path[1:])


def data_folder(database_url: str) -> Path:
    """The folder holding the store, where generated secrets are kept too."""
    return tinydb_path(database_url).parent


async def open_store(database_url: str) -> Store:
    """Open (and lock) the store named by DATABASE_URL."""
    from store.tinydb_store import TinyDBStore

    return await TinyDBStore(tinydb_path(database_url)).open()
