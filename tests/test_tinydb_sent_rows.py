"""TinyDB: a sent text's row is kept in memory, so a status callback reads no conversation file (issue #30).

What every backend must do with a delivery report is in the contract suite
(tests/store_contract/); this file holds what the in-memory rows must keep true: the
report is applied without reading the disk, and what it leaves is exactly what the
files and the journal give back after a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.messages import with_report
from store import Message, open_store
from store.tinydb import documents, indexes
from tests.store_contract.support import CUSTOMER, add_job, outbound, run


def url(tmp_path: Path) -> str:
    return f"tinydb:///{tmp_path}/data/qdn.json"


def _no_file_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Any) -> Any:
        raise AssertionError(f"a conversation file was read: {path}")

    monkeypatch.setattr(documents, "read_json", refuse)


def _reported(status: str, error_code: int | None = None) -> Any:
    def change(message: Message) -> Message | None:
        return with_report(message, status, error_code, None)

    return change


async def _send(tmp_path: Path, sid: str) -> str:
    """A job and one text to its customer that Twilio took (SID recorded); the store closed (files written)."""
    store = await open_store(url(tmp_path))
    await add_job(store)
    text = await store.add_message(outbound(CUSTOMER, "On our way", job_id=1001, kind="update"))
    await store.complete(text["id"], lambda m: {**m, "status": "sent", "twilio_sid": sid})
    await store.close()
    return str(text["id"])


def test_a_report_on_a_sent_text_reads_no_file_and_a_restart_reads_what_it_left(tmp_path, monkeypatch):
    async def scenario() -> None:
        message_id = await _send(tmp_path, "SMsent1")
        store = await open_store(url(tmp_path))  # the row comes from the conversation file
        with monkeypatch.context() as disk:
            _no_file_reads(disk)
            found = await store.update_message_by_sid("SMsent1", _reported("delivered"))
            assert found is not None
            before, after = found
            assert (before["status"], after["status"]) == ("sent", "delivered")
            assert await store.find_message_by_sid("SMsent1") == after
            assert await store.get_message(message_id) == after
            # a late `sent` never moves it back, and still reads nothing
            found = await store.update_message_by_sid("SMsent1", _reported("sent"))
            assert found is not None and found[1] == after
        await store.close()

        store = await open_store(url(tmp_path))  # from the files again (the close checkpointed)
        assert await store.get_message(message_id) == after
        await store.close()

    run(scenario())


def test_rows_in_memory_follow_the_journal_over_the_files(tmp_path, monkeypatch):
    """A report written to the journal only (no checkpoint yet) is what the next start's memory holds."""

    async def scenario() -> None:
        message_id = await _send(tmp_path, "SMsent2")
        store = await open_store(url(tmp_path))
        await store.update_message_by_sid("SMsent2", _reported("delivered"))
        # Closed without its checkpoint: the journal alone holds the report, replayed over the file's row.
        partitions = store.partitions  # type: ignore[attr-defined]
        monkeypatch.setattr(partitions, "_checkpoint_locked", lambda: None)
        await store.close()
        monkeypatch.undo()

        store = await open_store(url(tmp_path))
        with monkeypatch.context() as disk:
            _no_file_reads(disk)
            found = await store.update_message_by_sid("SMsent2", _reported("read"))
        assert found is not None
        assert (found[0]["status"], found[1]["status"]) == ("delivered", "read")
        assert found[0]["id"] == message_id
        await store.close()

    run(scenario())


def test_only_the_latest_sent_texts_are_kept_in_memory_and_an_older_one_s_report_still_lands(tmp_path, monkeypatch):
    """Memory stays bounded whatever the history: past SENT_ROWS_KEPT texts, the oldest row leaves
    memory, and a late report on it reads its file and is applied all the same."""
    monkeypatch.setattr(indexes, "SENT_ROWS_KEPT", 2)

    async def scenario() -> None:
        store = await open_store(url(tmp_path))
        await add_job(store)
        ids = []
        for n in range(3):
            text = await store.add_message(outbound(CUSTOMER, f"Update {n}", job_id=1001, kind="update"))
            sid = f"SMkept{n}"
            await store.complete(text["id"], lambda m: {**m, "status": "sent", "twilio_sid": sid})  # noqa: B023
            ids.append(str(text["id"]))
        assert list(store.core.index.sent_rows) == ids[1:]  # type: ignore[attr-defined]
        await store.close()

        store = await open_store(url(tmp_path))
        assert len(store.core.index.sent_rows) == 2  # type: ignore[attr-defined]
        with monkeypatch.context() as disk:  # the newest: from memory
            _no_file_reads(disk)
            newest = await store.update_message_by_sid("SMkept2", _reported("delivered"))
        assert newest is not None and newest[1]["status"] == "delivered"
        oldest = await store.update_message_by_sid("SMkept0", _reported("delivered"))  # from its file
        assert oldest is not None and (oldest[0]["status"], oldest[1]["status"]) == ("sent", "delivered")
        assert (await store.get_message(ids[0]))["status"] == "delivered"
        await store.close()

    run(scenario())
