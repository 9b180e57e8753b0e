"""The dashboard's jobs API (bearer-authenticated JSON)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot import job_fields, jobs
from bot.errors import BadRequest, ValidationError
from bot.phones import normalize_phone
from handlers.auth import require_api_token
from handlers.services import Services, services
from store import Job, JobWrite

# The SPEC's job shape, in its order.
JOB_FIELDS = (
    "id",
    "token",
    "tracking_url",
    *jobs.EDITABLE_FIELDS,
    "status",
    "eta_minutes",
    "history",
    "created_at",
    "updated_at",
)
STATUS_REQUEST_FIELDS = {"status", "eta_minutes", "total"}


def job_json(job: Job, svc: Services) -> dict[str, Any]:
    shown = {**job, "tracking_url": svc.settings.tracking_url(job["token"])}
    return {field: shown.get(field) for field in JOB_FIELDS}


# Every body this API takes is one flat object. Refusing anything much deeper
# keeps the answer the same whatever the interpreter's recursion limit is.
MAX_JSON_DEPTH = 20
TOO_DEEP = f"The request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)."


async def json_body(request: Request) -> Any:
    """The parsed JSON body: 400 when it is not JSON or is nested too deeply; 422 when it holds non-text.

    Python's parser gives up on deep nesting (`[[[[...]]]]`) with RecursionError,
    which is the client's doing, not a server fault.
    """
    raw = await request.body()
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadRequest(TOO_DEEP) from None
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    _check_document(data)
    return data


def _check_document(data: Any) -> None:
    """Refuse a body nested too deeply (400), or with a lone surrogate or a control character in a key (422).

    A JSON "\\ud800" escape parses to half a character: it can be neither stored
    nor sent, nor shown in an error, so it is refused here for every route, naming
    the top-level field it is under. Walked with a list, not recursion.
    """
    pending: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while pending:
        value, depth, field = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise BadRequest(TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                if field is None:  # a field's name: shown escaped, so it can be named at all
                    job_fields.check_characters(job_fields.printable(key), key, multiline=False)
                else:
                    job_fields.refuse_surrogates(field, key)
                pending.append((item, depth + 1, field or key))
        elif isinstance(value, list):
            pending.extend((item, depth + 1, field) for item in value)
        elif isinstance(value, str):
            # Control characters are the field's own rule (bot.jobs); a surrogate is never text.
            job_fields.refuse_surrogates(field or "body", value)


def _job_id(request: Request) -> int:
    return int(request.path_params["job_id"])


@require_api_token
async def create_job(request: Request) -> JSONResponse:
    svc = services(request)
    fields = jobs.clean_fields(await json_body(request), svc.settings.timezone, partial=False)
    created = await svc.create_job(fields)
    return JSONResponse(job_json(created.job, svc), status_code=201)


@require_api_token
async def list_jobs(request: Request) -> JSONResponse:
    svc = services(request)
    statuses = None
    if raw := request.query_params.get("status"):
        statuses = jobs.parse_statuses(raw) or None
    phone = request.query_params.get("phone")
    found = await svc.store.list_jobs(statuses=statuses, phone=normalize_phone(phone, "phone") if phone else None)
    return JSONResponse({"jobs": [job_json(job, svc) for job in found]})


@require_api_token
async def get_job(request: Request) -> JSONResponse:
    svc = services(request)
    return JSONResponse(job_json(await svc.store.get_job(_job_id(request)), svc))


@require_api_token
async def edit_job(request: Request) -> JSONResponse:
    svc = services(request)
    cleaned = jobs.clean_fields(await json_body(request), svc.settings.timezone, partial=True)
    now = jobs.utc_now()

    def change(job: Job) -> JobWrite:
        edited = jobs.edit(job, cleaned, now)
        return JobWrite(edited, [], changed=edited != job)

    result = await svc.store.update_job(_job_id(request), change)
    return JSONResponse(job_json(result.job, svc))


@require_api_token
async def change_status(request: Request) -> JSONResponse:
    svc = services(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(body) - STATUS_REQUEST_FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not accepted here; send status, eta_minutes, total")
    result = await svc.change_status(
        _job_id(request),
        jobs.parse_status(body.get("status")),
        by="api",
        eta_minutes=job_fields.parse_eta(body.get("eta_minutes")),
        total=job_fields.parse_total(body.get("total")),
    )
    return JSONResponse(job_json(result.job, svc))
