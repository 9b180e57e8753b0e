"""The office inbox's session: a signed cookie, its CSRF token, and the Origin check.

The cookie holds {phone, business, csrf, at}, signed with itsdangerous (what Starlette's own
SessionMiddleware uses) under a key derived from SECRET_KEY, so it cannot be forged or edited, and
it expires INBOX_SESSION_HOURS after the login (the signature's timestamp). It carries no secret of
its own: the CSRF token inside is random per session and shown only in the session's own forms.

CSRF: our own few lines rather than a package (starlette-csrf is a double-submit cookie for
JSON clients; here the token already lives in the signed session, so checking a form field
against it is one compare_digest): every state-changing request must carry the session's token
in its form AND come from our own origin (`Origin`, or `Referer` when a browser sends no Origin).

Each request re-reads the business's dispatcher list: a phone taken off it is logged out there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from config.settings import Settings
from handlers.tenancy import Tenant, tenants

COOKIE = "qdn_inbox"
PENDING_COOKIE = "qdn_inbox_login"  # between "Text me a code" and "Log in": the phone, signed, 15 minutes
PENDING_SECONDS = 15 * 60
SALT_SESSION = "qdn.inbox.session"
SALT_PENDING = "qdn.inbox.pending"


def signing_key(settings: Settings) -> bytes:
    """The inbox's own key, derived from SECRET_KEY (never SECRET_KEY itself: it also seals Twilio secrets)."""
    return hmac.new(str(settings.secret_key).encode(), b"qdn inbox cookies", hashlib.sha256).digest()


def serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_key(settings), salt=salt)


@dataclass(frozen=True)
class Session:
    phone: str
    business: str | None  # None: logged in, business not yet picked (a dispatcher of several)
    csrf: str

    def dumps(self, settings: Settings) -> str:
        return serializer(settings, SALT_SESSION).dumps({"p": self.phone, "b": self.business, "c": self.csrf})


def new_session(phone: str, business: str | None) -> Session:
    return Session(phone, business, secrets.token_urlsafe(24))


def _loads(request: Request, settings: Settings, name: str, salt: str, max_age: float) -> Any:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return serializer(settings, salt).loads(raw, max_age=int(max_age))
    except BadSignature:  # forged, edited, or expired (SignatureExpired is one)
        return None


def businesses_of(request: Request, phone: str) -> list[Tenant]:
    """The businesses whose dispatcher list has `phone` now."""
    return [tenant for tenant in tenants(request).all() if phone in tenant.settings.dispatcher_numbers]


def session_hours(request: Request) -> float:
    return tenants(request).settings.inbox_session_hours


def read_session(request: Request) -> Session | None:
    """The request's session, if its cookie is ours, in time, and its phone still a dispatcher there."""
    settings = tenants(request).settings
    data = _loads(request, settings, COOKIE, SALT_SESSION, session_hours(request) * 3600)
    if not isinstance(data, dict):
        return None
    session = Session(str(data.get("p")), data.get("b"), str(data.get("c")))
    allowed = {tenant.slug for tenant in businesses_of(request, session.phone)}
    if not allowed or (session.business is not None and session.business not in allowed):
        return None
    return session


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, session: Session) -> None:
    settings = tenants(request).settings
    response.set_cookie(
        COOKIE,
        session.dumps(settings),
        max_age=int(session_hours(request) * 3600),
        path="/inbox",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/inbox")
    response.delete_cookie(PENDING_COOKIE, path="/inbox")


def set_pending(response: Response, request: Request, phone: str) -> None:
    value = serializer(tenants(request).settings, SALT_PENDING).dumps(phone)
    response.set_cookie(
        PENDING_COOKIE,
        value,
        max_age=PENDING_SECONDS,
        path="/inbox",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def read_pending(request: Request) -> str | None:
    phone = _loads(request, tenants(request).settings, PENDING_COOKIE, SALT_PENDING, PENDING_SECONDS)
    return phone if isinstance(phone, str) else None


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from a page of ours (Origin, else Referer; neither: refused)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    ours = {urlsplit(tenants(request).settings.public_base_url).netloc, request.headers.get("host", "")}
    return parts.scheme in ("http", "https") and parts.netloc in ours


def csrf_ok(session: Session | None, form_token: Any) -> bool:
    return session is not None and isinstance(form_token, str) and hmac.compare_digest(form_token, session.csrf)
