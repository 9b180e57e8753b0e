"""The SPEC's JSON error body, for every answer that is an error (web/errors.py maps exceptions to it)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

# Every code the service answers with, by HTTP status (web/errors.py, the middleware, the handlers,
# and /openapi.json, which describes each). A status with several codes lists the one a bare
# HTTPException of that status gets first; 409 is a job move refused (invalid_transition) or a
# business write that claims what is taken, or the settings' own business (conflict).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("bad_request",),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    408: ("request_timeout",),
    409: ("invalid_transition", "conflict"),
    413: ("payload_too_large",),
    422: ("validation_error",),
    429: ("rate_limited",),
    500: ("internal_error",),
    503: ("unavailable",),
}

# How long a client is asked to wait (Retry-After) while the store cannot be used: a database
# restarting or failing over is usually back within seconds, and the pool reconnects on the
# first request after that (store/postgres/connection.py).
STORE_RETRY_AFTER_SECONDS = 5


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def store_unavailable() -> JSONResponse:
    """503 `unavailable` with Retry-After: the store cannot be used right now (web/errors.py, /healthz)."""
    return error_response(
        503,
        "unavailable",
        "The store is unavailable; try again shortly.",
        {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )
