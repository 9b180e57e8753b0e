"""A whole store, read and written as rows: `qdn store copy` (store/copy.py; store_contract/test_import_rows.py).

Everything a store holds is reached from `list_jobs` (each job's `job_messages`) and `phones`
(each phone's `get_phone`, and its own texts: `phone_messages` rows with no `job_id`);
`import_rows` writes such rows into another store, as they are. Idempotency keys and dashboard
events are not rows of this kind: a copy leaves them behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping

from store.records import Job, Message, PhoneState


class Rows(ABC):
    """The phones a store keeps something for, and rows written in as they are."""

    @abstractmethod
    async def phones(self) -> list[str]:
        """Every phone with something kept outside any job -- a state (even `{}`), or texts with no
        `job_id` -- sorted. A phone known only from jobs' conversations is not listed."""

    @abstractmethod
    async def import_rows(
        self,
        *,
        jobs: Iterable[Job] = (),
        messages: Iterable[Message] = (),
        phones: Mapping[str, PhoneState] | None = None,
    ) -> None:
        """Write rows read from another store, as they are, in one atomic write (store/copy.py).

        - `jobs`: each stored whole, keeping its `id`, `token` and every other key (history,
          times, `reminder_due_at` ...); a later `create_job` allocates past the highest id.
        - `messages`: appended in the order given, each to its conversation (its `job_id`'s,
          else its `phone`'s), keeping every key given but `id` -- the store makes a new id --
          `created_at`, `updated_at`, `status`, `twilio_sid`, `send_started_at` included. So a
          conversation imported in its `job_messages` / `phone_messages` order reads back in
          that order. A `pending` one joins the send queue, unclaimed, and wakes the senders.
        - `phones`: each phone's state set to the one given.

        Nothing else happens: no dashboard event is queued, no idempotency key kept, no
        `updated_at` stamped. All or nothing: ValueError, writing nothing, if a job's id is
        taken, a job's token is taken (here, or by another business of the deployment), a
        message's `job_id` names a job neither stored nor in this call, or a message's
        `twilio_sid` is stored already (or given twice).
        """
