"""A dispatcher's move by text is one store write, on each backend (issue #29 item 6).

The move, the customer's status text, the dispatcher's text and the answer land together or not at
all: when that write fails, nothing has moved, and Twilio's redelivery of the same text makes the
move then -- answered "1001 -> en route ... Customer texted." and texting the customer once --
rather than finding the job already moved by a half-done first attempt ("1001 is already en route").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.errors import StoreError
from config.settings import load_settings
from tests.store_contract.conftest import BACKENDS, URL_MAKERS
from tests.support import API_TOKEN, CUSTOMER, DISPATCHER, base_environ, job_body
from tests.test_sms_media import Harness, mms, replies_of
from web.app import create_app

JOB = 1001


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with URL_MAKERS[request.param](request.node.originalname, tmp_path) as url:
        settings = load_settings(base_environ(tmp_path, DATABASE_URL=url, RUN_SENDER="false"), env_file=None)
        with TestClient(
            create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}, raise_server_exceptions=False
        ) as client:
            assert client.post("/jobs", json=job_body()).json()["id"] == JOB
            yield Harness(client, settings)


def failing_once(write: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`write`, but its first call fails as a store that cannot write does."""
    calls = []

    async def once_failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise StoreError("the disk is full")
        return await write(*args, **kwargs)

    return once_failing


def test_a_move_whose_write_fails_leaves_nothing_and_its_redelivery_moves_the_job_once(
    app: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = app.store
    # Whichever write records the dispatcher's text fails the first time.
    for write in ("record_inbound", "record_move"):
        if hasattr(store, write):
            monkeypatch.setattr(store, write, failing_once(getattr(store, write)))
    text = mms(DISPATCHER, f"EN ROUTE {JOB} 20", ())

    assert app.post(text).status_code >= 500
    job = app.client.get(f"/jobs/{JOB}").json()
    assert job["status"] == "scheduled"  # the failed write moved nothing
    assert [m["kind"] for m in app.call(store.phone_messages, CUSTOMER)] == ["notification"]  # booked only

    (answer,) = replies_of(app.post(text))  # Twilio delivers the same text again
    assert answer.startswith(f"{JOB} -> en route") and "Customer texted" in answer
    assert app.client.get(f"/jobs/{JOB}").json()["status"] == "en_route"
    notifications = [m for m in app.call(store.phone_messages, CUSTOMER) if m["kind"] == "notification"]
    assert len(notifications) == 2  # booked, en route: once
    assert replies_of(app.post(text)) == [answer]  # and a third delivery is answered as before
