"""Schemathesis fuzzes the JSON API through its own /openapi.json: what the document promises, the app keeps.

Stateless: every operation with schema-valid and schema-violating data (positive and negative
modes), checked for no server error, answers that match the documented schemas and statuses,
and every violation refused (negative_data_rejection: the schema is no stricter than the API).
Stateful: chains of calls that follow the data (a created job's id into its status, texts ...).
Bounded in examples so the whole file takes well under a minute.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.settings import load_settings
from tests.support import ADMIN_TOKEN, API_TOKEN, base_environ
from web.app import create_app

# Phones as people type them (the schema's `format: phone`), so fuzzed jobs get past the phone check.
PHONES = st.builds(
    lambda area, line, style: style.format(area=area, line=line),
    st.sampled_from(["512", "737", "415", "212"]),
    st.integers(100, 9999).map(lambda n: f"{n:04d}"),
    st.sampled_from(["{area}-555-{line}", "({area}) 555-{line}", "+1 {area} 555 {line}", "{area}555{line}"]),
)
schemathesis.openapi.format("phone", PHONES)
# A business's dispatchers (`format: dispatcher`): a phone, or a named one ("Mary-Jo O'Neil:512-555-0100").
schemathesis.openapi.format(
    "dispatcher",
    st.builds(
        lambda name, phone: f"{name}:{phone}" if name else phone,
        st.sampled_from(["", "Maria", "Mary-Jo O'Neil", "J. Díaz"]),
        PHONES,
    ),
)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, negative_data_rejection]
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def auth(case: schemathesis.Case) -> dict[str, str]:
    """The operator's token for the admin API, the default business's dashboard token for the rest."""
    return ADMIN_AUTH if case.operation.path.startswith("/admin/") else AUTH


BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is a finding, never a fluke
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _app_schema() -> schemathesis.schemas.BaseSchema:
    """The schema of an app of its own (each test gets one: an app's lifespan runs once), in a new data folder."""
    folder = Path(tempfile.mkdtemp(prefix="qdn-schemathesis-"))
    _FOLDERS.append(folder)
    # Also at exit: a pytest-xdist worker imports this module whether or not it runs its tests.
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    app = create_app(load_settings(base_environ(folder, ADMIN_TOKEN=ADMIN_TOKEN), env_file=None))
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=_CONFIG)


_FOLDERS: list[Path] = []
_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": 40,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,  # the bearer token is ours to send, not to fuzz
        },
        "phases": {"coverage": {"enabled": False}},  # its exhaustive boundary cases take minutes here
    }
)
# Made at import: schemathesis reads the schema when tests are collected. The app's lifespan (its
# store and sender) starts with the first call and ends with the test (schemathesis' pytest plugin).
schema = _app_schema()


@pytest.fixture(scope="module", autouse=True)
def _remove_the_data_folders() -> Iterator[None]:
    yield
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


@schema.parametrize()
@BOUNDED
def test_every_operation_keeps_its_documented_promises(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=auth(case), checks=CHECKS)


def test_chains_of_calls_keep_the_promises_too() -> None:
    machine = _app_schema().as_state_machine()

    class Chains(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"headers": auth(case)}

        def validate_response(self, response, case, additional_checks=(), **kwargs) -> None:
            case.validate_response(response, checks=CHECKS)

    Chains.run(settings=settings(BOUNDED, max_examples=8, stateful_step_count=6))
