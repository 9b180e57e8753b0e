"""The TinyDB backend (`tinydb:` URLs): one machine, one process, a journal in front of one file per conversation.

See store/tinydb/store.py for the layout and why.
"""

from __future__ import annotations

from config.database_url import TinyDBUrl, tinydb_path
from store import Deployment, Store, register_backend

__all__ = ["TinyDBBackend", "tinydb_path"]


class TinyDBBackend(TinyDBUrl):  # its URL's rules (check_url, data_folder) are the settings' own
    one_process = True  # the store lives in one process's memory, behind a lock on its folder

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
