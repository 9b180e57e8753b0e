"""The public side of a job: the token API and the tracking page.

Anyone holding a tracking link gets here without logging in, so what is
shown is decided in one place (`public_view`, `public_messages`, and the job's
pictures, handlers/track/pictures.py) and the page is rendered from exactly
that. Unknown and malformed tokens get the same 404, and a client that misses
too often is slowed down (handlers/ratelimit.py).

Privacy headers for these paths are set by web.headers.PrivacyHeadersMiddleware.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from bot.media import PAGE_LINK_SECONDS
from bot.phones import mask_phone
from bot.tokens import normalize_token
from bot.wording import first_name
from config.settings import Settings
from handlers.ratelimit import MissLimiter
from handlers.responses import error_response
from handlers.services import services
from handlers.tenancy import scoped_slug, tenants, use
from handlers.track import pictures
from handlers.track.view import brand, page_context
from store import Job, Message, public_message

log = logging.getLogger("qdn.track")

HERE = Path(__file__).resolve().parent  # the page's templates and assets live beside its endpoint
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
# How often an open page asks whether its job changed (see README, "Tracking page").
POLL_SECONDS = 12

NOT_FOUND_MESSAGE = "No job matches this tracking link. Check the link in your text message."
PHONE_FIELDS = ("phone", "from", "to")


def _static_url(name: str) -> str:
    """/static/<name> with a content hash, so browsers never run a stale script."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["static"] = _static_url


# --- what a token holder may see -------------------------------------------


def public_view(job: Job, business_name: str) -> dict[str, Any]:
    """The SPEC's public token view of `job`: nothing private, `by` masked.

    `total` and `invoice_url` are null until the job is complete.
    """
    complete = job["status"] == "complete"
    return {
        "status": job["status"],
        "history": [
            {
                "status": entry["status"],
                "at": entry["at"],
                "by": _masked(entry),
                "eta_minutes": entry.get("eta_minutes"),
            }
            for entry in job["history"]
        ],
        # The appointment's changes: the appointment is the customer's own, so its earlier values are too.
        "reschedules": [
            {"at": entry["at"], "by": _masked(entry), "from": entry["from"], "to": entry["to"]}
            for entry in job.get("reschedules") or ()
        ],
        "eta_minutes": job["eta_minutes"],
        # The appointment is the customer's own (their booking text says it); a date stays a date.
        "scheduled_for": job.get("scheduled_for"),
        # The customer confirmed that appointment by text (a C after the reminder): the page says "Confirmed".
        "confirmed_at": job.get("confirmed_at"),
        "service_type": job["service_type"],
        "first_name": first_name(job["customer_name"]),
        "phone_masked": mask_phone(job["customer_phone"]),
        "business_name": business_name,
        "total": job.get("total") if complete else None,
        "invoice_url": job.get("invoice_url") if complete else None,
    }


def _masked(entry: Mapping[str, Any]) -> str:
    """Who made a history entry, as the public may see it: a dispatcher's phone is private; the API is not a person."""
    return "api" if entry.get("by") == "api" else "dispatcher"


def _mask(value: Any) -> Any:
    # `from` may be a Messaging Service SID or "console"; only phone numbers are masked.
    return mask_phone(value) if isinstance(value, str) and value.startswith("+") else value


def public_messages(
    job: Job, messages: list[Message], known: pictures.Known, link: pictures.Link
) -> list[dict[str, Any]]:
    """The customer's own texts with the business about `job`, oldest first, phones masked.

    Only messages from or to the job's current customer phone: relays to
    dispatchers and dispatchers' commands stay private, and so do texts that
    were never sent (`skipped`, the number had opted out). Each one's `media`
    are its kept pictures (`known`), each with a signed link (`link`).
    """
    customer = job["customer_phone"]
    shown = []
    for message in messages:
        if message.get("phone") != customer or message.get("status") == "skipped":
            continue
        public = public_message(message)
        public["media"] = pictures.message_media(message, known, link)
        shown.append({key: _mask(value) if key in PHONE_FIELDS else value for key, value in public.items()})
    return shown


# What is known of kept pictures no row describes (an MMS row names its pictures by id alone):
# read from the store once, then remembered -- a picture never changes under its id.
_KNOWN_LIMIT = 10_000
_known_kept: dict[tuple[str, str], dict[str, Any]] = {}


async def _known_pictures(request: Request, job: Job, messages: list[Message]) -> pictures.Known:
    """Type and size of every kept picture the customer's side names; a picture not kept is left out."""
    known = pictures.known_pictures(messages)
    slug = str(scoped_slug(request))
    for media_id in pictures.wanted_ids(job, messages):
        if media_id in known:
            continue
        about = _known_kept.get((slug, media_id))
        if about is None:
            media = await services(request).store.load_media(media_id)
            if media is None:  # not kept (yet): a fetch still running, or given up
                continue
            about = {"type": media.content_type, "size": media.size}
            if len(_known_kept) >= _KNOWN_LIMIT:
                _known_kept.clear()
            _known_kept[(slug, media_id)] = about
        known[media_id] = about
    return known


async def public_side(request: Request, job: Job) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The token view (with the job's `pictures`) and the customer's texts: what the API answers and the page shows."""
    svc = services(request)
    rows = await svc.store.job_messages(job["id"])
    known = await _known_pictures(request, job, rows)
    signed_from = pictures.link_time(time.time())

    def link(media_id: str) -> str:
        return svc.picture_links.url(media_id, seconds=PAGE_LINK_SECONDS, now=signed_from)

    name = svc.settings.business_name
    view = public_view(job, name)
    view["pictures"] = pictures.job_pictures(job, rows, name, known, link)
    return view, public_messages(job, rows, known, link)


# --- looking a token up, with the slow-down ----------------------------------


class _TokenMiss(Exception):
    """Unknown or malformed: the caller answers 404 either way."""


class _SlowDown(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def token_misses(request: Request) -> MissLimiter:
    """The app's per-client-address miss rule and clock (created in web.app.create_app; tests swap the clock).

    The misses themselves are counted by the deployment (`_lookup`), so every web process
    of a shared store counts a client's misses together.
    """
    return request.app.state.token_misses


def client_key(request: Request) -> str:
    """The client a miss is counted against: its address."""
    # uvicorn already replaced this with X-Forwarded-For, but only for
    # connections from FORWARDED_ALLOW_IPS (qdn serve passes proxy_headers).
    return request.client.host if request.client else "unknown"


async def _lookup(request: Request, raw_token: str | None) -> Job:
    limiter = token_misses(request)
    deployment = tenants(request).deployment
    key = client_key(request)
    wait = await limiter.check(deployment, key)
    if wait:
        raise _SlowDown(wait)
    token = normalize_token(raw_token or "")
    found = await deployment.find_job_by_token(token) if token else None
    if found is None:
        await limiter.count(deployment, key)
        log.debug("tracking lookup missed")  # never the token itself
        raise _TokenMiss
    slug, job = found
    tenant = tenants(request).get(slug)
    if tenant is None:  # a business being added at this moment: not servable yet
        raise _TokenMiss
    use(request, tenant)  # the page and its texts are that business's
    return job


def _slow_down_message(seconds: int) -> str:
    return f"Too many unknown tracking links from your address; try again in {seconds} seconds."


# --- JSON endpoints ------------------------------------------------------------


async def _json(request: Request, build: Callable[[Job], Awaitable[dict[str, Any]]]) -> Response:
    try:
        job = await _lookup(request, request.path_params["token"])
    except _TokenMiss:
        return error_response(404, "not_found", NOT_FOUND_MESSAGE)
    except _SlowDown as slow:
        return error_response(
            429, "rate_limited", _slow_down_message(slow.retry_after), {"Retry-After": str(slow.retry_after)}
        )
    return JSONResponse(await build(job))


async def token_view(request: Request) -> Response:
    """GET /jobs/token/{token}: the public view of the job."""

    async def build(job: Job) -> dict[str, Any]:
        view, _ = await public_side(request, job)
        return view

    return await _json(request, build)


async def token_messages(request: Request) -> Response:
    """GET /jobs/token/{token}/messages: {"messages": [...]}, the customer's texts, oldest first."""

    async def build(job: Job) -> dict[str, Any]:
        _, messages = await public_side(request, job)
        return {"messages": messages}

    return await _json(request, build)


# --- the page ------------------------------------------------------------------


def _brand(settings: Settings | None) -> dict[str, Any]:
    if settings is None:
        return brand(None, None, None)
    return brand(settings.business_name, settings.business_phone, settings.accent_color)


def _only_business(request: Request) -> Settings | None:
    """The settings to brand a page with before its token names a business: the deployment's one business.

    When the deployment carries several, the page names none: an unknown link must not present
    itself as one hauler's (nor tell which haulers there are).
    """
    everyone = tenants(request)
    return everyone.default.settings if len(everyone.all()) == 1 else None


def unavailable_page(request: Request, retry_after: int) -> Response:
    """The tracking page while the store cannot be used: 503 with Retry-After, as HTML (web/errors.py)."""
    scoped = tenants(request).get(scoped_slug(request) or "")
    settings = scoped.settings if scoped is not None else _only_business(request)
    context = {**_brand(settings), "wait": retry_after}
    headers = {"Retry-After": str(retry_after)}
    return templates.TemplateResponse(request, "unavailable.html", context, 503, headers)


async def track_page(request: Request) -> Response:
    """GET /track?token=... and GET /track/{token}: the tracking page (HTML)."""
    raw = request.path_params.get("token") or request.query_params.get("token")
    only = _only_business(request)
    try:
        job = await _lookup(request, raw)
    except _TokenMiss:
        return templates.TemplateResponse(request, "not_found.html", _brand(only), status_code=404)
    except _SlowDown as slow:
        wait = slow.retry_after
        headers = {"Retry-After": str(wait)}
        return templates.TemplateResponse(request, "slow_down.html", {**_brand(only), "wait": wait}, 429, headers)
    svc = services(request)
    view, messages = await public_side(request, job)
    context = page_context(
        view,
        messages,
        tz=svc.settings.timezone,
        now=datetime.now(UTC),
        review_url=svc.settings.review_url,
    )
    context.update(
        _brand(svc.settings),
        token=job["token"],
        poll_seconds=POLL_SECONDS,
        # The exact state the page was rendered from; the script compares
        # what it polls with this, so no change between render and first poll is missed.
        state={"view": view, "messages": messages},
    )
    return templates.TemplateResponse(request, "track.html", context)
