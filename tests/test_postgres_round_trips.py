"""Round trips to PostgreSQL per Twilio webhook (issue #15: at most 3 an inbound text, 2 a status callback).

Counted, not timed: every call on an asyncpg connection (execute, fetch, fetchrow, fetchval --
BEGIN and COMMIT included, which asyncpg sends with execute) made while a request is being
handled, as bench/bench_postgres.py's part (c) counts them. Each such call is one round trip
once its statement is prepared on the connection (asyncpg prepares a statement on its first
use there: one more, once); the pool adds none (store/postgres/connection.py). A background
loop's calls are not counted: they run in tasks of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from config.settings import load_settings
from store import Store, open_deployment, open_store
from store.base import FactsWanted, PhoneRead
from tests.pg import fresh_database, require_postgres
from tests.round_trips import calls_now, count_calls, per_request
from tests.store_contract.support import CUSTOMER, add_job, inbound, outbound
from tests.support import API_TOKEN, DISPATCHER, base_environ, job_body
from web.app import create_app

BUSINESS_NUMBER = "+15125550123"
NEW_PHONE = "+15125550177"
ACCOUNT_SID = "AC" + "3f" * 16


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    require_postgres()
    with fresh_database(request.node.originalname) as database_url:
        yield database_url


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every asyncpg Connection call made where `calls_now` holds a list is appended to it."""
    count_calls(monkeypatch.setattr)


def verbs(calls: list[str]) -> list[str]:
    return [call.split()[0].upper().rstrip(";") for call in calls]


def test_a_webhook_makes_two_round_trips_and_a_status_callback_two(url: str, tmp_path: Path, counting: None) -> None:
    settings = load_settings(base_environ(tmp_path, DATABASE_URL=url, RUN_SENDER="false"), env_file=None)
    app, requests = per_request(create_app(settings))
    sign = RequestValidator(str(settings.webhook_secret)).compute_signature

    async def a_text_sent_by_twilio(sid: str) -> str:  # what the sender leaves once Twilio took a text: its SID
        store = await open_store(url)  # another process's store, on the same database
        try:
            sent = await store.add_message({**outbound(CUSTOMER, "on our way"), "twilio_sid": sid, "status": "sent"})
            return str(sent["id"])
        finally:
            await store.close()

    def post(client: TestClient, path: str, form: dict[str, str]) -> list[str]:
        signature = sign(settings.public_base_url + path, form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code in (200, 204), response.text
        return requests[-1]

    def text(client: TestClient, sender: str, body: str, sid: str, path: str = "/twilio/default/sms") -> list[str]:
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": BUSINESS_NUMBER,
                "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"}  # fmt: skip
        return post(client, path, form)

    def report(client: TestClient, sid: str, status: str, path: str) -> list[str]:
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "From": BUSINESS_NUMBER,
                "To": CUSTOMER, "ApiVersion": "2010-04-01"}  # fmt: skip
        return post(client, path, form)

    with TestClient(app, headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        token = client.post("/jobs", json=job_body()).json()["token"]
        sent = asyncio.run(a_text_sent_by_twilio("SMsent"))
        earlier = asyncio.run(a_text_sent_by_twilio("SMearlier"))
        text(client, CUSTOMER, "STATUS", "SM" + "0" * 32)  # every statement prepared once on the pool's connection
        text(client, NEW_PHONE, token, "SM" + "1" * 32)
        report(client, "SMearlier", "sending", f"/twilio/default/status?m={earlier}")
        report(client, "SMearlier", "sent", "/twilio/status")
        found = {
            "a customer's STATUS": text(client, CUSTOMER, "STATUS", "SM" + "2" * 32),
            "a tracking code from a new phone": text(client, "+15125550178", token, "SM" + "3" * 32),
            "a question": text(client, CUSTOMER, "Can you come before noon?", "SM" + "5" * 32),
            # A confirmation looks for the reminder in the facts' one statement (none here: ordinary text).
            "a C with no reminder to answer": text(client, CUSTOMER, "C", "SM" + "6" * 32),
            "the same MessageSid again": text(client, CUSTOMER, "STATUS", "SM" + "2" * 32),
            "a report: sent -> delivered": report(client, "SMsent", "delivered", f"/twilio/default/status?m={sent}"),
            "the same report again": report(client, "SMsent", "delivered", f"/twilio/default/status?m={sent}"),
            "a text to the old address": text(client, CUSTOMER, "STATUS", "SM" + "4" * 32, "/twilio/sms"),
            "a report to the old address": report(client, "SMearlier", "delivered", "/twilio/status"),
            "a report on a text nobody logged": report(client, "SMnobody", "delivered", "/twilio/status"),
            "a dispatcher's move": text(client, DISPATCHER, "EN ROUTE 1001 20", "SM" + "7" * 32),
        }
        answered = client.get("/messages", params={"phone": CUSTOMER}).json()
        job = client.get("/jobs/1001").json()

    counts = {kind: len(calls) for kind, calls in found.items()}
    assert counts == {
        "a customer's STATUS": 2,  # the facts, then the write
        "a tracking code from a new phone": 2,
        "a question": 3,  # the facts, the relay's dispatcher's opt-out (Services.text_row), the write
        "a C with no reminder to answer": 3,  # the same: no round trip more
        "the same MessageSid again": 1,  # the facts find it: answered as before
        "a report: sent -> delivered": 2,  # the message by SID, then the guarded UPDATE
        "the same report again": 1,  # nothing to change: nothing written
        "a text to the old address": 2,  # routed by To in memory: the same two
        "a report to the old address": 2,  # the business and the message by SID at once, then the UPDATE
        "a report on a text nobody logged": 2,  # no business logged it; the default one's store looks too
        # The facts, then one transaction: the SID claimed, the job locked, moved, the three texts added
        # (their ids, then the rows), the senders woken. Ten when the move was a write of its own.
        "a dispatcher's move": 9,
    }, found
    assert verbs(found["a dispatcher's move"]) == [
        "SELECT", "BEGIN", "INSERT", "SELECT", "UPDATE", "SELECT", "INSERT", "SELECT", "COMMIT"
    ]  # fmt: skip
    for kind, calls in found.items():  # no BEGIN/COMMIT: each write is one statement, its own transaction
        if kind == "a dispatcher's move":
            continue
        assert "BEGIN" not in verbs(calls) and "COMMIT" not in verbs(calls)
    assert [verbs(calls) for calls in found.values()][:2] == [["SELECT", "WITH"], ["SELECT", "WITH"]]
    rows = answered["messages"] if isinstance(answered, dict) else answered
    assert {row["twilio_sid"]: row["status"] for row in rows if row["twilio_sid"] == "SMsent"} == {
        "SMsent": "delivered"
    }
    assert job["status"] == "en_route" and job["eta_minutes"] == 20


def test_a_state_changed_after_the_facts_costs_a_read_and_a_second_try_not_a_lost_change(
    url: str, counting: None
) -> None:
    changes: list[dict[str, Any]] = []

    def count(state: dict[str, Any]) -> dict[str, Any]:
        changes.append(state)
        return {**state, "last_ack_at": "2024-11-27T18:00:00.000Z"}

    async def scenario() -> tuple[list[str], dict[str, Any]]:
        store = await open_store(url)
        try:
            await add_job(store)
            facts = await store.conversation_facts(CUSTOMER, FactsWanted(sid="SMlate", sender_open_jobs=True))
            await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})  # meanwhile
            calls: list[str] = []
            calls_now.set(calls)
            await store.record_inbound(inbound("SMlate", job_id=1001), phone=CUSTOMER, change_phone=count,
                                       read=facts.read)  # fmt: skip
            calls_now.set(None)
            return calls, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    calls, state = run(scenario())
    assert verbs(calls) == ["WITH", "SELECT", "WITH"]  # rolled back whole, the state read again, written
    assert changes == [{}, {"opted_out": True}]
    assert state == {"opted_out": True, "last_ack_at": "2024-11-27T18:00:00.000Z"}


def test_a_read_of_another_business_is_not_written_over_the_write_reads_for_itself(url: str, counting: None) -> None:
    async def scenario() -> tuple[list[str], dict[str, Any]]:
        store = await open_store(url)
        try:
            await add_job(store)
            await store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})
            # What another business's store read of the same phone: an empty state, some version.
            theirs = PhoneRead("acme", CUSTOMER, {}, None)
            calls: list[str] = []
            calls_now.set(calls)
            await store.record_inbound(inbound("SMother", job_id=1001), phone=CUSTOMER,
                                       change_phone=lambda state: {**state, "last_ack_at": "2024-11-27T18:00:00.000Z"},
                                       read=theirs)  # fmt: skip
            calls_now.set(None)
            return calls, await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    calls, state = run(scenario())
    assert "BEGIN" in verbs(calls)  # not the one statement on that read: the locked path, on its own read
    assert state == {"opted_out": True, "last_ack_at": "2024-11-27T18:00:00.000Z"}


def test_a_text_changed_after_its_callbacks_lookup_is_changed_under_its_lock_not_overwritten(
    url: str, counting: None
) -> None:
    async def scenario() -> tuple[list[str], Any, Any]:
        deployment = await open_deployment(url)
        try:
            store: Store = deployment.default
            await store.add_message({**outbound(CUSTOMER, "on our way"), "twilio_sid": "SMsent", "status": "sent"})
            calls: list[str] = []
            calls_now.set(calls)
            found = await deployment.lookup_sid("SMsent")  # reads the message too
            assert found is not None and found[0] == "default" and found[1] is not None
            calls_now.set(None)
            first = await store.find_message_by_sid("SMsent")
            assert first is not None
            await store.update_message(first["id"], lambda m: {**m, "lookups": 1})  # a sender, meanwhile
            calls_now.set(calls)
            updated = await store.update_message_by_sid("SMsent", lambda m: {**m, "status": "delivered"}, read=found[1])
            calls_now.set(None)
            return calls, updated, await store.find_message_by_sid("SMsent")
        finally:
            await deployment.close()

    calls, found, stored = run(scenario())
    assert verbs(calls) == ["SELECT", "WITH", "BEGIN", "SELECT", "UPDATE", "COMMIT"]  # the guard missed: locked
    assert found is not None and found[1] == stored
    assert stored["status"] == "delivered" and stored["lookups"] == 1


def run(scenario: Any) -> Any:
    return asyncio.run(scenario)
