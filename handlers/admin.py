"""The businesses' admin API (SPEC "Businesses"), for the deployment's operator: bearer ADMIN_TOKEN.

    POST   /admin/businesses                            201 {"business", "token"} (the token shown once)
    GET    /admin/businesses                            {"businesses": [default first, then oldest first]}
    GET    /admin/businesses/{slug}                     {"business"}
    PATCH  /admin/businesses/{slug}                     {"business"}
    POST   /admin/businesses/{slug}/tokens              201 {"token"} (shown once)
    DELETE /admin/businesses/{slug}/tokens/{token_id}   204

Every write goes to the registry first (store/deployment.py: a taken slug,
number or Messaging Service SID is a Conflict, 409), then runs the business
as written (Tenants.put: its settings, loops and token lookup), so a revoked
token is refused on the very next request. The `default` business is the
settings' own: shown, never changed here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.businesses import clean_business, require_routing
from bot.errors import NotFound, StoreError
from bot.jobs import utc_now
from config.secret_box import SecretBox
from handlers.admin_views import business_json, default_json, new_record, new_token, seal, with_token
from handlers.auth import bearer_token
from handlers.json_body import json_body
from handlers.responses import error_response
from handlers.tenancy import Tenants, tenants
from store import DEFAULT_BUSINESS, BusinessRecord

log = logging.getLogger("qdn.admin")

Endpoint = Callable[[Request], Awaitable[Response]]

DASHBOARD_TOKEN_REFUSED = "A dashboard token cannot manage businesses; use ADMIN_TOKEN."  # noqa: S105
DEFAULT_IS_SETTINGS = (
    "The default business is configured by the settings (environment); change BUSINESS_NAME, BUSINESS_PHONE, "
    "TIMEZONE, TWILIO_*, DISPATCHER_NUMBERS, TEMPLATES_PATH ... there (its dashboard token is API_TOKEN)."
)


def require_admin_token(endpoint: Endpoint) -> Endpoint:
    """Refuse unless the bearer token is ADMIN_TOKEN: 403 for a dashboard token (it is known, but not
    for this), 401 for anything else. An empty ADMIN_TOKEN matches nothing."""

    @wraps(endpoint)
    async def checked(request: Request) -> Response:
        presented = bearer_token(request)
        admin = str(tenants(request).settings.admin_token)
        if admin and presented and secrets.compare_digest(presented.encode(), admin.encode()):
            return await endpoint(request)
        if presented and tenants(request).for_bearer(presented) is not None:
            raise HTTPException(403, DASHBOARD_TOKEN_REFUSED)
        raise HTTPException(401, "The admin token (ADMIN_TOKEN) is required.", headers={"WWW-Authenticate": "Bearer"})

    return checked


def _box(everyone: Tenants) -> SecretBox:
    if everyone.box is None:  # the service makes SECRET_KEY at start; only a hand-built Settings lacks it
        raise StoreError("SECRET_KEY is not set: the service cannot store businesses' secrets")
    return everyone.box


def _slug(request: Request) -> str:
    return str(request.path_params["slug"])


def _refuse_default(slug: str) -> Response | None:
    return error_response(409, "conflict", DEFAULT_IS_SETTINGS) if slug == DEFAULT_BUSINESS else None


async def _run(everyone: Tenants, slug: str) -> BusinessRecord:
    """Run the business as the registry now holds it (the latest write, whichever request made it)."""
    record = await everyone.deployment.get_business(slug)
    await everyone.put(record)
    return record


@require_admin_token
async def create_business(request: Request) -> JSONResponse:
    everyone = tenants(request)
    cleaned = clean_business(await json_body(request), creating=True)
    kept, shown = new_token()
    record = new_record(cleaned, _box(everyone), kept)
    await everyone.deployment.add_business(record, reserved=everyone.default.addresses)
    record = await _run(everyone, record["slug"])
    log.info("business %r created with token %s", record["slug"], kept["id"])
    return JSONResponse({"business": business_json(record, everyone.settings), "token": shown}, status_code=201)


@require_admin_token
async def list_businesses(request: Request) -> JSONResponse:
    everyone = tenants(request)
    registered = [business_json(record, everyone.settings) for record in await everyone.deployment.businesses()]
    return JSONResponse({"businesses": [default_json(everyone.default), *registered]})


@require_admin_token
async def get_business(request: Request) -> JSONResponse:
    everyone, slug = tenants(request), _slug(request)
    if slug == DEFAULT_BUSINESS:
        return JSONResponse({"business": default_json(everyone.default)})
    return JSONResponse({"business": business_json(await everyone.deployment.get_business(slug), everyone.settings)})


@require_admin_token
async def update_business(request: Request) -> Response:
    everyone, slug = tenants(request), _slug(request)
    if refused := _refuse_default(slug):
        return refused
    change = seal(clean_business(await json_body(request), creating=False), _box(everyone))

    def merged(record: BusinessRecord) -> BusinessRecord:
        # `twilio` (null: the deployment's account) and the events pair are replaced whole, as given.
        new = {**record, **change, "updated_at": utc_now()}
        require_routing(new["numbers"], new["messaging_service_sid"])
        return new

    await everyone.deployment.update_business(slug, merged, reserved=everyone.default.addresses)
    record = await _run(everyone, slug)
    log.info("business %r updated (%s)", slug, ", ".join(sorted(change)) or "nothing")
    return JSONResponse({"business": business_json(record, everyone.settings)})


@require_admin_token
async def issue_token(request: Request) -> Response:
    everyone, slug = tenants(request), _slug(request)
    if refused := _refuse_default(slug):
        return refused
    kept, shown = new_token()
    added: dict[str, Any] = {}

    def with_new(record: BusinessRecord) -> BusinessRecord:
        new = with_token(record, kept)
        added.update(new["tokens"][-1])  # its id, made fresh if this one was taken
        return new

    await everyone.deployment.update_business(slug, with_new, reserved=everyone.default.addresses)
    await _run(everyone, slug)
    shown["id"] = added["id"]
    log.info("business %r: token %s issued", slug, shown["id"])
    return JSONResponse({"token": shown}, status_code=201)


@require_admin_token
async def revoke_token(request: Request) -> Response:
    everyone, slug = tenants(request), _slug(request)
    if refused := _refuse_default(slug):
        return refused
    token_id = str(request.path_params["token_id"])

    def without(record: BusinessRecord) -> BusinessRecord:
        tokens = [token for token in record.get("tokens") or [] if token["id"] != token_id]
        if len(tokens) == len(record.get("tokens") or []):
            raise NotFound(f"Business {slug!r} has no token {token_id!r}.")
        return {**record, "tokens": tokens, "updated_at": utc_now()}

    await everyone.deployment.update_business(slug, without, reserved=everyone.default.addresses)
    await _run(everyone, slug)
    log.info("business %r: token %s revoked", slug, token_id)
    return Response(status_code=204)
