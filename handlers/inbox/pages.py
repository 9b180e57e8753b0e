"""The inbox's templates and the answers every inbox page shares (render, refused, not found).

Templates and assets live beside the code (handlers/inbox/templates, static), as the tracking
page's do; assets are served under /inbox/static with a content hash in their URL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"


def _static_url(name: str) -> str:
    """/inbox/static/<name> with a content hash, so browsers never run a stale script."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/inbox/static/{name}?v={digest}"


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["static"] = _static_url


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def refused(request: Request) -> Response:
    """A state-changing request without the session's CSRF token or from another origin: 403, nothing done."""
    return render(request, "refused.html", {}, 403)


def not_found(request: Request) -> Response:
    """No such conversation or job in this business: the one 404 for missing and for another business's."""
    return render(request, "not_found.html", {}, 404)
