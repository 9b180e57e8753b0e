"""Jobs: created, read, listed and changed atomically (store_contract/test_jobs.py).

Read-modify-write goes through `create_job` and `update_job`, which take a pure function and
run it inside the backend's write, so a status change and the texts it causes land together or
not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.jobs import EDITABLE_FIELDS
from store.records import Job, Message
from store.roles.idempotency import Once


@dataclass
class JobWrite:
    """What one atomic job write stores: the job and the messages it adds."""

    job: Job
    messages: list[Message] = field(default_factory=list)
    changed: bool = True


# The public shape of a job (SPEC "JSON shapes"), in order; other keys (a reminder's due time ...) are internal.
# `reschedules` (its appointment changes) is stored from the first one on: [] until then.
# `confirmed_at`: when the customer confirmed the appointment by text (bot/confirmations.py); null until then.
JOB_FIELDS = ("id", "token", "tracking_url", *EDITABLE_FIELDS, "status", "eta_minutes", "history", "reschedules",
              "reminder_held", "confirmed_at", "created_at", "updated_at")  # fmt: skip


def public_job(job: Job, tracking_url: str | None = None) -> dict[str, Any]:
    """The job as the JSON API shows it; without `tracking_url`, as a dashboard event does (added on delivery)."""
    shown = {"reschedules": [], "reminder_held": None, **job, "tracking_url": tracking_url}
    return {key: shown.get(key) for key in JOB_FIELDS if tracking_url is not None or key != "tracking_url"}


class Jobs(ABC):
    """The jobs of one business."""

    @abstractmethod
    async def create_job(self, build: Callable[[int], JobWrite], *, once: Once | None = None) -> JobWrite:
        """Allocate the next job id, call `build(id)` and store the result.

        `build` may be called again if the token it chose is already taken.
        KeyUsed, writing nothing, if `once`'s key is taken (so for update_job and add_message).
        """

    @abstractmethod
    async def get_job(self, job_id: int) -> Job:
        """The job, or NotFound."""

    @abstractmethod
    async def find_job_by_token(self, token: str) -> Job | None:
        """The job with this canonical token, if any."""

    @abstractmethod
    async def list_jobs(self, *, statuses: Iterable[str] | None = None, phone: str | None = None) -> list[Job]:
        """Jobs newest first, optionally only these statuses / this customer phone."""

    @abstractmethod
    async def update_job(self, job_id: int, change: Callable[[Job], JobWrite], *, once: Once | None = None) -> JobWrite:
        """Run `change(job)` and store its result atomically (NotFound if no job).

        Nothing is written when the result says `changed=False` and adds no messages (but
        `once`'s key, so that a retry gets the same answer even if the job moves meanwhile).
        """
