"""Persistence behind one interface; DATABASE_URL's scheme picks the backend.

    store = await open_store("tinydb:///data/qdn.json")

A backend is a package under store/ that, when imported, calls
`register_backend(scheme, backend)` (store/tinydb/__init__.py does). The
schemes known here are imported on first use only, so a deployment never
loads a driver it does not use; tests (and a later backend) register more.
Every backend passes the same contract suite (tests/store_contract/).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from config.checks import ConfigError
from config.database_url import data_folder, shown_url
from store.base import (
    Event,
    Job,
    JobWrite,
    KeyUsed,
    MediaFile,
    Message,
    Once,
    Page,
    PhoneState,
    Store,
    public_job,
    public_message,
)
from store.deployment import DEFAULT_BUSINESS, BusinessRecord, Conflict, Deployment

__all__ = [
    "DEFAULT_BUSINESS",
    "Backend",
    "BusinessRecord",
    "Conflict",
    "Deployment",
    "Event",
    "Job",
    "JobWrite",
    "KeyUsed",
    "MediaFile",
    "Message",
    "Once",
    "Page",
    "PhoneState",
    "Store",
    "backend_for",
    "data_folder",
    "open_deployment",
    "open_store",
    "public_job",
    "public_message",
    "register_backend",
    "shown_url",
]


class Backend(Protocol):
    """What the registry needs of a backend."""

    # One process owns the store (TinyDB): it serves and sends, so `qdn send` has nothing to do.
    one_process: bool

    def check_url(self, database_url: str) -> None:
        """Raise ValueError naming DATABASE_URL if the backend cannot use this URL."""

    def data_folder(self, database_url: str) -> Path | None:
        """The folder the store keeps on this machine, if any (generated secrets default to it)."""

    async def open(self, database_url: str) -> Store:
        """The opened store (a second process on a one-process backend fails fast: StoreLocked)."""

    async def open_deployment(self, database_url: str) -> Deployment:
        """Every business's store, opened (store/deployment.py)."""


# scheme -> the package that registers it when imported
_KNOWN = {"tinydb": "store.tinydb", "postgresql": "store.postgres", "postgres": "store.postgres"}
_BACKENDS: dict[str, Backend] = {}


def register_backend(scheme: str, backend: Backend) -> None:
    _BACKENDS[scheme] = backend


def backend_for(database_url: str) -> Backend:
    """The backend for DATABASE_URL's scheme, the URL checked by it in full.

    ConfigError (a ValueError) naming the setting for any other scheme or a URL the backend refuses:
    settings check only the scheme (config/database_url.py), so start-up stops here with one line.
    """
    scheme = urlsplit(database_url).scheme
    if scheme not in _BACKENDS and scheme in _KNOWN:
        importlib.import_module(_KNOWN[scheme])
    backend = _BACKENDS.get(scheme)
    if backend is None:
        known = ", ".join(f"{name}:" for name in sorted({*_KNOWN, *_BACKENDS}))
        raise ConfigError(f"DATABASE_URL {shown_url(database_url)!r} is not supported; use one of {known}")
    try:
        backend.check_url(database_url)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return backend


async def open_store(database_url: str) -> Store:
    """Open the store named by DATABASE_URL (the default business's alone)."""
    return await backend_for(database_url).open(database_url)


async def open_deployment(database_url: str) -> Deployment:
    """Open every business's store of the deployment DATABASE_URL names."""
    return await backend_for(database_url).open_deployment(database_url)
