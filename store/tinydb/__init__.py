"""The TinyDB backend (`tinydb:` URLs): one machine, one process, a journal in front of one file per conversation.

See store/tinydb/store.py for the layout and why.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from store import Deployment, Store, register_backend


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


class TinyDBBackend:
    one_process = True  # the store lives in one process's memory, behind a lock on its folder

    def check_url(self, database_url: str) -> None:
        tinydb_path(database_url)

    def data_folder(self, database_url: str) -> Path:
        return tinydb_path(database_url).parent

    async def open(self, database_url: str) -> Store:
        from store.tinydb.store import TinyDBStore

        return await TinyDBStore(tinydb_path(database_url)).open()

    async def open_deployment(self, database_url: str) -> Deployment:
        from store.tinydb.deployment import TinyDBDeployment

        path = tinydb_path(database_url)
        deployment = TinyDBDeployment(path)
        try:
            return await deployment.open()  # the default store first: a second process stops there, at its lock
        except BaseException:
            await deployment.close()
            raise


register_backend("tinydb", TinyDBBackend())
