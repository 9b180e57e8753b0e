"""DATABASE_URL as a setting: whether its scheme is one the service knows, and the folder it keeps here.

Settings need two answers before any store is opened -- the qdn client never opens one -- so they
are worked out here from the URL alone: a `tinydb:` URL's file (its folder holds the generated
secrets unless DATA_DIR says otherwise), and for a database server no folder at all (./data then).
Checking a server URL in full (host, port, database) is its backend's, when the store picks it
(store.backend_for): `qdn serve`, `qdn send` and `qdn migrate` all do at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATA_DIR = Path("data")


class UrlScheme(Protocol):
    """What settings need of a DATABASE_URL scheme (store backends answer the same two questions)."""

    def check_url(self, database_url: str) -> None:
        """Raise ValueError naming DATABASE_URL if this URL cannot be used."""

    def data_folder(self, database_url: str) -> Path | None:
        """The folder the store keeps on this machine, if any (generated secrets default to it)."""


def shown_url(database_url: str) -> str:
    """DATABASE_URL as it may be printed or logged: its password masked."""
    try:
        parts = urlsplit(database_url)
        password = parts.password
    except ValueError:  # an unparsable netloc (a bad port): print nothing of what follows the scheme
        return f"{database_url.partition(':')[0]}:…"
    if password is None:
        return database_url
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"))


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


class TinyDBUrl:
    """`tinydb:` URLs: a file on this machine, whose folder keeps the generated secrets."""

    def check_url(self, database_url: str) -> None:
        tinydb_path(database_url)

    def data_folder(self, database_url: str) -> Path | None:
        return tinydb_path(database_url).parent


class ServerUrl:
    """A database server's URL (PostgreSQL): nothing kept on this machine; its backend checks the rest."""

    def check_url(self, database_url: str) -> None:
        return None

    def data_folder(self, database_url: str) -> Path | None:
        return None


# scheme -> what settings know of it (tests add schemes of their own with monkeypatch.setitem)
SCHEMES: dict[str, UrlScheme] = {"tinydb": TinyDBUrl(), "postgresql": ServerUrl(), "postgres": ServerUrl()}


def url_scheme(database_url: str) -> UrlScheme:
    """The scheme's rules, the URL checked by them; ValueError naming DATABASE_URL for any other scheme."""
    scheme = SCHEMES.get(urlsplit(database_url).scheme)
    if scheme is None:
        known = ", ".join(f"{name}:" for name in sorted(SCHEMES))
        raise ValueError(f"DATABASE_URL {shown_url(database_url)!r} is not supported; use one of {known}")
    scheme.check_url(database_url)
    return scheme


def data_folder(database_url: str) -> Path:
    """Where generated secrets live unless DATA_DIR says otherwise: the store's folder here, else ./data."""
    return url_scheme(database_url).data_folder(database_url) or DEFAULT_DATA_DIR
