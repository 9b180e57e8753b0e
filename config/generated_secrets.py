"""Secrets the service generates in its data folder (the API token, the local webhook signing secret).

config/settings.py names the files (API_TOKEN_FILE, DEV_WEBHOOK_SECRET_FILE) and asks for them here.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from starlette.datastructures import Secret

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
    _write_private(path, value + "\n")
    log.warning("made a new %s in %s", purpose, path)
    return Secret(value)


def _write_private(path: Path, content: str) -> None:
    """Write `path` readable by its owner only, all of it or none of it, even after a crash.

    A temporary file made 0600 is synced and renamed into place, then the folder is synced: a
    process that reads the secret never finds half of it. (The store's files do the same in
    store/files.py `write_atomically`; config/ cannot import the store.)
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
