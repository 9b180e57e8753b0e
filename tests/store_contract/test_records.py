"""What a backend keeps is what store/records.py declares: every key, round-tripped, and nothing else."""

from __future__ import annotations

import pytest

from store import JobWrite, open_store, public_message
from store.base import MESSAGE_FIELDS
from store.records import JobRecord, MessageRecord, PhoneStateRecord, PublicMessage
from tests.store_contract.support import (
    CUSTOMER,
    DISPATCHER,
    NOW,
    add_job,
    assert_declared,
    inbound,
    job_record,
    moved,
    outbound,
    reply_to,
    run,
)
from tests.store_contract.test_phone_state import EVERY_KEY

# An appointment moved (PATCH scheduled_for): kept beside `history`, which holds status changes only.
RESCHEDULE = {"at": NOW, "by": "api", "from": "2024-12-04T09:00:00-06:00", "to": "2024-12-05"}
SENDER_KEYS = {
    "attempts": 2,
    "send_started_at": "2024-11-27T18:33:00.000Z",
    "next_attempt_at": "2024-11-27T18:34:00.000Z",
    "lookups": 1,
}


def test_every_declared_key_round_trips_across_a_restart(database_url: str) -> None:
    async def write():
        store = await open_store(database_url)
        job = {**job_record(1001, "AAAA"), "address": None, "scheduled_for": "2024-12-05", "total": 350,
               "invoice_url": "https://pay.example/1", "notes": "gate code 4412",
               "reschedules": [RESCHEDULE]}  # fmt: skip
        await store.create_job(lambda job_id: JobWrite(job))
        await store.update_job(1001, lambda job: JobWrite(moved(job, "en_route", by=DISPATCHER, eta_minutes=20)))
        text = inbound("SMin", job_id=1001)
        (stored_in, answer), _ = await store.record_inbound(text, outbound=[reply_to(text)])
        queued = await store.add_message({**outbound(CUSTOMER, "hi", job_id=1001), **SENDER_KEYS})
        failed = await store.update_message(
            queued["id"], lambda m: {**m, "status": "failed", "error_code": 21610, "error_message": "opted out"}
        )
        state = await store.update_phone(CUSTOMER, lambda state: dict(EVERY_KEY))
        await store.close()
        return [stored_in, answer, failed], state

    async def read(ids):
        store = await open_store(database_url)
        try:
            return await store.get_job(1001), [await store.get_message(i) for i in ids], await store.get_phone(CUSTOMER)
        finally:
            await store.close()

    written, state = run(write())
    job, messages, state_after = run(read([m["id"] for m in written]))
    assert job["history"][-1] == {"status": "en_route", "at": NOW, "by": DISPATCHER, "eta_minutes": 20}
    assert (job["scheduled_for"], job["total"], job["notes"]) == ("2024-12-05", 350, "gate code 4412")
    assert job["reschedules"] == [RESCHEDULE]
    assert messages == written and state_after == state == EVERY_KEY
    assert messages[0]["reply_body"] == "Job 1001 is scheduled." and messages[0]["num_media"] == "0"
    assert {key: messages[2][key] for key in SENDER_KEYS} == SENDER_KEYS
    assert (messages[2]["error_code"], messages[2]["status"]) == (21610, "failed")
    assert_declared(job, JobRecord)
    for message in messages:
        assert_declared(message, MessageRecord)
    assert_declared(state_after, PhoneStateRecord)


def test_every_list_holds_declared_records_only(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store)
            text = inbound("SMlist")
            await store.record_inbound(text, outbound=[reply_to(text)], phone=CUSTOMER,
                                       change_phone=lambda s: {**s, "last_ack_at": NOW})  # fmt: skip
            return (await store.list_jobs(), await store.job_messages(1001), await store.phone_messages(CUSTOMER),
                    await store.pending_messages(), await store.get_phone(CUSTOMER))  # fmt: skip
        finally:
            await store.close()

    jobs, conversation, log, pending, state = run(scenario())
    assert len(jobs) == 1 and len(conversation) == 1 and len(log) == 3 and len(pending) == 1
    for job in jobs:
        assert_declared(job, JobRecord)
    for message in [*conversation, *log, *pending]:
        assert_declared(message, MessageRecord)
    assert_declared(state, PhoneStateRecord)


@pytest.mark.parametrize(
    ("record", "record_type"),
    [
        ({**job_record(1001, "A"), "tracking_url": "https://x"}, JobRecord),  # made per request, never stored
        ({**outbound(CUSTOMER, "hi"), "send_after": NOW}, MessageRecord),
        ({**outbound(CUSTOMER, "hi"), "attempts": "2"}, MessageRecord),
        ({**outbound(CUSTOMER, "hi"), "attempts": True}, MessageRecord),
        ({**outbound(CUSTOMER, "hi"), "job_id": "1001"}, MessageRecord),
        ({"token_misses": {"since": NOW, "count": 1, "extra": 1}}, PhoneStateRecord),
        ({"recent_answers": {"abc": 3}}, PhoneStateRecord),
        ({"opted_out": "yes"}, PhoneStateRecord),
        ({k: v for k, v in job_record(1001, "A").items() if k != "history"}, JobRecord),
        ({**job_record(1001, "A"), "history": [{"status": "scheduled"}]}, JobRecord),
        ({**job_record(1001, "A"), "reschedules": [{"at": NOW, "by": "api", "to": None}]}, JobRecord),
    ],
)
def test_the_check_refuses_what_is_declared_nowhere(record: dict, record_type: type) -> None:
    with pytest.raises(AssertionError):
        assert_declared(record, record_type)


def test_the_api_shows_the_public_keys_in_the_declared_order() -> None:
    message = {**inbound("SMx"), "id": "m1", **SENDER_KEYS}
    # SPEC "JSON shapes", in its order; then `media` (pictures), `resend_of` (a resent unknown text) and
    # `send_at` (a text sent later)
    spec = ("id", "direction", "kind", "job_id", "phone", "from", "to", "body", "twilio_sid", "status", "error_code",
            "error_message", "created_at", "updated_at", "media", "resend_of", "send_at")  # fmt: skip
    assert spec == MESSAGE_FIELDS
    assert list(public_message(message)) == list(MESSAGE_FIELDS)
    assert public_message({"id": "m2"})["body"] is None  # absent values are null
    assert public_message({"id": "m2"})["media"] == []  # ... but a message with no pictures has an empty list
    assert public_message({"id": "m2"})["resend_of"] is None
    picture = {"id": "p1", "type": "image/png", "size": 9}
    assert public_message({"id": "m3", "media": [picture]}, lambda media_id: f"/media/{media_id}")["media"] == [
        {**picture, "url": "/media/p1"}
    ]
    assert not set(MESSAGE_FIELDS) & (set(MessageRecord.__annotations__) - set(PublicMessage.__annotations__))
