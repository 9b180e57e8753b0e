"""Bearer-token check for the dashboard API: the token says which business the request is for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from handlers.tenancy import tenants, use

Endpoint = Callable[[Request], Awaitable[Response]]
TOKEN_NAME_KEY = "qdn.token_name"  # noqa: S105 -- a scope key: which dashboard token made the request


def token_name(request: Request) -> str | None:
    """The name of the dashboard token the request came with: "api" for API_TOKEN, else the token's id."""
    name: str | None = request.scope.get(TOKEN_NAME_KEY)
    return name


def bearer_token(request: Request) -> str:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else ""


def require_api_token(endpoint: Endpoint) -> Endpoint:
    """Refuse with 401 unless the bearer token is a business's dashboard token (API_TOKEN: the default
    business's); the request is then that business's alone (handlers/tenancy.py)."""

    @wraps(endpoint)
    async def checked(request: Request) -> Response:
        tenant = tenants(request).for_bearer(bearer_token(request))
        if tenant is None:
            raise HTTPException(401, "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
        use(request, tenant)
        request.scope[TOKEN_NAME_KEY] = tenants(request).token_name(tenant, bearer_token(request))
        return await endpoint(request)

    return checked
