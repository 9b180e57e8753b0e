"""The TinyDB store's pictures on disk (store/tinydb/media.py): faults, damage, crashes.

The contract suite (tests/store_contract/test_media.py) says what every backend keeps; this
says what the files do when the disk does not: a full disk (a real, small tmpfs) or a failed
fsync or link refuses the save with a StoreError and leaves no file, whole or half, behind; a
crash's temp file is gone at the next start; a damaged picture is named, never served as
another; and the fetches due are rebuilt from the journal after a crash.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreCorrupt, StoreError
from bot.media import new_media_id
from store import MediaFile, open_store
from store.tinydb import media as media_module
from store.tinydb import partitions as core_module
from tests.store_contract.support import inbound
from tests.test_full_disk import fill, small_disk  # noqa: F401  # small_disk is a fixture

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64  # 16 kB


def picture(data: bytes = PNG) -> MediaFile:
    return MediaFile(new_media_id(), "image/png", data, "1001-1", "2024-11-27T18:32:40.123Z")


def url(folder: Path) -> str:
    return f"tinydb:///{folder}/data/qdn.json"


def files_of(folder: Path) -> list[str]:
    """Everything in the store's media folder, temp files included."""
    return sorted(path.name for path in (folder / "data" / "qdn.media").iterdir())


def test_a_full_disk_refuses_a_picture_keeps_no_half_file_and_takes_it_once_there_is_room(small_disk):  # noqa: F811
    big = picture(b"\xff\xd8\xff" + os.urandom(512 * 1024))  # random: no file system compresses it away

    async def scenario() -> tuple[list[str], Any, Any]:
        store = await open_store(url(small_disk))
        try:
            filler = fill(small_disk, leave=64 * 1024)
            with pytest.raises(StoreError, match="could not be saved"):
                await store.save_media(big)
            refused = files_of(small_disk)
            missing = await store.load_media(big.id)
            filler.unlink()
            await store.save_media(big)
            return refused, missing, await store.load_media(big.id)
        finally:
            await store.close()

    refused, missing, kept = asyncio.run(scenario())
    assert refused == [] and missing is None  # neither the picture nor its temp file
    assert kept == big


@pytest.mark.parametrize("failing", ["fsync", "link"])
def test_a_failed_fsync_or_link_is_a_store_error_and_leaves_nothing(tmp_path, monkeypatch, failing):
    real = getattr(os, failing)

    def broken(*args: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    async def scenario() -> tuple[list[str], Any, Any]:
        store = await open_store(url(tmp_path))
        try:
            monkeypatch.setattr(media_module.os, failing, broken)
            media = picture()
            with pytest.raises(StoreError, match="Input/output error"):
                await store.save_media(media)
            left = files_of(tmp_path)
            monkeypatch.setattr(media_module.os, failing, real)
            await store.save_media(media)  # the next try simply works
            return left, await store.load_media(media.id), media
        finally:
            await store.close()

    left, loaded, media = asyncio.run(scenario())
    assert left == [] and loaded == media


def test_a_crash_temp_file_is_removed_at_start_and_pictures_stay(tmp_path):
    media = picture()

    async def save() -> None:
        store = await open_store(url(tmp_path))
        try:
            await store.save_media(media)
        finally:
            await store.close()

    asyncio.run(save())
    folder = tmp_path / "data" / "qdn.media"
    torn = folder / f".{new_media_id()}.k3j2h1.tmp"
    torn.write_bytes(b"half a pict")

    async def reopen() -> Any:
        store = await open_store(url(tmp_path))
        try:
            return await store.load_media(media.id)
        finally:
            await store.close()

    assert asyncio.run(reopen()) == media
    assert files_of(tmp_path) == [media.id]


@pytest.mark.parametrize(
    ("content", "damaged"),
    [(b"", True), (b"\x89PNG\r\n", True), (b'{"id": "x"}\n\x89PNG', True), (b"not json\nbytes", True),
     (b'{"id": "OTHER", "type": "image/png", "message_id": "1", "created_at": "t"}\nbytes', False)],
)  # fmt: skip
def test_a_damaged_picture_file_is_named_and_one_under_another_id_is_not_served(tmp_path, content, damaged):
    media_id = new_media_id()

    async def scenario() -> Any:
        store = await open_store(url(tmp_path))
        try:
            (tmp_path / "data" / "qdn.media" / media_id).write_bytes(content)
            if damaged:
                with pytest.raises(StoreCorrupt, match=media_id):
                    await store.load_media(media_id)
                return "raised"
            return await store.load_media(media_id)
        finally:
            await store.close()

    assert asyncio.run(scenario()) == ("raised" if damaged else None)


def test_the_fetches_due_are_rebuilt_from_the_journal_after_a_crash(tmp_path, monkeypatch):
    """The folder copied while the store runs: what a kill -9 leaves (the journal, files not caught up)."""
    monkeypatch.setattr(core_module, "IDLE_SECONDS", 3600.0)  # no checkpoint before the copy
    crashed = tmp_path / "crashed"

    async def write() -> list[dict[str, Any]]:
        store = await open_store(url(tmp_path))
        try:
            fetching = {**inbound("SM1", body="look"), "media_fetch": [], "media_due_at": "2024-11-27T18:30:00.000Z"}
            text = await store.add_message(fetching)
            settled = await store.add_message({**fetching, "twilio_sid": "SM2"})
            await store.update_message(settled["id"], lambda m: {**m, "media_due_at": None})
            shutil.copytree(tmp_path / "data", crashed / "data", ignore=shutil.ignore_patterns("*.lock"))
            return [text]
        finally:
            await store.close()

    async def read() -> Any:
        store = await open_store(url(crashed))
        try:
            return await store.due_media("2024-11-27T18:31:00.000Z", 10), await store.next_media_due()
        finally:
            await store.close()

    expected = asyncio.run(write())
    assert not list((crashed / "data" / "qdn.phones").glob("*.json"))  # so the journal alone holds the texts
    assert asyncio.run(read()) == (expected, "2024-11-27T18:30:00.000Z")
