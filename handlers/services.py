"""What handlers share at run time, and the job actions both the API and SMS use.

Dispatcher texts and `POST /jobs/{id}/status` move jobs through the very
same `status_move`, so both follow one set of rules and text once.
Setting an appointment (`create_job`, `edit_job`) also sets when its
day-before reminder is due (bot/reminders.py; sender/reminders.py sends it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot import jobs, reminders, reviews
from bot.confirmations import unconfirmed
from bot.consent import DEFAULT_SOURCE, consent_given
from bot.media import PictureLinks
from bot.messages import outbound_message, with_media
from bot.notifications import Notifier
from bot.send_later import held_until
from bot.templates import RESCHEDULED, Templates, builtin_templates
from bot.tokens import new_token
from config.settings import Settings
from store import Job, JobWrite, Message, Once, Store, public_message


@dataclass
class Services:
    settings: Settings
    # Every write that queues a text wakes the senders itself (Store.wait_for_work).
    store: Store
    # The status-text wording in force (create_app loads TEMPLATES_PATH over the built-ins).
    templates: Templates = field(default_factory=builtin_templates)

    @property
    def from_address(self) -> str:
        """What outbound rows record as `from` (a number, a Messaging Service SID, or "console")."""
        return self.settings.sender_address

    def message_json(self, message: Message) -> dict[str, Any]:
        """A message as the dashboard API (and its events) shows it: `media` items with their `url`."""
        return public_message(message, self.settings.dashboard_media_url)

    @cached_property
    def notifier(self) -> Notifier:
        """The maker of texts about jobs, in this business's wording.

        Built once: settings and templates are fixed for the Services' life, and every status text uses it."""
        return Notifier.for_business(self.settings, self.templates)

    @cached_property
    def picture_links(self) -> PictureLinks:
        """This business's private picture links (bot.media), their keys derived from SECRET_KEY once."""
        return PictureLinks(self.settings.public_base_url, self.settings.business_slug, str(self.settings.secret_key))

    def notification(self, job: Job, opted_out: bool, now: str, template: str | None = None) -> dict[str, Any]:
        """The queued text for `job`: its current status's, or `template`'s (`rescheduled`, `reminder`)."""
        return self.notifier.row(job, now=now, opted_out=opted_out, template=template)

    async def create_job(
        self,
        fields: dict[str, Any],
        *,
        once: Once | None = None,
        now: str | None = None,
        consent: ConsentGiven | None = None,
    ) -> JobWrite:
        """Store a new scheduled job and queue its confirmation text, in one write (with `once`'s key);
        then add the booking to the phone's consent history (`consent`: how and by whom it was given)."""
        opted_out = await self.store.is_opted_out(fields["customer_phone"])
        now = now or jobs.utc_now()  # tests pass a booking time (a reminder's due time counts from it)

        def build(job_id: int) -> JobWrite:
            job = reminders.schedule(jobs.new_job(job_id, new_token(), fields, now), self.settings.reminder_policy, now)
            return JobWrite(job, [self.notification(job, opted_out, now)])

        created = await self.store.create_job(build, once=once)
        given = consent or ConsentGiven()
        await self.store.update_phone(
            fields["customer_phone"],
            lambda state: consent_given(state, now, given.source, by=given.by, job_id=created.job["id"]),
        )
        return created

    async def change_status(
        self,
        job_id: int,
        status: str,
        *,
        by: str,
        eta_minutes: int | None = None,
        total: float | None = None,
        now: str | None = None,
        once: Once | None = None,
    ) -> JobWrite:
        """Set a job's status (InvalidTransition says why not) and queue the customer's text with it.

        `now` (ISO UTC, default the current time) stamps the history entry and the text.
        A dispatcher's move by text is the same change (`status_move`), made in the write that
        records their text (handlers/twilio/moves.py).
        """
        job = await self.store.get_job(job_id)
        opted_out = await self.store.is_opted_out(job["customer_phone"])
        move = self.status_move(
            status, by=by, opted_out=opted_out, now=now or jobs.utc_now(), eta_minutes=eta_minutes, total=total
        )
        return await self.store.update_job(job_id, move, once=once)

    def status_move(
        self,
        status: str,
        *,
        by: str,
        opted_out: bool,
        now: str,
        eta_minutes: int | None = None,
        total: float | None = None,
        media: Sequence[Mapping[str, Any]] = (),
        media_wait_sid: str | None = None,
    ) -> Callable[[Job], JobWrite]:
        """A status change as a pure function of the job (for Store.update_job, or a dispatcher's
        Store.record_move): the job moved and the customer's text (`opted_out`: queued `skipped`),
        or unchanged; InvalidTransition says why not. `media` ([{id}], a dispatcher's pictures) goes
        with the text as an MMS once the fetch of the inbound text `media_wait_sid` has ended
        (docs/pictures.md)."""

        def change(current: Job) -> JobWrite:
            applied = jobs.apply_status(current, status, by=by, now=now, eta_minutes=eta_minutes, total=total)
            if not applied.changed:
                return JobWrite(current, [], changed=False)
            # A completed job gets its review request's due time (bot/reviews.py; sender/reviews.py sends it).
            applied_job = reviews.schedule(applied.job, self.settings.review_policy, now)
            text = self.notification(applied_job, opted_out, now)
            if media:
                text = with_media(text, media, wait_sid=media_wait_sid)
            return JobWrite(applied_job, [text])

        return change

    async def edit_job(
        self, job_id: int, cleaned: dict[str, Any], *, by: str = "api", now: str | None = None
    ) -> JobWrite:
        """PATCH: apply already-cleaned fields; a new appointment for an open job texts the customer once.

        Only a change of `scheduled_for` texts (template `rescheduled`): the same
        appointment again (in any spelling), a cleared one, or a closed job
        texts no one. A new appointment also gets its own day-before reminder, and
        is recorded in the job's `reschedules` (when, `by` whom, from and to). A new
        appointment of an open job that has already passed is refused (422, bot.jobs).
        """
        job = await self.store.get_job(job_id)
        opted_out = await self.store.is_opted_out(cleaned.get("customer_phone") or job["customer_phone"])
        now = now or jobs.utc_now()

        def change(current: Job) -> JobWrite:
            edited = jobs.edit(current, cleaned, now)
            moved = not reminders.same_appointment(edited.get("scheduled_for"), current.get("scheduled_for"))
            if not moved:
                return JobWrite(edited, [], changed=edited != current)
            jobs.refuse_past_appointment(edited, self.settings.timezone, now)  # 422, nothing written
            edited = reminders.schedule(
                unconfirmed(jobs.rescheduled(edited, current, by=by, now=now)), self.settings.reminder_policy, now
            )
            texts = []
            if jobs.is_open(edited) and edited.get("scheduled_for") is not None:
                texts.append(self.notification(edited, opted_out, now, RESCHEDULED))
            return JobWrite(edited, texts)

        return await self.store.update_job(job_id, change)

    async def text_customer(
        self,
        job_id: int,
        body: str,
        *,
        kind: str = "relay",
        once: Once | None = None,
        media: Sequence[Mapping[str, Any]] = (),
        send_at: str | None = None,
        sent_by: str | None = None,
    ) -> dict[str, Any]:
        """Queue a free text to the job's customer; `skipped` with the reason if they opted out.

        `media` ([{id, type, size}] of pictures this business keeps) makes it an MMS; `send_at`
        (ISO UTC) holds it until then (bot/send_later.py); `sent_by` is the dispatcher's phone when a
        person wrote it (the office inbox shows who)."""
        job = await self.store.get_job(job_id)
        row = await self.text_row(job["customer_phone"], body, kind=kind, job_id=job_id, media=media)
        if send_at is not None:
            row = held_until(row, send_at)
        if sent_by:
            row = {**row, "sent_by": sent_by}
        return await self.store.add_message(row, once=once)

    async def resend(self, original: Message, *, once: Once | None = None) -> dict[str, Any]:
        """Queue `original` (an `unknown` text) again as a new text, `resend_of` naming it; the original
        stays as it was, the record of the attempt. Its pictures go again too."""
        row = await self.text_row(original["to"], original["body"], kind=original["kind"], job_id=original["job_id"])
        if original.get("media"):
            row = with_media(
                row, [{key: item.get(key) for key in ("id", "type", "size")} for item in original["media"]]
            )
        return await self.store.add_message({**row, "resend_of": original["id"]}, once=once)

    async def text_row(
        self,
        to: str,
        body: str,
        *,
        kind: str,
        job_id: int | None = None,
        media: Sequence[Mapping[str, Any]] = (),
        media_wait_sid: str | None = None,
    ) -> dict[str, Any]:
        """The queue row for a text to any phone (`skipped` with the reason if it opted out), not yet stored.

        With `media` it is an MMS; with `media_wait_sid` the sender holds it until that inbound
        text's pictures are fetched (they are its `media`, or linked in its body)."""
        row = outbound_message(
            kind=kind,
            to=to,
            body=body,
            sender=self.from_address,
            now=jobs.utc_now(),
            opted_out=await self.store.is_opted_out(to),
            job_id=job_id,
        )
        if media or media_wait_sid is not None:
            row = with_media(row, media, wait_sid=media_wait_sid)
        return row

    async def queue_text(self, to: str, body: str, *, kind: str, job_id: int | None = None) -> dict[str, Any]:
        """Queue a text to any phone, logged in job `job_id`'s conversation when given, else the phone's."""
        return await self.store.add_message(await self.text_row(to, body, kind=kind, job_id=job_id))


@dataclass(frozen=True)
class ConsentGiven:
    """How a booked customer agreed to texts (POST /jobs `consent`) and who booked them."""

    source: str = DEFAULT_SOURCE
    by: str | None = None


SERVICES_KEY = "qdn.services"  # where handlers/tenancy.py `use` puts the request's business's Services


def services(request: Any) -> Services:
    """The Services of the business this request is for, as handlers/auth.py's bearer check (or another
    step calling handlers/tenancy.py `use`) scoped it.

    A request no step scoped is a bug in the routes (answered 500, never another business's data):
    the error says which step is missing, as Starlette's `request.auth` does, not a bare KeyError.
    """
    try:
        return request.scope[SERVICES_KEY]
    except KeyError:
        raise RuntimeError(
            "this request is not scoped to a business: wrap the endpoint in handlers.auth.require_api_token "
            "(or call handlers.tenancy.use first) before reading services(request)"
        ) from None


def text_outcome(message: dict[str, Any] | None) -> dict[str, Any] | None:
    """What became of the customer's text, for the API's answers (SPEC "For dashboards"):
    {"id", "status": "pending" | "skipped", "reason": None | "opted_out"}, or None when none was queued."""
    if message is None:
        return None
    # A text is `skipped` when queued for one reason only: its phone has opted out (bot.messages.outbound_message).
    reason = "opted_out" if message["status"] == "skipped" else None
    return {"id": message["id"], "status": message["status"], "reason": reason}
