"""Day-before reminders as due rows on jobs: what every backend must answer (Store.due_reminders).

Jobs are written out by hand with `reminder_due_at`; the claim is `update_job`,
whose change sees the job as stored at that moment (the contract's atomic write).
"""

from __future__ import annotations

import asyncio
from typing import Any

from store import Job, JobWrite, Store, open_store
from store.records import JobRecord
from tests.store_contract.support import CUSTOMER, assert_declared, job_record, moved, outbound, run

EARLY, LATE, NOW, LATER = (f"2026-12-0{day}T23:00:00.000Z" for day in (2, 3, 4, 5))


def reminded_job(job_id: int, due: str | None) -> Job:
    return {**job_record(job_id, f"T{job_id}"), "scheduled_for": "2026-12-06", "reminder_due_at": due}


async def with_jobs(store: Store, *dues: str | None) -> None:
    for n, due in enumerate(dues):

        def build(job_id: int, due: str | None = due) -> JobWrite:
            return JobWrite(reminded_job(job_id, due))

        await store.create_job(build)
        assert (await store.get_job(1001 + n))["reminder_due_at"] == due


def claim(job_id: int, now: str) -> Any:
    """The reminder loop's change: due and scheduled -> its text, the due time cleared, what it was for."""

    def change(job: Job) -> JobWrite:
        due = job.get("reminder_due_at")
        if due is None or due > now or job["status"] != "scheduled":
            return JobWrite(job, [], changed=False)
        settled = {**job, "reminder_due_at": None, "reminder_for": job["scheduled_for"]}
        return JobWrite(settled, [outbound(CUSTOMER, "reminder", job_id=job_id, kind="notification")])

    return change


def test_due_reminders_are_scheduled_jobs_due_by_now_earliest_first(database_url):
    async def scenario(store: Store) -> tuple[list[int], list[int], str | None]:
        await with_jobs(store, LATE, None, EARLY, LATER, NOW)
        await store.update_job(1005, lambda job: JobWrite(moved(job, "cancelled")))  # no longer scheduled
        due = [job["id"] for job in await store.due_reminders(NOW, 10)]
        limited = [job["id"] for job in await store.due_reminders(NOW, 1)]
        return due, limited, await store.next_reminder_at()

    due, limited, upcoming = run(_with_store(database_url, scenario))
    assert due == [1003, 1001] and limited == [1003]
    assert upcoming == EARLY


def test_a_claimed_reminder_is_due_no_more_and_its_text_is_written_with_it(database_url):
    async def scenario(store: Store) -> tuple[Any, ...]:
        await with_jobs(store, EARLY)
        first = await store.update_job(1001, claim(1001, NOW))
        second = await store.update_job(1001, claim(1001, NOW))  # another sender, a moment later
        return first, second, await store.due_reminders(NOW, 10), await store.job_messages(1001)

    first, second, due, messages = run(_with_store(database_url, scenario))
    assert first.changed and len(first.messages) == 1
    assert not second.changed and second.messages == []
    assert due == [] and [m["body"] for m in messages] == ["reminder"]
    assert first.job["reminder_for"] == "2026-12-06"
    assert_declared(first.job, JobRecord)


def test_concurrent_claims_write_one_reminder(database_url):
    async def scenario(store: Store) -> list[Any]:
        await with_jobs(store, EARLY)
        await asyncio.gather(*(store.update_job(1001, claim(1001, NOW)) for _ in range(5)))
        return await store.job_messages(1001)

    assert len(run(_with_store(database_url, scenario))) == 1


def test_due_reminders_survive_a_restart(database_url):
    async def write(store: Store) -> None:
        await with_jobs(store, EARLY, LATE)
        await store.update_job(1001, claim(1001, NOW))

    async def read(store: Store) -> tuple[list[Job], str | None]:
        return await store.due_reminders(LATER, 10), await store.next_reminder_at()

    run(_with_store(database_url, write))
    due, upcoming = run(_with_store(database_url, read))
    assert [job["id"] for job in due] == [1002] and upcoming == LATE
    assert due[0]["reminder_due_at"] == LATE


async def _with_store(database_url: str, scenario: Any) -> Any:
    store = await open_store(database_url)
    try:
        return await scenario(store)
    finally:
        await store.close()
