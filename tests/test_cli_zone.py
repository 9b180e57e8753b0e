"""Every time `qdn` shows is in the zone of the business its token acts for, not the deployment's.

The deployment runs in New York; business "prairie" books its jobs in Chicago. The customer's
text and the tracking page say 8:00 AM for a job booked at 8:00 AM: so must `qdn`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from cli import main as cli
from store.settings import ADMIN_TOKEN_FILE, API_TOKEN_FILE
from tests.support import LiveServer, base_environ
from tests.test_cli import Run, one_line_error
from tests.test_openapi import check

PRAIRIE = {"slug": "prairie", "name": "Prairie Hauling", "phone": "+13125550170", "timezone": "America/Chicago",
           "numbers": ["+13125550171"]}  # fmt: skip


def environ(server_folder) -> dict[str, str]:
    env = base_environ(server_folder, TIMEZONE="America/New_York")
    del env["API_TOKEN"]
    return env


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("service")
    server = LiveServer(environ(folder), folder).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prairie_token(service: LiveServer) -> str:
    admin = (service.cwd / "data" / ADMIN_TOKEN_FILE).read_text().strip()
    answer = httpx.post(f"{service.url}/admin/businesses", json=PRAIRIE, headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]["token"]


@pytest.fixture
def qdn(service: LiveServer, prairie_token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`qdn ARGS...` in the service's folder, with prairie's dashboard token exported (QDN_API_TOKEN)."""
    for key, value in {**environ(service.cwd), "PORT": str(service.port), "HOST": "127.0.0.1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.setenv("QDN_API_TOKEN", prairie_token)
    monkeypatch.chdir(service.cwd)

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def test_jobs_create_list_show_and_log_say_the_businesss_own_time(qdn):
    created = qdn("jobs", "create", "--name", "Ray Ortiz", "--phone", "312-555-0172", "--service", "junk removal",
                  "--scheduled", "2026-12-05T08:00")  # fmt: skip
    assert created.code == 0, created.err
    job_id = re.match(r"Job (\d+) ", created.out)[1]  # type: ignore[index]
    assert created.out.splitlines()[0].startswith(f"Job {job_id} for Ray Ortiz: scheduled for Sat Dec 5, 8:00 AM.")
    assert created.out.splitlines()[1] == "Times in America/Chicago (CST)."

    listed = qdn("jobs", "list")
    row = next(line for line in listed.out.splitlines() if line.startswith(f"{job_id} "))
    assert re.split(r"\s{2,}", row)[5] == "Sat Dec 5, 8:00 AM"
    assert listed.out.splitlines()[-1] == "Times in America/Chicago (CST)."

    shown = qdn("jobs", "show", job_id)
    assert "Appointment: Sat Dec 5, 8:00 AM\n" in shown.out
    assert shown.out.splitlines()[-1] == "Times in America/Chicago (CST)."  # December: standard time throughout

    logged = qdn("log", "--job", job_id)
    assert logged.code == 0, logged.err
    assert logged.out.splitlines()[1] == "Times in America/Chicago (CST)."
    assert "Sat Dec 5, 8:00 AM" in logged.out  # the booking text, as the customer got it


def test_the_default_business_keeps_the_deployments_zone(qdn, service, monkeypatch):
    monkeypatch.delenv("QDN_API_TOKEN")
    created = qdn("jobs", "create", "--name", "Ray Ortiz", "--phone", "312-555-0172", "--service", "junk removal",
                  "--scheduled", "2026-12-05T08:00")  # fmt: skip
    assert created.out.splitlines() == [created.out.splitlines()[0], "Times in America/New_York (EST)."]
    assert "scheduled for Sat Dec 5, 8:00 AM." in created.out


def test_get_business_answers_the_tokens_business(service, prairie_token):
    default_token = (service.cwd / "data" / API_TOKEN_FILE).read_text().strip()
    with httpx.Client(base_url=service.url, timeout=10) as client:
        prairie = client.get("/business", headers={"Authorization": f"Bearer {prairie_token}"})
        default = client.get("/business", headers={"Authorization": f"Bearer {default_token}"})
        nobody = client.get("/business", headers={"Authorization": "Bearer nope"})
    assert prairie.json() == {"slug": "prairie", "name": "Prairie Hauling", "phone": "+13125550170",
                              "timezone": "America/Chicago"}  # fmt: skip
    assert default.json() == {"slug": "default", "name": "QuickDumpNow", "phone": "+15125550123",
                              "timezone": "America/New_York"}  # fmt: skip
    for answer in (prairie, default, nobody):
        check(answer, "/business", "get")
    assert nobody.status_code == 401


def test_a_service_without_get_business_is_one_line(qdn, monkeypatch):
    """An older service (no /business): qdn says so rather than guess a zone."""
    from cli.api_client import ApiClient

    monkeypatch.setattr(ApiClient, "business", lambda self: self._json("GET", "/business-not-here"))
    message = one_line_error(qdn("jobs", "list"))
    assert message.endswith("has no /business-not-here; is it the QDN service, and up to date?")
