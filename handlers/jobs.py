"""The dashboard's jobs API (bearer-authenticated JSON)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot import consent, job_fields, jobs, undeliverable
from bot.errors import ValidationError
from bot.iso_patterns import ANY_INSTANT
from bot.phones import normalize_phone
from handlers import paging
from handlers.auth import require_api_token, token_name
from handlers.idempotency import Retry, idempotent
from handlers.json_body import json_body
from handlers.services import ConsentGiven, Services, services, text_outcome
from store import Job, JobWrite, Once, Page, public_job
from store.base import JOB_FIELDS

__all__ = ["JOB_FIELDS", "job_json"]  # the SPEC's job shape, in its order (web/openapi_schemas.py reads it)
STATUS_REQUEST_FIELDS = {"status", "eta_minutes", "total"}


def job_json(job: Job, svc: Services, phones: Mapping[str, Any]) -> dict[str, Any]:
    """The job as the API shows it, with `phone_status` from `phones` (its customer's state, if read)."""
    status = undeliverable.phone_status(phones.get(job["customer_phone"]) or {})
    return {**public_job(job, svc.settings.tracking_url(job["token"])), "phone_status": status}


async def phone_states(svc: Services, *shown: Job) -> dict[str, Any]:
    """The states of these jobs' customers' phones, in one read: a marked phone is the job's `phone_status`."""
    return await svc.store.phone_states({job["customer_phone"] for job in shown})


# An ISO 8601 date, or date-time with an optional zone (none means TIMEZONE): what `updated_since` takes.
# Any year datetime holds: a sync client may start from year 1 (.NET's default(DateTime)).
INSTANT_PATTERN = f"^{ANY_INSTANT}$"
_INSTANT = re.compile(INSTANT_PATTERN)


def _instant(raw: str, field: str, tz: ZoneInfo) -> str:
    """A date or date-time query parameter as ISO UTC (the store's spelling of times).

    A moment so near year 1 or 9999 that its offset takes it out of datetime's range is
    before (or after) every change: it reads as the first (or last) moment there is.
    """
    if not _INSTANT.fullmatch(raw):
        example = "2026-12-05T14:03:11.120Z"
        raise ValidationError(field, f"{job_fields.quoted(raw)} is not an ISO 8601 date-time, e.g. {example}")
    moment = datetime.fromisoformat(raw)  # the pattern takes only what parses
    try:
        return jobs.iso_utc(moment if moment.tzinfo else moment.replace(tzinfo=tz))
    except OverflowError:
        return jobs.iso_utc((datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC))


def _job_id(request: Request) -> int:
    return int(request.path_params["job_id"])


@require_api_token
@idempotent
async def create_job(request: Request, svc: Services, body: Any, retry: Retry) -> JSONResponse:
    # How the customer agreed to texts, kept in the phone's consent history (docs/consent.md).
    source = consent.source_of(body) if isinstance(body, dict) else consent.DEFAULT_SOURCE
    given = ConsentGiven(source, by=f"token:{token_name(request)}")
    fields = jobs.clean_fields(
        {key: value for key, value in body.items() if key != "consent"} if isinstance(body, dict) else body,
        svc.settings.timezone,
        partial=False,
    )
    phones = await svc.store.phone_states([fields["customer_phone"]])  # a booking leaves the mark as it is
    return await retry.respond(
        lambda once: svc.create_job(fields, once=once, consent=given),
        lambda created: (201, job_json(created.job, svc, phones)),
    )


@require_api_token
async def list_jobs(request: Request) -> JSONResponse:
    """Newest first; with `updated_since`, oldest change first (for sync). Paged by `limit` and `cursor`."""
    svc = services(request)
    statuses = None
    if raw := request.query_params.get("status"):
        statuses = jobs.parse_statuses(raw) or None
    phone = request.query_params.get("phone")
    customer = normalize_phone(phone, "phone") if phone else None
    limit = paging.limit_of(request)
    page: Page
    if (since := request.query_params.get("updated_since")) is not None:
        kind = "jobs_changed"
        after = paging.cursor_of(request, kind)
        moment = _instant(since, "updated_since", svc.settings.timezone)
        page = await svc.store.jobs_changed_page(moment, statuses=statuses, phone=customer, after=after, limit=limit)
    else:
        kind = "jobs"
        after = paging.cursor_of(request, kind)
        page = await svc.store.jobs_page(statuses=statuses, phone=customer, after=after, limit=limit)
    phones = await phone_states(svc, *page.rows)
    return JSONResponse(
        {"jobs": [job_json(job, svc, phones) for job in page.rows], "next_cursor": paging.next_cursor(page, kind)}
    )


@require_api_token
async def get_job(request: Request) -> JSONResponse:
    svc = services(request)
    job = await svc.store.get_job(_job_id(request))
    return JSONResponse(job_json(job, svc, await phone_states(svc, job)))


@require_api_token
async def edit_job(request: Request) -> JSONResponse:
    svc = services(request)
    cleaned = jobs.clean_fields(await json_body(request), svc.settings.timezone, partial=True)
    # A new appointment for an open job texts the customer (Services.edit_job); the answer is the job either way.
    result = await svc.edit_job(_job_id(request), cleaned)
    return JSONResponse(job_json(result.job, svc, await phone_states(svc, result.job)))


@require_api_token
@idempotent
async def change_status(request: Request, svc: Services, body: Any, retry: Retry) -> JSONResponse:
    """The job after the move, and `text`: what became of the customer's text (None: nothing was sent)."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(body) - STATUS_REQUEST_FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not accepted here; send status, eta_minutes, total")
    job_id, status = _job_id(request), jobs.parse_status(body.get("status"))
    eta, total = job_fields.parse_eta(body.get("eta_minutes")), job_fields.parse_total(body.get("total"))

    phones: dict[str, Any] = {}

    async def move(once: Once | None) -> JobWrite:
        # The answer is stored with the write (an Idempotency-Key's), so the phone is read before it.
        phones.update(await phone_states(svc, await svc.store.get_job(job_id)))
        return await svc.change_status(job_id, status, by="api", eta_minutes=eta, total=total, once=once)

    def answer(result: JobWrite) -> tuple[int, dict[str, Any]]:
        sent = next((m for m in result.messages if m.get("job_id") == job_id), None)
        return 200, {**job_json(result.job, svc, phones), "text": text_outcome(sent)}

    return await retry.respond(move, answer)
