"""Tenants.refresh: what another process did to the business registry is run here, and nothing this
process changed since is undone (web/app.py `follow_registry` calls it on a shared store).

"Another process" is played by writing to the registry straight through the deployment, past
this app's Tenants; tests/test_postgres_e2e.py shows the same across real processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from config.settings import load_settings
from store import BusinessRecord
from tests.businesses import bearer, business_record, call, tenants_of
from tests.support import ADMIN_TOKEN, base_environ
from web.app import create_app

ACME = {"slug": "acme", "name": "Acme Hauling", "numbers": ["+15125550200"]}
ACME_TOKEN = "qdn_acme-dashboard-token-for-the-refresh-tests"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(base_environ(tmp_path, ADMIN_TOKEN=ADMIN_TOKEN), env_file=None)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def added_elsewhere(client: TestClient) -> BusinessRecord:
    """Acme, registered as another process would: in the registry, unknown to this app's Tenants."""
    tenants = tenants_of(client)
    assert tenants.box is not None
    record = business_record(tenants.box, ACME, ACME_TOKEN)
    call(client, tenants.deployment.add_business, record)
    return record


def test_a_business_added_elsewhere_is_run_by_the_next_refresh_and_left_alone_by_later_ones(client):
    added_elsewhere(client)
    assert client.get("/jobs", headers=bearer(ACME_TOKEN)).status_code == 401  # not run here yet
    assert call(client, tenants_of(client).refresh) == ["acme"]
    assert client.get("/jobs", headers=bearer(ACME_TOKEN)).status_code == 200
    sender = client.app_state["loops"].senders.get("acme")
    assert call(client, tenants_of(client).refresh) == []  # unchanged: its loops are not restarted
    assert client.app_state["loops"].senders.get("acme") is sender


def test_a_token_revoked_here_while_a_refresh_reads_the_registry_stays_revoked(client):
    record = added_elsewhere(client)
    call(client, tenants_of(client).refresh)
    tenants = tenants_of(client)
    deployment = tenants.deployment
    # Another process renames acme: the next refresh has something to run.
    call(client, deployment.update_business, "acme", lambda old: {**old, "name": "Acme Hauling & Salvage"})
    read = deployment.businesses
    stale = call(client, read)  # what the refresh will read: renamed, the token still there
    reading, done_reading = asyncio.Event(), asyncio.Event()

    async def slow_read() -> list[BusinessRecord]:
        deployment.businesses = read  # type: ignore[method-assign]  # the first read only
        reading.set()
        await done_reading.wait()
        return stale

    async def start_refresh() -> asyncio.Task[list[str]]:
        deployment.businesses = slow_read  # type: ignore[method-assign]
        task = asyncio.create_task(tenants.refresh())
        await reading.wait()
        return task

    refreshing = call(client, start_refresh)
    # Meanwhile the admin API revokes the token (its write, then its put of the record read back).
    (token_id,) = [token["id"] for token in record["tokens"]]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.delete(f"/admin/businesses/acme/tokens/{token_id}", headers=admin).status_code == 204
    assert client.get("/jobs", headers=bearer(ACME_TOKEN)).status_code == 401

    async def finish() -> list[str]:
        done_reading.set()
        return await refreshing

    assert call(client, finish) == []  # what it read is older than what was put meanwhile
    assert client.get("/jobs", headers=bearer(ACME_TOKEN)).status_code == 401
    assert call(client, tenants.refresh) == []  # and the registry agrees: renamed, revoked
    acme = tenants.get("acme")
    assert acme is not None and acme.settings.business_name == "Acme Hauling & Salvage"
