"""STATE_QUIET_HOURS: deployment-wide and per business like QUIET_HOURS (default on); bad values refused."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bot.business_fields import CLEANERS
from bot.errors import ValidationError
from config.business_settings import business_settings
from config.secret_box import SecretBox
from config.settings import ConfigError, load_settings
from tests.support import base_environ
from tests.test_admin_api import ACME, ADMIN, app, create  # noqa: F401 (app: the fixture)


def test_on_by_default_and_off_when_set_false(tmp_path):
    assert load_settings(base_environ(tmp_path), env_file=None).reminder_policy.state_hours is True
    off = load_settings(base_environ(tmp_path, STATE_QUIET_HOURS="false"), env_file=None)
    assert off.state_quiet_hours is False and off.reminder_policy.state_hours is False


def test_a_value_that_is_not_yes_or_no_stops_start_up(tmp_path):
    with pytest.raises(ConfigError, match="STATE_QUIET_HOURS"):
        load_settings(base_environ(tmp_path, STATE_QUIET_HOURS="sometimes"), env_file=None)


def test_a_business_inherits_the_deployments_or_sets_its_own(tmp_path):
    base = load_settings(base_environ(tmp_path, STATE_QUIET_HOURS="false"), env_file=None)
    box = SecretBox("state-hours-tests-secret-key-0123456789abcdef")
    record = {"slug": "acme", "name": "Acme", "created_at": "2026-12-07T00:00:00.000Z"}
    assert business_settings(base, record, box).reminder_policy.state_hours is False
    own = {**record, "state_quiet_hours": True}
    assert business_settings(base, own, box).reminder_policy.state_hours is True


@pytest.mark.parametrize("value", ["yes", 1, "", []])
def test_the_admin_field_takes_true_false_or_null_only(value):
    with pytest.raises(ValidationError, match="state_quiet_hours"):
        CLEANERS["state_quiet_hours"](value)


def test_the_admin_api_sets_and_clears_it(app: TestClient):  # noqa: F811
    assert create(app)["business"]["state_quiet_hours"] is None
    changed = app.patch("/admin/businesses/acme", json={"state_quiet_hours": False}, headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["business"]["state_quiet_hours"] is False
    refused = app.patch("/admin/businesses/acme", json={"state_quiet_hours": "off"}, headers=ADMIN)
    assert refused.status_code == 422
    assert ACME["slug"] == "acme"
