"""The ASGI app: routes, middleware, and a lifespan that opens the store and starts the sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.errors import StoreError
from bot.templates import TemplateError, load_templates
from config.settings import ConfigError, Settings, load_settings
from handlers import (
    admin,
    business_info,
    consent,
    health,
    inbox,
    jobs,
    media,
    message_log,
    messages,
    resend,
    send_later,
    track,
    twilio,
)
from handlers.ratelimit import MissLimiter
from handlers.tenancy import Tenant, Tenants
from sender.business_loops import BusinessLoops
from store import DEFAULT_BUSINESS, Deployment, backend_for, open_deployment
from store.deployment import REGISTRY_REFRESH_SECONDS
from web import openapi
from web.errors import EXCEPTION_HANDLERS
from web.headers import PrivacyHeadersMiddleware
from web.middleware import BODY_TIMEOUT_SECONDS, BodyLimitMiddleware, JsonCORSMiddleware

log = logging.getLogger("qdn.app")


class JobIdConvertor(IntegerConvertor):
    """A job id in a path: at most 19 digits, a bigint's width (web/openapi.py's JOB_ID_MAX).

    A longer one names no job, so its path matches no route and gets the 404 of any unknown
    address -- where Starlette's `int` would call int() on it, and int() refuses more than
    4,300 digits with a ValueError (a 500). 404, not 422: a path names a resource, and no job
    has that id, exactly as for a 19-digit id that was never made.
    """

    regex = "[0-9]{1,19}"


register_url_convertor("job_id", JobIdConvertor())

# Starlette tries routes in order: Twilio's webhooks, the hot path, come first.
routes = [
    *twilio.routes,  # each business's /twilio/{business}/sms and /status, and the older two addresses
    Route("/healthz", health.healthz, methods=["GET"]),
    Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
    Route("/jobs", jobs.create_job, methods=["POST"]),
    Route("/jobs", jobs.list_jobs, methods=["GET"]),
    Route("/jobs/{job_id:job_id}", jobs.get_job, methods=["GET"]),
    Route("/jobs/{job_id:job_id}", jobs.edit_job, methods=["PATCH"]),
    Route("/jobs/{job_id:job_id}/status", jobs.change_status, methods=["POST"]),
    Route("/jobs/{job_id:job_id}/messages", messages.job_messages, methods=["GET"]),
    Route("/jobs/{job_id:job_id}/messages", messages.send_to_customer, methods=["POST"]),
    Route("/jobs/{job_id:job_id}/messages/{message_id}/resend", resend.resend_message, methods=["POST"]),
    Route("/jobs/{job_id:job_id}/messages/{message_id}", send_later.cancel_message, methods=["DELETE"]),
    Route("/messages", message_log.phone_messages, methods=["GET"]),
    Route("/consent", consent.get_consent, methods=["GET"]),
    Route("/business", business_info.business_info, methods=["GET"]),
    # The deployment operator's (ADMIN_TOKEN): businesses and their dashboard tokens.
    Route("/admin/businesses", admin.create_business, methods=["POST"]),
    Route("/admin/businesses", admin.list_businesses, methods=["GET"]),
    Route("/admin/businesses/{slug}", admin.get_business, methods=["GET"]),
    Route("/admin/businesses/{slug}", admin.update_business, methods=["PATCH"]),
    Route("/admin/businesses/{slug}/tokens", admin.issue_token, methods=["POST"]),
    Route("/admin/businesses/{slug}/tokens/{token_id}", admin.revoke_token, methods=["DELETE"]),
    Route("/jobs/token/{token}", track.token_view, methods=["GET"]),
    Route("/jobs/token/{token}/messages", track.token_messages, methods=["GET"]),
    Route("/track", track.track_page, methods=["GET"]),
    Route("/track/{token:path}", track.track_page, methods=["GET"]),
    # Pictures (handlers/media.py): the dashboard's (bearer), and a signed link's (the path is parsed
    # there, so a link cut short gets the same 404 as a forged one).
    Route("/media/{media_id:path}", media.media_file, methods=["GET"]),
    Route("/m/{rest:path}", media.linked_media, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=track.STATIC_DIR), name="static"),
    *inbox.routes,  # the office inbox's pages (handlers/inbox/)
]


def create_app(
    settings: Settings,
    deployment: Deployment | None = None,
    *,
    registry_refresh_seconds: float = REGISTRY_REFRESH_SECONDS,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> Starlette:
    """An app for `settings`; each call is independent (tests make many).

    `deployment` is an already-open deployment to use (and close at shutdown);
    without one the lifespan opens the one DATABASE_URL names. On a store several
    processes share, the businesses other processes add or change are run here
    within `registry_refresh_seconds` (`follow_registry`). Raises ConfigError when
    the TEMPLATES_PATH file cannot be used.
    """
    try:
        templates = load_templates(settings.templates_path)  # checked once, before serving anything
    except TemplateError as error:
        raise ConfigError(str(error)) from None

    given = deployment

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Stores of its own each time it runs: a lifespan started again (a test client, schemathesis)
        # must not reuse the ones its last shutdown closed.
        deployment = given or await open_deployment(settings.database_url)
        loops = BusinessLoops()
        following: asyncio.Task[None] | None = None
        try:
            everyone = await Tenants(settings, deployment, templates).load()
            log.info("loaded: %s", settings.describe(deployment.description))
            _log_businesses(everyone)

            async def run_loops(tenant: Tenant) -> None:
                svc = tenant.services
                await loops.run(tenant.slug, svc.store, tenant.settings, svc.notifier, send=settings.run_sender)

            if not settings.run_sender:
                _log_no_sender(settings)
            for tenant in everyone.all():
                await run_loops(tenant)
            everyone.listeners.append(run_loops)  # a business added or changed over the admin API
            if not backend_for(settings.database_url).one_process:  # ... or through another process
                following = asyncio.create_task(follow_registry(everyone, registry_refresh_seconds))
            yield {
                "tenants": everyone,
                "services": everyone.default.services,  # the default business's, for tests and benchmarks
                "sender": loops.senders.get(DEFAULT_BUSINESS),
                "events": loops.events.get(DEFAULT_BUSINESS),
                "loops": loops,
            }
        finally:
            try:
                if following is not None:
                    following.cancel()
                    with suppress(asyncio.CancelledError):
                        await following
                await loops.stop_all()
            finally:
                await deployment.close()

    middleware = [Middleware(BodyLimitMiddleware, body_timeout=body_timeout), Middleware(PrivacyHeadersMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                JsonCORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],  # DELETE: cancel a text not sent yet
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    # Misses of tracking tokens per client address (handlers.track); tests swap in a fake clock.
    app.state.token_misses = MissLimiter()
    return app


async def follow_registry(everyone: Tenants, every: float) -> None:
    """Every `every` seconds, run what other processes added or changed in the business registry.

    So a business added, changed or stripped of a dashboard token through one web process's
    admin API reaches every other within `every` seconds (plus one registry read, bounded by
    the store's time limits). While the store is unavailable, it says so and tries again.
    """
    while True:
        await asyncio.sleep(every)
        try:
            ran = await everyone.refresh()
        except StoreError as error:
            log.warning("business registry not read (%s); trying again in %g s", error, every)
            continue
        except Exception:  # a bug must not stop the following for good
            log.exception("business registry not read; trying again in %g s", every)
            continue
        if ran:
            log.info("running businesses added or changed by another process: %s", ", ".join(ran))


def _log_businesses(everyone: Tenants) -> None:
    for tenant in everyone.all():
        if tenant.settings.dispatcher_numbers:
            continue
        if tenant.slug == DEFAULT_BUSINESS:
            log.warning(
                "no dispatcher: DISPATCHER_NUMBERS is empty, so free texts from customers reach nobody; "
                "set it to the phones that should get them"
            )
        else:
            log.warning("no dispatcher for business %r: free texts from its customers reach nobody", tenant.slug)
    others = [tenant.slug for tenant in everyone.all() if tenant.slug != DEFAULT_BUSINESS]
    if others:
        log.info("businesses besides the default one: %s", ", ".join(others))


def _log_no_sender(settings: Settings) -> None:
    if backend_for(settings.database_url).one_process:
        log.warning(
            "RUN_SENDER=false: texts are queued but nothing sends them -- with TinyDB only this process can; "
            "remove RUN_SENDER or set it to true"
        )
    else:
        log.info("RUN_SENDER=false: texts are queued here and sent by `qdn send`")


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory web.app:app_from_environment`."""
    return create_app(load_settings(check_database_url=backend_for))
