"""The inbox's conversation list (store/roles/conversations.py): "Needs reply" kept by the store.

A customer's free text makes the conversation wait; a person's answer (a relay) or a status move's
text ends the wait; an automatic answer and a dispatcher's own texts do not. Waiting ones come
first, the longest waiting first; the rest by their latest text. Each row carries its latest text
that is not automatic (what the list shows). A phone is listed from its first job on, and no longer
once no job is for it. The same after a restart.
"""

from __future__ import annotations

from typing import Any

from bot.jobs import new_job
from bot.tokens import new_token
from store import JobWrite, Store, open_store
from tests.store_contract.test_throttles import at, stores

DANA, LEE, KIM, DISPATCHER = "+15125550199", "+15125550188", "+15125550177", "+15125550100"


def text(phone: str, seconds: float, *, direction: str, kind: str, job_id: int | None = None) -> dict[str, Any]:
    inbound = direction == "inbound"
    return {
        "direction": direction, "kind": kind, "job_id": job_id, "phone": phone,
        "from": phone if inbound else "+15125550123", "to": "+15125550123" if inbound else phone,
        "body": f"{kind} at {seconds}", "twilio_sid": None, "status": "received" if inbound else "sent",
        "error_code": None, "error_message": None, "created_at": at(seconds), "updated_at": at(seconds), "media": [],
    }  # fmt: skip


async def book(store: Store, phone: str) -> int:
    fields = {"customer_name": phone[-4:], "customer_phone": phone, "service_type": "junk removal"}
    written = await store.create_job(lambda job_id: JobWrite(new_job(job_id, new_token(), fields, at(0)), []))
    return int(written.job["id"])


async def history(store: Store) -> None:
    for phone in (DANA, LEE, KIM):
        await book(store, phone)
    await store.add_message(text(KIM, 5, direction="outbound", kind="notification"))  # Kim: booked, nothing waits
    await store.add_message(text(DANA, 10, direction="inbound", kind="text"))  # Dana asks ...
    await store.add_message(text(DANA, 11, direction="outbound", kind="reply"))  # ... an automatic ack: still waits
    await store.add_message(text(LEE, 20, direction="inbound", kind="text"))  # Lee asks, after Dana
    await store.add_message(text(LEE, 30, direction="outbound", kind="relay"))  # ... and is answered
    await store.add_message(text(KIM, 40, direction="inbound", kind="command"))  # Kim texts STATUS: no wait
    await store.add_message(text(DISPATCHER, 50, direction="inbound", kind="text"))  # not a customer: not listed


def summary(page: tuple[list[Any], int]) -> tuple[list[tuple[str, str | None]], int]:
    rows, waiting = page
    return [(row["phone"], row["waiting_since"]) for row in rows], waiting


def test_waiting_conversations_first_then_by_latest_text(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> Any:
        (store,) = instances
        await history(store)
        return summary(await store.conversations_page(offset=0, limit=50))

    assert stores(database_url, scenario) == ([(DANA, at(10)), (KIM, None), (LEE, None)], 1)


def test_a_status_move_or_a_reply_ends_the_wait_and_a_new_text_starts_one(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> Any:
        (store,) = instances
        await history(store)
        await store.add_message(text(DANA, 60, direction="outbound", kind="notification"))  # Dana's job moved
        await store.add_message(text(LEE, 70, direction="inbound", kind="text"))  # Lee asks again
        return summary(await store.conversations_page(offset=0, limit=50))

    assert stores(database_url, scenario) == ([(LEE, at(70)), (DANA, None), (KIM, None)], 1)


def test_pages_and_a_restart(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> Any:
        (store,) = instances
        await history(store)
        return [summary(await store.conversations_page(offset=offset, limit=2)) for offset in (0, 2)]

    async def reopened() -> Any:
        store = await open_store(database_url)
        try:
            return summary(await store.conversations_page(offset=1, limit=5))
        finally:
            await store.close()

    import asyncio

    assert stores(database_url, scenario) == [([(DANA, at(10)), (KIM, None)], 1), ([(LEE, None)], 1)]
    assert asyncio.run(reopened()) == ([(KIM, None), (LEE, None)], 1)


def test_each_row_carries_its_latest_text_that_is_not_an_automatic_answer(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> Any:
        (store,) = instances
        await history(store)
        await store.add_message(text(LEE, 30, direction="outbound", kind="system"))  # Lee: an automatic text, same time
        rows, _ = await store.conversations_page(offset=0, limit=50)
        return [(row["phone"], row["said"], row["said_at"]) for row in rows]

    assert stores(database_url, scenario) == [
        (DANA, "text at 10", at(10)),  # the acknowledgement at 11 is automatic
        (KIM, "command at 40", at(40)),
        (LEE, "relay at 30", at(30)),
    ]


def test_a_phone_is_listed_from_its_first_job_until_no_job_is_for_it(database_url: str) -> None:
    async def scenario(instances: list[Store]) -> Any:
        (store,) = instances
        seen = []
        await store.add_message(text(DANA, 10, direction="inbound", kind="text"))  # no job yet: not listed
        await store.add_message(text(LEE, 10, direction="inbound", kind="command"))
        seen.append(summary(await store.conversations_page(offset=0, limit=50)))
        dana = await book(store, DANA)
        lee = await book(store, LEE)  # Lee's last text has Dana's time: the phone breaks the tie, descending
        await store.add_message(text(DANA, 10, direction="outbound", kind="notification"))
        seen.append(summary(await store.conversations_page(offset=0, limit=50)))
        await store.update_job(lee, lambda job: JobWrite({**job, "customer_phone": KIM}, []))  # typed wrong
        seen.append(summary(await store.conversations_page(offset=0, limit=50)))
        await store.update_job(dana, lambda job: JobWrite({**job, "customer_phone": LEE}, []))
        await store.add_message(text(KIM, 20, direction="inbound", kind="text"))
        seen.append(summary(await store.conversations_page(offset=0, limit=50)))
        return seen

    assert stores(database_url, scenario) == [
        ([], 0),
        ([(DANA, None), (LEE, None)], 0),
        ([(DANA, None)], 0),  # Kim has a job now, but no text yet
        ([(KIM, at(20)), (LEE, None)], 1),
    ]
