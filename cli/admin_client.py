"""The qdn command's side of the admin API (/admin/businesses): the client `qdn business` uses.

The same client as the jobs API's (cli/api_client.py), with ADMIN_TOKEN for its
bearer token and its own words for a refused token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from cli.api_client import ApiClient, CliError, service_url
from config.settings import ADMIN_TOKEN_FILE, Settings


def _path(slug: str) -> str:
    return f"/admin/businesses/{quote(slug, safe='')}"


class AdminClient(ApiClient):
    """A client for one running QDN service's admin API, with its ADMIN_TOKEN."""

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> AdminClient:
        token = str(settings.admin_token)
        if not token:
            raise CliError(
                f"no admin token: set ADMIN_TOKEN, or start the service once (`qdn serve`) so it makes "
                f"{settings.data_folder / ADMIN_TOKEN_FILE}, and run qdn in the same folder"
            )
        return cls(url or service_url(settings), token)

    def __enter__(self) -> AdminClient:
        return self

    def add_business(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", "/admin/businesses", json=dict(fields)))

    def list_businesses(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/admin/businesses")["businesses"])

    def get_business(self, slug: str) -> dict[str, Any]:
        return dict(self._json("GET", _path(slug))["business"])

    def update_business(self, slug: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._json("PATCH", _path(slug), json=dict(fields))["business"])

    def issue_token(self, slug: str) -> dict[str, Any]:
        return dict(self._json("POST", f"{_path(slug)}/tokens")["token"])

    def revoke_token(self, slug: str, token_id: str) -> None:
        headers = {"Authorization": f"Bearer {self._api_token}"}
        with self._reaching():
            response = self._http.delete(f"{_path(slug)}/tokens/{quote(token_id, safe='')}", headers=headers)
        if not response.is_success:
            raise self.error_for(response)

    def error_for(self, response: httpx.Response) -> CliError:
        if response.status_code == 401:
            return CliError(
                f"the service at {self.base_url} refused the admin token (401); set ADMIN_TOKEN to the service's, "
                f"or run qdn with the service's settings so it reads {ADMIN_TOKEN_FILE} from its data folder"
            )
        if response.status_code == 403:
            return CliError(
                f"the service at {self.base_url} took ADMIN_TOKEN for a dashboard token (403); set ADMIN_TOKEN to "
                f"the service's admin token (the {ADMIN_TOKEN_FILE} file in its data folder), not an API token"
            )
        return super().error_for(response)
