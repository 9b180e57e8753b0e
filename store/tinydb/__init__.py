"""The TinyDB backend (`tinydb:` URLs): one machine, one process, a journal in front of one file per conversation.

Layout, for DATABASE_URL=tinydb:///data/qdn.json::

    data/qdn.json             store metadata (schema version); its presence
                              marks an initialised store
    data/qdn.json.lock        flock held by the one process that owns the data
    data/qdn.json.files.lock  flock a checkpoint and `qdn store backup` take in turn
                              (store/tinydb/backup.py)
    data/qdn.journal.000007   the write-ahead journal (store/tinydb/journal.py)
    data/qdn.jobs/1042.json   job 1042 and its whole conversation
    data/qdn.phones/15125550199.json
                              a phone's state (opt-out, loop guards) and its
                              texts that belong to no job
    data/qdn.media/<media id> a picture (store/tinydb/media.py)

Why, and how the journal and the files fit: store/tinydb/store.py.
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
