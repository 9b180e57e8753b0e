"""Logging in to the office inbox by a texted code (SPEC "The office inbox"), and logging out.

    GET  /inbox/login          "Phone number" + "Text me a code"
    POST /inbox/login          a dispatcher's number is texted a code; any number gets the same page
    POST /inbox/login/code     "Code" + "Log in": the session cookie
    GET/POST /inbox/business   a dispatcher of several businesses picks one
    POST /inbox/logout

Codes are 6 digits from `secrets`, kept hashed by the deployment's store (store/roles/login_codes.py),
10 minutes, once, 5 tries. Asking for codes is throttled per phone and per client address by the
deployment's miss windows (handlers/ratelimit.py), as tracking-token misses are.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.errors import ValidationError
from bot.jobs import iso_utc
from bot.phones import normalize_phone, redact_phone
from handlers.inbox import session as sessions
from handlers.inbox.pages import refused, render
from handlers.ratelimit import MissLimiter
from handlers.tenancy import tenants
from store.login_codes import code_hash

log = logging.getLogger("qdn.inbox")

CODE_MINUTES = 10
CODE_TRIES = 5
CODE_TEXT = "{business}: your inbox code is {code}. It expires in 10 minutes."
# Code requests: 5 a phone and 20 an address in 15 minutes, counted deployment-wide.
PHONE_REQUESTS = MissLimiter(limit=5, window_seconds=15 * 60)
ADDRESS_REQUESTS = MissLimiter(limit=20, window_seconds=15 * 60)


def _now() -> datetime:
    return datetime.now(UTC)


def _phone(raw: str) -> str | None:
    """The number typed, as E.164 (US numbers may be typed without +1), or None if it is not one."""
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def _key(request: Request) -> str:
    return str(tenants(request).settings.secret_key)


async def login_page(request: Request) -> Response:
    if sessions.read_session(request) is not None:
        return RedirectResponse("/inbox", status_code=303)
    return render(request, "login.html", {"step": "phone"})


async def request_code(request: Request) -> Response:
    if not sessions.same_origin(request):
        return refused(request)
    form = await request.form()
    raw = str(form.get("phone") or "").strip()
    phone = _phone(raw)
    if phone is None:
        return render(
            request, "login.html", {"step": "phone", "error": "Enter a phone number, e.g. (512) 555-0100."}, 400
        )
    deployment = tenants(request).deployment
    address = request.client.host if request.client else "unknown"
    for limiter, key in ((PHONE_REQUESTS, f"inbox-code:{phone}"), (ADDRESS_REQUESTS, f"inbox-address:{address}")):
        wait = await limiter.check(deployment, key)
        if wait:
            return render(
                request,
                "login.html",
                {"step": "phone", "error": f"Too many codes asked for. Try again in {wait} seconds."},
                429,
            )
    for limiter, key in ((PHONE_REQUESTS, f"inbox-code:{phone}"), (ADDRESS_REQUESTS, f"inbox-address:{address}")):
        await limiter.count(deployment, key)
    businesses = sessions.businesses_of(request, phone)
    if businesses:
        tenant = businesses[0]
        if await tenant.services.store.is_opted_out(phone):
            context = {
                "step": "phone",
                "error": "This phone has opted out of our texts: text START to "
                "the business number first, then ask for a code again.",
            }
            return render(request, "login.html", context, 409)
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = _now()
        await deployment.put_login_code(
            phone, code_hash(phone, code, _key(request)), iso_utc(now), iso_utc(now + timedelta(minutes=CODE_MINUTES))
        )
        body = CODE_TEXT.format(business=tenant.settings.business_name, code=code)
        await tenant.services.queue_text(phone, body, kind="system")
        log.info("inbox code texted to %s", redact_phone(phone))
    response = render(request, "login.html", {"step": "code"})
    sessions.set_pending(response, request, phone)
    return response


async def check_code(request: Request) -> Response:
    if not sessions.same_origin(request):
        return refused(request)
    phone = sessions.read_pending(request)
    if phone is None:
        return render(request, "login.html", {"step": "phone", "error": "Ask for a new code."}, 400)
    form = await request.form()
    code = str(form.get("code") or "").strip().replace(" ", "")
    deployment = tenants(request).deployment
    ok = code.isdigit() and len(code) == 6
    ok = (
        await deployment.use_login_code(phone, code_hash(phone, code, _key(request)), iso_utc(_now()), CODE_TRIES)
        and ok
    )
    businesses = sessions.businesses_of(request, phone)
    if not ok or not businesses:
        context = {"step": "code", "error": "That code is wrong or has expired. Check the text, or ask for a new code."}
        return render(request, "login.html", context, 400)
    only = businesses[0].slug if len(businesses) == 1 else None
    response = RedirectResponse("/inbox" if only else "/inbox/business", status_code=303)
    response.delete_cookie(sessions.PENDING_COOKIE, path="/inbox")
    sessions.set_session(response, request, sessions.new_session(phone, only))
    return response


async def pick_business(request: Request) -> Response:
    session = sessions.read_session(request)
    if session is None:
        return RedirectResponse("/inbox/login", status_code=303)
    choices = sessions.businesses_of(request, session.phone)
    if request.method == "POST":
        form = await request.form()
        if not sessions.same_origin(request) or not sessions.csrf_ok(session, form.get("csrf")):
            return refused(request)
        slug = form.get("business")
        if any(tenant.slug == slug for tenant in choices):
            response = RedirectResponse("/inbox", status_code=303)
            sessions.set_session(response, request, sessions.new_session(session.phone, str(slug)))
            return response
    options = [{"slug": tenant.slug, "name": tenant.settings.business_name} for tenant in choices]
    return render(request, "business.html", {"choices": options, "csrf": session.csrf, "picking": True})


async def logout(request: Request) -> Response:
    session = sessions.read_session(request)
    form = await request.form()
    if session is not None and (not sessions.same_origin(request) or not sessions.csrf_ok(session, form.get("csrf"))):
        return refused(request)
    response = RedirectResponse("/inbox/login", status_code=303)
    sessions.end_session(response)
    return response
