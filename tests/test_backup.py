"""`qdn store backup DIR`: a consistent copy of a TinyDB store, taken while a real service writes, or not.

A real `qdn serve` (a local fake Twilio behind it) with the default business and "acme", added
over the admin API with its own Twilio auth token -- sealed with the SECRET_KEY the service made
in its data folder. Writers create jobs for both businesses over the API and post signed inbound
texts to both numbers, without pause, while `qdn store backup` runs in a process of its own (as
cron would run it). Then a fresh service started on the backup folder must hold every job and
text acknowledged before the backup began -- each text with the reply it was answered with (one
write, wholly or not at all) -- open cleanly (no torn journal line cut off), and check acme's
webhooks with acme's sealed auth token (so the backup carried SECRET_KEY).

Also: a backup of a stopped service's store (the command reads the files itself) leaves the data
folder as it was and restores alike; a DIR that holds anything, or cannot be written, is one
line and changes nothing; a PostgreSQL store is pointed to pg_dump; no store, one line.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.files import FilesLock
from store.settings import SECRET_KEY_FILE
from tests.support import API_TOKEN, LiveServer, base_environ, eventually, job_body
from tests.test_business_e2e import (
    ACME_AUTH_TOKEN,
    ACME_KEY,
    ACME_NUMBER,
    ACME_SECRET,
    ACME_SID,
    ADMIN_TOKEN,
    phone_log,
    post_webhook,
    twiml_messages,
)
from tests.test_cli import Run, one_line_error
from tests.twilio_fake import ACCOUNT_SID, API_KEY, API_SECRET, AUTH_TOKEN, FROM_NUMBER, TwilioServer, twilio_environ
from tests.twilio_fake import twilio_form as inbound_form

pytestmark = pytest.mark.e2e

_customers = (f"+1512556{n:04d}" for n in itertools.count(1))
_sids = (f"SM{n:032x}" for n in itertools.count(0xBAC000))
_lock = threading.Lock()


def next_customer_and_sid() -> tuple[str, str]:
    with _lock:  # writer threads share the generators
        return next(_customers), next(_sids)


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    accounts = {ACCOUNT_SID: {API_KEY: API_SECRET}, ACME_SID: {ACME_KEY: ACME_SECRET}}
    with TwilioServer(accounts) as fake:
        yield fake


def environ(folder: Path, twilio: TwilioServer, **overrides: str) -> dict[str, str]:
    # No SECRET_KEY set: the service makes one in its data folder, and the backup must carry it.
    return twilio_environ(folder, TWILIO_API_BASE_URL=twilio.url, ADMIN_TOKEN=ADMIN_TOKEN, **overrides)


def on_backup(env: dict[str, str], backup: Path) -> dict[str, str]:
    """The same settings, on the backup folder (DATA_DIR unset: the generated secrets are read from it)."""
    return {**env, "DATABASE_URL": f"tinydb:///{backup}/qdn.json"}


def qdn_backup(env: dict[str, str], into: Path | str, cwd: Path) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "web", "store", "backup", str(into)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def add_acme(server: LiveServer) -> str:
    """Business "acme" with its own Twilio account, over the admin API; its dashboard token."""
    body = {
        "slug": "acme",
        "name": "Acme Hauling",
        "numbers": [ACME_NUMBER],
        "twilio": {"account_sid": ACME_SID, "auth_token": ACME_AUTH_TOKEN, "api_key": ACME_KEY,
                   "api_secret": ACME_SECRET},
    }  # fmt: skip
    response = httpx.post(
        f"{server.url}/admin/businesses", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"]["token"])


def dashboard(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


class Writers:
    """Jobs over the API and inbound texts over the webhook, for both businesses, until stopped.

    `jobs` and `texts` hold what was acknowledged, in order: (token, job) and (token, phone, sid).
    """

    def __init__(self, server: LiveServer, acme_token: str) -> None:
        self.server, self.acme_token = server, acme_token
        self.jobs: list[tuple[str, dict[str, Any]]] = []
        self.texts: list[tuple[str, str, str]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Writers:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._create_jobs, args=(API_TOKEN,)),
            threading.Thread(target=self._create_jobs, args=(self.acme_token,)),
            threading.Thread(target=self._text, args=(API_TOKEN, FROM_NUMBER, ACCOUNT_SID, AUTH_TOKEN)),
            threading.Thread(target=self._text, args=(self.acme_token, ACME_NUMBER, ACME_SID, ACME_AUTH_TOKEN)),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def acknowledged(self) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str, str]]]:
        return list(self.jobs), list(self.texts)

    def _create_jobs(self, token: str) -> None:
        with dashboard(self.server, token) as api:
            while not self._stop.is_set():
                customer, _ = next_customer_and_sid()
                response = api.post("/jobs", json=job_body(customer_phone=customer))
                assert response.status_code == 201, response.text
                self.jobs.append((token, response.json()))

    def _text(self, token: str, number: str, account: str, key: str) -> None:
        while not self._stop.is_set():
            customer, sid = next_customer_and_sid()
            fields = inbound_form(customer, number, sid, account, "STATUS")
            assert twiml_messages(post_webhook(self.server, "/twilio/sms", fields, key))
            self.texts.append((token, customer, sid))


def check_holds(server: LiveServer, jobs: list[tuple[str, dict[str, Any]]], texts: list[tuple[str, str, str]]) -> None:
    """`server` holds every job whole, and every text with the reply it was answered with."""
    for token, job in jobs:
        with dashboard(server, token) as api:
            stored = api.get(f"/jobs/{job['id']}")
        assert stored.status_code == 200, f"job {job['id']} is missing: {stored.text}"
        assert (stored.json()["token"], stored.json()["customer_phone"]) == (job["token"], job["customer_phone"])
    for token, customer, sid in texts:
        with dashboard(server, token) as api:
            logged = phone_log(api, customer)
        assert [(m["direction"], m["kind"]) for m in logged] == [("inbound", "command"), ("outbound", "reply")]
        assert logged[0]["twilio_sid"] == sid


def files_of(folder: Path) -> dict[str, str]:
    """Every file under `folder` (but the locks, which any opening touches) with a digest of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


def test_a_backup_taken_while_the_service_writes_holds_everything_acknowledged_before_it_began(tmp_path, twilio):
    env = environ(tmp_path, twilio)
    server = LiveServer(env, tmp_path).start()
    restored: LiveServer | None = None
    try:
        acme_token = add_acme(server)
        writers = Writers(server, acme_token).start()
        # Some conversations reach their files first (a checkpoint runs once writes pause), so the
        # backup copies files and journal both.
        eventually(lambda: len(writers.texts) >= 20 and len(writers.jobs) >= 20, "the first writes")
        writers.stop()
        eventually(lambda: any((tmp_path / "data/qdn.jobs").glob("*.json")), "a checkpoint of the first writes")
        writers.start()
        eventually(lambda: len(writers.texts) >= 40, "writes after the checkpoint")

        jobs, texts = writers.acknowledged()  # acknowledged before the backup began
        backup = tmp_path / "backups/qdn-1"
        (tmp_path / "backups").mkdir()
        run = qdn_backup(env, backup, tmp_path)
        after = len(writers.texts)
        writers.stop()
        assert run.code == 0, run.err
        assert after > len(texts)  # the service took writes all along

        assert run.err == ""
        assert f"to {backup}: businesses default, acme;" in run.out
        assert "generated secrets" in run.out and SECRET_KEY_FILE in run.out
        assert not list((tmp_path / "backups").glob(".*"))  # no staging folder left beside it
        assert (backup / SECRET_KEY_FILE).read_text() == (tmp_path / "data" / SECRET_KEY_FILE).read_text()
        server.stop()

        restored = LiveServer(on_backup(env, backup), tmp_path).start()
        check_holds(restored, jobs, texts)
        log = restored.log.read_text()
        assert "torn" not in log and "ERROR" not in log  # every journal segment ends in whole lines
        # acme's webhooks are checked with its auth token, sealed with the SECRET_KEY the backup carried.
        customer, sid = next_customer_and_sid()
        fields = inbound_form(customer, ACME_NUMBER, sid, ACME_SID, "STATUS")
        (reply,) = twiml_messages(post_webhook(restored, "/twilio/sms", fields, ACME_AUTH_TOKEN))
        assert reply.startswith("Acme Hauling:")
    finally:
        server.stop()
        if restored is not None:
            restored.stop()


def test_a_backup_of_a_stopped_service_leaves_its_data_as_it_was_and_restores_alike(tmp_path, twilio):
    env = environ(tmp_path, twilio)
    server = LiveServer(env, tmp_path).start()
    try:
        acme_token = add_acme(server)
        writers = Writers(server, acme_token).start()
        eventually(lambda: len(writers.texts) >= 10 and len(writers.jobs) >= 10, "some writes")
        writers.stop()
    finally:
        server.stop()
    jobs, texts = writers.acknowledged()
    data = tmp_path / "data"
    # A crash once left a line half written at the journal's end (never acknowledged).
    segment = sorted(data.glob("qdn.journal.*"))[-1]
    with open(segment, "ab") as journal:
        journal.write(b'{"w": [["1001", "job", 1, {"customer_na')
    before = files_of(data)

    backup = tmp_path / "qdn-backup"
    run = qdn_backup(env, backup, tmp_path)
    assert run.code == 0, run.err
    assert files_of(data) == before  # read, never changed
    assert not (backup / segment.name).read_bytes().endswith(b"customer_na")

    restored = LiveServer(on_backup(env, backup), tmp_path).start()
    try:
        check_holds(restored, jobs, texts)
        assert "torn" not in restored.log.read_text()
    finally:
        restored.stop()
    # The original starts as before, too (its own torn line cut off, as after any crash).
    again = LiveServer(env, tmp_path).start()
    try:
        check_holds(again, jobs, texts)
    finally:
        again.stop()


def test_the_files_a_backup_copies_stay_as_they_are_until_it_is_done(tmp_path):
    """The service rewrites no file of its store while a backup holds the store's files lock -- not
    in the background, not as it stops -- and writes go on into its journal meanwhile."""
    env = base_environ(tmp_path)
    data = tmp_path / "data"
    server = LiveServer(env, tmp_path).start()
    try:
        with server.client() as api:
            jobs = [api.post("/jobs", json=job_body()).json() for _ in range(3)]
        eventually(lambda: len(list((data / "qdn.jobs").glob("*.json"))) == 3, "a checkpoint of the first jobs")
        copying = FilesLock(data / "qdn.json.files.lock")
        copying.acquire()  # as `qdn store backup` does while it copies (after a checkpoint under way ends)
        try:
            files, segments = files_of(data / "qdn.jobs"), sorted(data.glob("qdn.journal.*"))
            with server.client() as api:
                moved = api.post(f"/jobs/{jobs[0]['id']}/status", json={"status": "en_route"})
                assert moved.status_code == 200, moved.text
                jobs.append(api.post("/jobs", json=job_body()).json())
            server.stop()  # a clean stop brings the files up to date -- but not under a backup's feet
            assert files_of(data / "qdn.jobs") == files
            assert all(segment.exists() for segment in segments)
        finally:
            copying.close()
    finally:
        server.stop()
    again = LiveServer(env, tmp_path).start()  # the journal kept what the files did not get
    try:
        with again.client() as api:
            assert api.get(f"/jobs/{jobs[0]['id']}").json()["status"] == "en_route"
            assert [api.get(f"/jobs/{job['id']}").json()["token"] for job in jobs] == [job["token"] for job in jobs]
    finally:
        again.stop()


@pytest.fixture(scope="module")
def stopped_store(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer) -> tuple[Path, dict[str, str]]:
    """A service's folder after it stopped, with a job in it: (folder, settings)."""
    folder = tmp_path_factory.mktemp("stopped")
    env = environ(folder, twilio)
    server = LiveServer(env, folder).start()
    try:
        with server.client() as api:
            assert api.post("/jobs", json=job_body()).status_code == 201
    finally:
        server.stop()
    return folder, env


def test_a_dir_that_holds_anything_is_refused_in_one_line_and_left_as_it_was(stopped_store):
    folder, env = stopped_store
    data = files_of(folder / "data")
    target = folder / "not-empty"
    target.mkdir()
    (target / "notes.txt").write_text("last week's backup")
    problem = one_line_error(qdn_backup(env, target, folder))
    assert problem == f"{target} is not empty; name a new folder for each backup (nothing was written)"
    assert [path.name for path in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "last week's backup"
    assert files_of(folder / "data") == data
    assert not list(folder.glob(".not-empty*"))

    a_file = folder / "a-file"
    a_file.write_text("not a folder")
    problem = one_line_error(qdn_backup(env, a_file, folder))
    assert problem == f"{a_file} is a file, not a folder; name a new folder for the backup (nothing was written)"
    assert a_file.read_text() == "not a folder"


def test_a_dir_that_cannot_be_written_is_refused_in_one_line_and_nothing_is_made(stopped_store):
    folder, env = stopped_store
    (folder / "plain-file").write_text("x")
    target = folder / "plain-file" / "backup"  # its parent is a file: nothing can be made there
    problem = one_line_error(qdn_backup(env, target, folder))
    assert problem == f"cannot write the backup at {target} (Not a directory); nothing was written"
    missing = folder / "no-such-folder" / "backup"
    problem = one_line_error(qdn_backup(env, missing, folder))
    assert problem == f"cannot write the backup at {missing} (No such file or directory); nothing was written"
    assert not (folder / "no-such-folder").exists()


def test_an_empty_dir_made_beforehand_takes_the_backup(stopped_store):
    folder, env = stopped_store
    target = folder / "made-by-cron"
    target.mkdir()
    run = qdn_backup(env, target, folder)
    assert run.code == 0, run.err
    assert (target / "qdn.json").is_file()


def test_a_postgresql_store_is_pointed_to_pg_dump_and_nothing_is_written(tmp_path):
    env = {
        **twilio_environ(tmp_path),
        "DATABASE_URL": "postgresql://qdn:hunter2@127.0.0.1:5432/qdn",
        "DATA_DIR": str(tmp_path / "data"),
    }
    problem = one_line_error(qdn_backup(env, tmp_path / "backup", tmp_path))
    assert problem.startswith("PostgreSQL backs up with its own tools: pg_dump -Fc")
    assert "hunter2" not in problem
    assert not (tmp_path / "backup").exists()


def test_no_store_to_back_up_is_one_line(tmp_path):
    env = twilio_environ(tmp_path)  # DATABASE_URL names data/qdn.json, which no service has made
    problem = one_line_error(qdn_backup(env, tmp_path / "backup", tmp_path))
    assert problem.startswith(f"there is no TinyDB store at {tmp_path}/data/qdn.json: nothing to back up")
    assert not (tmp_path / "backup").exists()
