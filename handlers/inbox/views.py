"""The inbox's pages and actions: conversations, one conversation, today's jobs (SPEC "The office inbox").

Every page needs a session (handlers/inbox/session.py) for one business; the request is scoped to
that business (handlers/tenancy.py `use`), so nothing of another is reachable: a key or job id
of another business gets the same 404 as one that never was. Each action calls the same Services
method as its text command and its JSON API call (handlers/services.py): a reply is `R 1042 ...`
(`text_customer`, kind relay), a move is `change_status` with its customer text, a reschedule is
the PATCH's `edit_job` with its one text, "Send again" is the resend endpoint's `resend_text`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import job_fields, jobs
from bot.errors import InvalidTransition, NotFound, ValidationError
from bot.job_choice import job_meant
from bot.media import PAGE_LINK_SECONDS
from bot.wording import appointment_at, appointment_day
from handlers.inbox import conversations as convo
from handlers.inbox import session as sessions
from handlers.inbox.pages import not_found, refused, render
from handlers.inbox.pictures import chosen_picture, kept_picture, sent_with
from handlers.messages import text_body
from handlers.resend import resend_text
from handlers.services import Services, services
from handlers.tenancy import Tenant, tenants, use
from handlers.track.pictures import link_time
from handlers.track.view import same_origin
from store.roles.conversations import ConversationRow

Page = Callable[[Request, sessions.Session, Tenant], Awaitable[Response]]
MAX_PAGE = 10_000  # pages of 50: past any real list
MAX_SEARCHED = 100_000  # conversations a search looks through, in the list's order
MOVES = {"en_route": "En route", "arrived": "Arrived", "complete": "Done", "cancelled": "Cancel job"}


def logged_in(page: Page) -> Callable[[Request], Awaitable[Response]]:
    """The page for a session with a business, scoped to it; else the login page (or the business picker).

    A POST must also carry the session's CSRF token and come from our own origin (else 403)."""

    @wraps(page)
    async def endpoint(request: Request) -> Response:
        session = sessions.read_session(request)
        if session is None:
            response = RedirectResponse("/inbox/login", status_code=303)
            sessions.end_session(response)
            return response
        if session.business is None:
            return RedirectResponse("/inbox/business", status_code=303)
        tenant = tenants(request).get(session.business)
        if tenant is None:
            return RedirectResponse("/inbox/login", status_code=303)
        if request.method != "POST":
            use(request, tenant)
            return await page(request, session, tenant)
        form = await request.form()
        try:
            if not sessions.same_origin(request) or not sessions.csrf_ok(session, form.get("csrf")):
                return refused(request)
            use(request, tenant)
            return await page(request, session, tenant)
        finally:
            await form.close()  # a reply's picture is spooled to a temporary file: closed whatever happened

    return endpoint


def _now() -> datetime:
    return datetime.now(UTC)


def _base(session: sessions.Session, tenant: Tenant, **more: Any) -> dict[str, Any]:
    return {"csrf": session.csrf, "business_name": tenant.settings.business_name, **more}


async def _conversations(request: Request, tenant: Tenant) -> dict[str, convo.Conversation]:
    """Every customer conversation of the business by key, from its jobs (texts not read)."""
    jobs = await services(request).store.list_jobs()
    return convo.conversations_of(jobs, sessions.signing_key(tenants(request).settings), tenant.slug)


def _row(conversation: convo.Conversation, listed: ConversationRow, tz: Any, now: datetime) -> dict[str, Any]:
    """A list row: the newest job, and the latest text that is not automatic as the store keeps it (no texts read)."""
    job = conversation.job
    activity = listed["said_at"] or max(job["updated_at"] for job in conversation.jobs)
    return {
        "key": conversation.key,
        "name": conversation.name,
        "job": {"id": job["id"], "service": job["service_type"], "status": convo.STATUS_WORDS.get(job["status"])},
        "last": listed["said"] if listed["said_at"] else None,
        "when": convo.when(activity, tz, now),
        "iso": activity,
        "waiting": bool(listed["waiting_since"]),
    }


async def _page(
    request: Request, tenant: Tenant, query: str, start: int
) -> tuple[list[tuple[convo.Conversation, ConversationRow]], bool, int]:
    """One page of conversations in the store's order ("Needs reply" first), whether more follow,
    and how many wait. Without a search: one read of the store's list (each row with its latest
    text), then each row's jobs by phone; a search filters the business's jobs first, then keeps
    the list's order. No conversation's texts are read."""
    store = services(request).store
    key = sessions.signing_key(tenants(request).settings)
    if query:
        found = {c.phone: c for c in (await _conversations(request, tenant)).values() if c.matches(query)}
        listed, waiting = await store.conversations_page(offset=0, limit=MAX_SEARCHED)
        rows = [row for row in listed if row["phone"] in found][start : start + convo.PAGE_SIZE + 1]
    else:
        rows, waiting = await store.conversations_page(offset=start, limit=convo.PAGE_SIZE + 1)
        found = {}
        for row in rows[: convo.PAGE_SIZE]:
            jobs = await store.list_jobs(phone=row["phone"])
            found.update({c.phone: c for c in convo.conversations_of(jobs, key, tenant.slug).values()})
    page = []
    for row in rows[: convo.PAGE_SIZE]:
        conversation = found.get(row["phone"])
        if conversation is not None:
            page.append((conversation, row))
    return page, len(rows) > convo.PAGE_SIZE, waiting


@logged_in
async def inbox(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """GET /inbox: the conversations, "Needs reply" first, 50 a page, with a search."""
    query = request.query_params.get("q", "")[:100]
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), MAX_PAGE))
    except ValueError:
        page = 1
    listed, more, waiting = await _page(request, tenant, query, (page - 1) * convo.PAGE_SIZE)
    tz, now = tenant.settings.timezone, _now()
    rows = [_row(conversation, row, tz, now) for conversation, row in listed]
    context = _base(session, tenant, rows=rows, query=query, page=page, more=more, waiting=waiting, live=True)
    return render(request, "inbox.html", context)


async def _waiting(request: Request) -> int:
    """How many conversations need a reply: in every page's title (a hidden tab shows it)."""
    return (await services(request).store.conversations_page(offset=0, limit=0))[1]


async def _find(request: Request, tenant: Tenant) -> convo.Conversation | None:
    """The conversation the path's key names, with its texts; None for a key of no customer here."""
    found = (await _conversations(request, tenant)).get(request.path_params["key"])
    if found is not None:
        found.messages = await services(request).store.phone_messages(found.phone)
    return found


@logged_in
async def conversation(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """GET /inbox/c/{key}: every text both ways, the job cards, the actions."""
    found = await _find(request, tenant)
    if found is None:
        return not_found(request)
    context = await _conversation_context(request, session, tenant, found, waiting=await _waiting(request))
    return render(request, "conversation.html", context)


async def _conversation_context(
    request: Request, session: sessions.Session, tenant: Tenant, found: convo.Conversation, **more: Any
) -> dict[str, Any]:
    svc = services(request)
    tz, now = tenant.settings.timezone, _now()
    cards = [
        convo.job_card(job, tz, svc.settings.tracking_url(job["token"]))
        for job in sorted(found.jobs, key=lambda job: job["id"], reverse=True)
    ]
    signed_from = link_time(time.time())

    def link(media_id: str) -> str:
        """A picture's signed link, as the tracking page makes them; its path alone (the CSP's img-src 'self')."""
        return same_origin(svc.picture_links.url(media_id, seconds=PAGE_LINK_SECONDS, now=signed_from))

    resent = {message.get("resend_of") for message in found.messages}
    names = tenant.settings.dispatcher_names  # the business's own (its record's, else DISPATCHER_NUMBERS')
    texts = [convo.text_line(m, tz, now, link, resent=m["id"] in resent, names=names) for m in found.messages]
    return _base(
        session,
        tenant,
        key=found.key,
        name=found.name,
        cards=cards,
        texts=texts,
        needs_reply=bool(found.waiting),
        reply_job=jobs_meant(found, tenant),
        moves=MOVES,
        live=True,
        **more,
    )


def jobs_meant(found: convo.Conversation, tenant: Tenant) -> int:
    """The job a reply is about: the one the customer's texts are about (bot/job_choice.py)."""
    meant = job_meant(found.jobs, _now(), tenant.settings.timezone)
    return (meant or found.job)["id"]


def _job_id(form: FormData, found: convo.Conversation) -> int | None:
    """The form's job, if it is one of this conversation's."""
    try:
        job_id = int(str(form.get("job") or ""))
    except ValueError:
        return None
    return job_id if any(job["id"] == job_id for job in found.jobs) else None


async def _act(
    request: Request,
    session: sessions.Session,
    tenant: Tenant,
    action: Callable[[Services, int, FormData], Awaitable[str]],
) -> Response:
    found = await _find(request, tenant)
    if found is None:
        return not_found(request)
    form = await request.form()
    job_id = _job_id(form, found)
    if job_id is None:
        return not_found(request)
    try:
        notice = await action(services(request), job_id, form)
    except (InvalidTransition, ValidationError) as refused_:
        if form.get("back") == "today":  # refused on Today's page: Today again, with the reason
            return render(request, "today.html", await _today_context(request, session, tenant, str(refused_)), 400)
        found = await _find(request, tenant) or found
        context = await _conversation_context(request, session, tenant, found, error=str(refused_))
        return render(request, "conversation.html", context, 400)
    except NotFound:
        return not_found(request)
    back = "/inbox/today" if form.get("back") == "today" else f"/inbox/c/{found.key}"
    return RedirectResponse(f"{back}?done={notice}", status_code=303)


@logged_in
async def reply(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """POST /inbox/c/{key}/reply: the same as `R 1042 ...` (a relay text to the job's customer),
    with a picture if one was chosen (an MMS, as a dispatcher's texted picture goes)."""

    async def send(svc: Services, job_id: int, form: FormData) -> str:
        upload = chosen_picture(form)
        # The API's rules for a text, checked before a picture is kept: a refused reply keeps nothing.
        body = text_body({"body": form.get("body")}, pictures=upload is not None)
        media = await kept_picture(svc, upload) if upload else []  # kept before the text naming it is queued
        row = await svc.text_customer(job_id, body, kind="relay", media=media, sent_by=session.phone)
        await sent_with(svc, media, row["id"])
        return "opted_out" if row["status"] == "skipped" else "sent"

    return await _act(request, session, tenant, send)


@logged_in
async def send_again(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """POST /inbox/c/{key}/resend: the same as POST /jobs/{id}/messages/{message id}/resend (once only)."""

    async def again(svc: Services, job_id: int, form: FormData) -> str:
        _, body = await resend_text(svc, job_id, str(form.get("message") or "")[:100])
        return "opted_out" if body["status"] == "skipped" else "resent"

    return await _act(request, session, tenant, again)


@logged_in
async def move(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """POST /inbox/c/{key}/status: the same move as a dispatcher's text (E/A/D/X), with its customer text."""

    async def change(svc: Services, job_id: int, form: FormData) -> str:
        status = jobs.parse_status(form.get("status"))
        typed = str(form.get("eta_minutes") or "").strip()
        eta = job_fields.parse_eta(int(typed) if typed.isdigit() else typed or None, "ETA minutes")
        total = job_fields.parse_total(str(form.get("total") or "").strip() or None, "Total")
        await svc.change_status(job_id, status, by=session.phone, eta_minutes=eta, total=total)
        return "moved"

    return await _act(request, session, tenant, change)


@logged_in
async def reschedule(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """POST /inbox/c/{key}/reschedule: the PATCH of scheduled_for, with its one text."""

    async def edit(svc: Services, job_id: int, form: FormData) -> str:
        day, time = str(form.get("date") or ""), str(form.get("time") or "")
        wanted = f"{day}T{time}" if time else day
        cleaned = jobs.clean_fields({"scheduled_for": wanted}, svc.settings.timezone, partial=True)
        await svc.edit_job(job_id, cleaned, by=session.phone)
        return "rescheduled"

    return await _act(request, session, tenant, edit)


@logged_in
async def today(request: Request, session: sessions.Session, tenant: Tenant) -> Response:
    """GET /inbox/today: today's jobs by appointment time, with the move buttons."""
    return render(request, "today.html", await _today_context(request, session, tenant))


async def _today_context(
    request: Request, session: sessions.Session, tenant: Tenant, error: str | None = None
) -> dict[str, Any]:
    svc = services(request)
    tz, now = tenant.settings.timezone, _now()
    everything = await svc.store.list_jobs()
    found = convo.conversations_of(everything, sessions.signing_key(tenants(request).settings), tenant.slug)
    key_of = {c.phone: c.key for c in found.values()}
    day = now.astimezone(tz).date()
    todays = [job for job in everything if appointment_day(job.get("scheduled_for"), tz) == day]
    todays.sort(key=lambda job: appointment_at(job.get("scheduled_for"), tz) or now)
    rows = [
        {
            **convo.job_card(job, tz, svc.settings.tracking_url(job["token"])),
            "key": key_of[job["customer_phone"]],
            "name": job["customer_name"] or convo.mask_phone(job["customer_phone"]),
        }
        for job in todays
    ]
    return _base(session, tenant, rows=rows, moves=MOVES, live=True, error=error)
