"""Secrets the service generates in its data folder (the API token, the local webhook signing secret).

store/settings.py names the files (API_TOKEN_FILE, DEV_WEBHOOK_SECRET_FILE) and asks for them here.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from starlette.datastructures import Secret

from store.files import write_atomically

log = logging.getLogger("qdn.settings")


def read_generated_secret(folder: Path, name: str) -> Secret | None:
    """A secret the service made in its data folder, or None if not made yet (never writes)."""
    try:
        value = (folder / name).read_text().strip()
    except FileNotFoundError:
        return None
    return Secret(value) if value else None


def generated_secret(folder: Path, name: str, purpose: str, make: bool = True) -> Secret:
    """A random secret kept in the data folder, made on first use (an empty Secret if not `make`)."""
    existing = read_generated_secret(folder, name)
    if existing is not None or not make:
        return existing or Secret("")
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    old_umask = os.umask(0o077)
    try:
        write_atomically(path, value + "\n")
    finally:
        os.umask(old_umask)
    log.warning("made a new %s in %s", purpose, path)
    return Secret(value)
