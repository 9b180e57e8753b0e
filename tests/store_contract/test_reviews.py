"""Review requests as due rows on completed jobs: what every backend must answer (Store.due_reviews).

Jobs are written out by hand with `review_due_at`; the claim is `update_job`, whose change sees
the job as stored at that moment (the contract's atomic write).
"""

from __future__ import annotations

import asyncio
from typing import Any

from store import Job, JobWrite, Store
from store.records import JobRecord
from tests.store_contract.support import CUSTOMER, assert_declared, job_record, moved, outbound, run
from tests.store_contract.test_reminders import _with_store

EARLY, LATE, NOW, LATER = (f"2026-12-0{day}T16:00:00.000Z" for day in (2, 3, 4, 5))


async def with_completed(store: Store, *dues: str | None) -> None:
    for due in dues:

        def build(job_id: int, due: str | None = due) -> JobWrite:
            done = moved(job_record(job_id, f"T{job_id}"), "complete")
            return JobWrite({**done, "review_due_at": due, "review_completed_at": "2026-12-01T21:00:00.000Z"})

        await store.create_job(build)


def claim(job_id: int, now: str) -> Any:
    """The review loop's change: due and complete -> its text and the due time cleared."""

    def change(job: Job) -> JobWrite:
        due = job.get("review_due_at")
        if due is None or due > now or job["status"] != "complete":
            return JobWrite(job, [], changed=False)
        settled = {**job, "review_due_at": None, "review_sent_at": now}
        return JobWrite(settled, [outbound(CUSTOMER, "review", job_id=job_id, kind="notification")])

    return change


def test_due_reviews_are_complete_jobs_due_by_now_earliest_first(database_url):
    async def scenario(store: Store) -> tuple[list[int], list[int], str | None]:
        await with_completed(store, LATE, None, EARLY, LATER, NOW)
        await store.update_job(1005, lambda job: JobWrite(moved(job, "cancelled")))  # no longer complete
        due = [job["id"] for job in await store.due_reviews(NOW, 10)]
        limited = [job["id"] for job in await store.due_reviews(NOW, 1)]
        return due, limited, await store.next_review_at()

    due, limited, upcoming = run(_with_store(database_url, scenario))
    assert due == [1003, 1001] and limited == [1003]
    assert upcoming == EARLY


def test_concurrent_claims_write_one_request_and_it_is_due_no_more(database_url):
    async def scenario(store: Store) -> tuple[Any, ...]:
        await with_completed(store, EARLY)
        writes = await asyncio.gather(*(store.update_job(1001, claim(1001, NOW)) for _ in range(5)))
        return writes, await store.job_messages(1001), await store.due_reviews(LATER, 10), await store.next_review_at()

    writes, messages, due, upcoming = run(_with_store(database_url, scenario))
    assert [m["body"] for m in messages] == ["review"] and due == [] and upcoming is None
    assert sum(write.changed for write in writes) == 1
    assert_declared(next(write.job for write in writes if write.changed), JobRecord)


def test_due_reviews_survive_a_restart(database_url):
    async def write(store: Store) -> None:
        await with_completed(store, EARLY, LATE)
        await store.update_job(1001, claim(1001, NOW))

    async def read(store: Store) -> tuple[list[Job], str | None]:
        return await store.due_reviews(LATER, 10), await store.next_review_at()

    run(_with_store(database_url, write))
    due, upcoming = run(_with_store(database_url, read))
    assert [job["id"] for job in due] == [1002] and upcoming == LATE
