"""Conversations are oldest first: by `created_at`, ties in the order written (Store.job_messages).

handlers/twilio/receive.py relies on it: a dispatcher's text and the answer logged with
it share one stamp, and must read in the order they were written.
"""

from __future__ import annotations

from store import open_store
from tests.store_contract.support import CUSTOMER, NOW, OTHER, add_job, inbound, outbound, reply_to, run

EARLY = "2024-11-27T18:00:00.000Z"
LATE = "2024-11-27T19:00:00.000Z"


def test_same_millisecond_texts_keep_the_order_written(database_url: str) -> None:
    """However many share the millisecond: past the 9th too ("-10" sorts before "-9" as text)."""

    async def scenario():
        store = await open_store(database_url)
        await add_job(store, texts=0)
        for n in range(12):
            await store.add_message(outbound(CUSTOMER, f"text {n}", job_id=1001, now=NOW))
        try:
            return (await store.pending_messages(), await store.phone_messages(CUSTOMER),
                    await store.job_messages(1001))  # fmt: skip
        finally:
            await store.close()

    pending, log, conversation = run(scenario())
    in_order = [f"text {n}" for n in range(12)]
    assert [m["body"] for m in pending] == in_order
    assert [m["body"] for m in log] == in_order
    assert [m["body"] for m in conversation] == in_order


def test_ties_outside_any_job_keep_the_order_written_too(database_url: str) -> None:
    async def scenario():
        store = await open_store(database_url)
        try:
            for n in range(11):
                text = inbound(f"SM{n}", body=f"text {n}", now=NOW)
                await store.record_inbound(text, outbound=[reply_to(text, f"answer {n}")])
            return await store.phone_messages(CUSTOMER)
        finally:
            await store.close()

    log = run(scenario())
    assert [m["body"] for m in log] == [word for n in range(11) for word in (f"text {n}", f"answer {n}")]


def test_a_text_stamped_earlier_but_written_later_reads_first(database_url: str) -> None:
    """A dispatcher's text is stamped when it came in, though the status change it causes is written first."""

    async def scenario():
        store = await open_store(database_url)
        try:
            await add_job(store, texts=0)
            await store.add_message(outbound(CUSTOMER, "on the way", job_id=1001, kind="notification", now=LATE))
            text = inbound("SMomw", phone=OTHER, body="OMW 1001", job_id=1001, now=NOW)
            await store.record_inbound(text, outbound=[reply_to(text, "Job 1001 is en route.")])
            await store.add_message(outbound(OTHER, "hello", now=LATE))  # the dispatcher's own conversation
            await store.add_message(outbound(OTHER, "earlier", now=EARLY))
            return await store.job_messages(1001), await store.phone_messages(OTHER), \
                await store.phone_messages(CUSTOMER)  # fmt: skip
        finally:
            await store.close()

    conversation, dispatcher, customer = run(scenario())
    assert [m["body"] for m in conversation] == ["OMW 1001", "Job 1001 is en route.", "on the way"]
    # A phone's view merges its conversations by time (no ties between them here).
    assert [m["body"] for m in dispatcher] == ["earlier", "OMW 1001", "Job 1001 is en route.", "hello"]
    assert [m["body"] for m in customer] == ["on the way"]
