"""The qdn command's side of the running service's HTTP API.

Every failure becomes a `CliError` whose message is the one line `qdn`
prints: what went wrong and what to do about it, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from config.declarations import environment
from config.settings import API_TOKEN_FILE, Settings, load_settings

TIMEOUT_SECONDS = 10.0
# Hosts that mean "every interface" when listening; a client reaches them on loopback.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 -- compared against, not bound


class CliError(Exception):
    """Something the person running `qdn` must fix; the message says what, in one line."""


def client_settings() -> Settings:
    """The service's settings as a client reads them: never making a secret in its data folder."""
    try:
        return load_settings(read_only=True)
    except OSError as error:  # e.g. the service's api_token file is not readable by this user
        raise CliError(f"cannot read the service's data folder: {error}") from None


def service_url(settings: Settings) -> str:
    """Where the service listens, as a client on this machine reaches it.

    Not PUBLIC_BASE_URL: that may be a public https origin behind a proxy,
    while the command runs next to the process it talks to.
    """
    host = settings.host.strip()
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{settings.port}"


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """(code, message) from the service's JSON error body, if it is one."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return None, None


class ApiClient:
    """A bearer-authenticated client for one running QDN service."""

    def __init__(self, base_url: str, api_token: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise CliError(f"--url {base_url!r} is not an http(s) URL, e.g. http://127.0.0.1:8000")
        self._api_token = api_token
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> ApiClient:
        """A client for the service these settings describe (`url` overrides where it is)."""
        token = str(settings.api_token)
        if not token:
            raise CliError(
                f"no API token: set API_TOKEN, or start the service once (`qdn serve`) so it makes "
                f"{settings.data_folder / API_TOKEN_FILE}, and run qdn in the same folder"
            )
        return cls(url or service_url(settings), token)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the jobs API -------------------------------------------------------

    def create_job(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/jobs", json=dict(fields))

    def list_jobs(self, statuses: str | None = None) -> list[dict[str, Any]]:
        return self._all("/jobs", "jobs", {"status": statuses} if statuses else {})

    def get_job(self, job_id: int) -> dict[str, Any]:
        return self._json("GET", f"/jobs/{job_id}")

    def edit_job(self, job_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PATCH", f"/jobs/{job_id}", json=dict(fields))

    def business(self) -> dict[str, Any]:
        """The business the token acts for: `slug`, `name`, `phone`, `timezone` (GET /business)."""
        return self._json("GET", "/business")

    def business_zone(self, business: Mapping[str, Any] | None = None) -> ZoneInfo:
        """The time zone of the token's business (`business`, GET /business's answer if already asked):
        every time qdn shows is in it."""
        name = (business or self.business()).get("timezone")
        try:
            return ZoneInfo(str(name))
        except (ValueError, ZoneInfoNotFoundError):
            raise CliError(f"the service at {self.base_url} named an unknown time zone {name!r}") from None

    def change_status(
        self, job_id: int, status: str, *, eta_minutes: int | None = None, total: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status}
        if eta_minutes is not None:
            body["eta_minutes"] = eta_minutes
        if total is not None:
            body["total"] = total
        return self._json("POST", f"/jobs/{job_id}/status", json=body)

    def job_messages(self, job_id: int) -> list[dict[str, Any]]:
        return self._all(f"/jobs/{job_id}/messages", "messages", {})

    def phone_messages(self, phone: str) -> list[dict[str, Any]]:
        """Every text to or from `phone` (any format; the service checks it), oldest first."""
        return self._all("/messages", "messages", {"phone": phone})

    def consent_rows(self) -> list[dict[str, Any]]:
        """Every phone of the business with consent on record: phone, state, since, source, evidence."""
        return self._all("/consent", "phones", {})

    def unknown_messages(self) -> list[dict[str, Any]]:
        """Every text whose outcome is unknown (left for a person), oldest first."""
        return list(self._json("GET", "/messages", params={"status": "unknown"})["messages"])

    def _all(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every row of a paged list, following `next_cursor` to the end."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self._json("GET", path, params={**params, "limit": "1000", **({"cursor": cursor} if cursor else {})})
            rows += page[key]
            cursor = page.get("next_cursor")
            if not cursor:
                return rows

    # -- plumbing -----------------------------------------------------------

    def post_form(self, path: str, form: Mapping[str, str], headers: Mapping[str, str]) -> httpx.Response:
        """POST a form without the API token (for webhooks); the raw response, whatever its status."""
        with self._reaching():
            return self._http.post(path, data=dict(form), headers=dict(headers))

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._api_token}"}
        with self._reaching():
            response = self._http.request(method, path, headers=headers, **kwargs)
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise CliError(f"{self.base_url} did not answer with JSON; is it the QDN service?") from None
        raise self.error_for(response)

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Turn transport failures into one line that says what to do."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise CliError(
                f"cannot reach the QDN service at {self.base_url}; is `qdn serve` running? use --url to point elsewhere"
            ) from None
        except httpx.TimeoutException:
            raise CliError(f"the QDN service at {self.base_url} did not answer in time; check its log") from None
        except httpx.HTTPError as error:
            raise CliError(f"talking to the QDN service at {self.base_url} failed: {error}") from None

    def error_for(self, response: httpx.Response) -> CliError:
        """The one-line explanation of an error answer from the service."""
        status = response.status_code
        message = _error_body(response)[1]
        if status == 401:
            return CliError(
                f"the service at {self.base_url} refused the API token (401); set API_TOKEN to the service's "
                f"token, or run qdn with the service's settings so it reads the token from its data folder"
            )
        if message is None:
            return CliError(
                f"unexpected answer from {self.base_url}{response.request.url.path} (HTTP {status}); "
                "is that the QDN service? use --url to point elsewhere"
            )
        if status == 404 and message == "Not Found":  # Starlette's answer for a path it has no route for
            return CliError(
                f"the service at {self.base_url} has no {response.request.url.path}; "
                "is it the QDN service, and up to date?"
            )
        if status == 429:
            retry = response.headers.get("retry-after")
            return CliError(f"{message} (rate limited{f'; try again in {retry} s' if retry else ''})")
        if status >= 500:
            return CliError(f"the service at {self.base_url} had a problem (HTTP {status}): {message}")
        return CliError(message)


# A business's dashboard token for the client commands (read by qdn, never by the service): without it,
# they act for the default business with API_TOKEN. Not API_TOKEN itself: exported in a shell that later
# runs `qdn serve`, that would make the business's token the default business's.
TOKEN_ENV = "QDN_API_TOKEN"  # noqa: S105 -- a variable's name


class _BusinessTokenClient(ApiClient):
    """An API client holding the QDN_API_TOKEN: a refusal names that variable, not API_TOKEN."""

    def error_for(self, response: httpx.Response) -> CliError:
        if response.status_code == 401:
            return CliError(
                f"the service at {self.base_url} refused {TOKEN_ENV} (401); set it to a dashboard token of the "
                f"business you text (`qdn business token`), or unset it to use API_TOKEN"
            )
        return super().error_for(response)


def dashboard_client(settings: Settings, url: str | None = None) -> ApiClient:
    """A client reading texts as the business whose dashboard token is QDN_API_TOKEN, else API_TOKEN's."""
    token = (environment(TOKEN_ENV) or "").strip()
    if token:
        return _BusinessTokenClient(url or service_url(settings), token)
    return ApiClient.from_settings(settings, url)
