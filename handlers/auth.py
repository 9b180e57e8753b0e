"""Bearer-token check for the dashboard API."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from handlers.services import services

Endpoint = Callable[[Request], Awaitable[Response]]


def require_api_token(endpoint: Endpoint) -> Endpoint:
    """Refuse with 401 unless `Authorization: Bearer <API_TOKEN>` matches (constant time)."""

    @wraps(endpoint)
    async def checked(request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        expected = services(request).settings.api_token
        if scheme.lower() != "bearer" or not secrets.compare_digest(presented.strip().encode(), str(expected).encode()):
            raise HTTPException(401, "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
        return await endpoint(request)

    return checked
