"""The README is a short guide, the documentation site builds strictly, and the settings page is the code's.

- README.md: at most ~300 lines, the two set-up commands on its first screen, every relative link
  (README and docs/) names a file that exists, and the licence is there.
- No page points users at files they do not have (the project's internal contract).
- `mkdocs build --strict` passes on the real docs and fails on a broken link.
- docs/settings.md is exactly what store/setting_declarations.py generates, and no code reads a
  setting (an environment variable) that table does not declare; every declared one is read.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.setting_declarations import (
    BUSINESS,
    DEPLOYMENT,
    QDN_COMMAND,
    SETTINGS,
    declared,
    environment,
    settings_page,
)
from store.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOC_PAGES = sorted((ROOT / "docs").rglob("*.md"))
PACKAGES = ("bot", "store", "handlers", "sender", "cli", "web")
DECLARED = {setting.name for setting in SETTINGS}

# The settings the product's contract names that the code reads today (features not built yet are not declared).
CONTRACT_SETTINGS = {
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_FROM_NUMBER", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL", "DATABASE_URL", "DISPATCHER_NUMBERS", "API_TOKEN",
    "CORS_ORIGINS", "FORWARDED_ALLOW_IPS", "BUSINESS_NAME", "BUSINESS_PHONE", "TIMEZONE", "TEMPLATES_PATH",
    "ACK_INTERVAL_HOURS", "SEND_RATE_PER_SECOND", "SEND_GIVE_UP_HOURS", "DATA_DIR", "ADMIN_TOKEN", "SECRET_KEY",
    "RUN_SENDER", "REMINDER_HOUR", "QUIET_HOURS", "EVENTS_URL", "EVENTS_SECRET", "DELETE_TWILIO_MEDIA", "PORT", "HOST",
}  # fmt: skip


# --- The README -----------------------------------------------------------------------------------------


def test_readme_is_a_short_guide_with_the_two_commands_first() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; the reference belongs in docs/"
    first_screen = "\n".join(lines[:40])
    assert "make run" in first_screen
    assert "make test" in first_screen


def test_readme_walkthrough_explains_a_picture_without_acknowledgement() -> None:
    text = README.read_text(encoding="utf-8")
    walkthrough = text[text.index("## Try it in a minute") : text.index("## Going live with Twilio")]
    assert "/photo" in walkthrough
    assert "ACK_INTERVAL_HOURS" in walkthrough


def _relative_links(page: Path) -> Iterator[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(    |\t).*$", "", text)  # code blocks are not links
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        if not re.match(r"[a-z][a-z0-9+.-]*:|#", target):
            yield target


@pytest.mark.parametrize("page", [README, *DOC_PAGES], ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_name_files_that_exist(page: Path) -> None:
    broken = [link for link in _relative_links(page) if not (page.parent / link.split("#")[0]).exists()]
    assert broken == []


def test_readme_links_the_licence_and_the_documentation() -> None:
    links = set(_relative_links(README))
    assert "LICENSE" in links
    assert {"docs/settings.md", "docs/contract.md", "docs/production.md", "docs/postgresql.md"} <= links


def test_the_licence_is_mit_in_the_file_and_the_package_metadata() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 QuickDumpNow" in licence
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"  # the SPDX form (PEP 639)...
    assert "setuptools>=77" in pyproject["build-system"]["requires"]  # ...which setuptools reads from 77 on


@pytest.mark.parametrize(
    "page", [README, ROOT / "mkdocs.yml", *DOC_PAGES], ids=lambda page: str(page.relative_to(ROOT))
)
def test_no_page_points_at_files_users_do_not_have(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text
    assert not re.search(r"\bSPEC\b", text), "rephrase for users: they have no SPEC.md"


# --- The documentation site ------------------------------------------------------------------------------


def _mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documentation_site_builds_strictly(tmp_path: Path) -> None:
    built = _mkdocs_build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "settings" / "index.html").is_file()


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    for broken in ("[gone](nowhere.md)", "[gone](settings.md#no-such-heading)"):
        project = tmp_path / broken.split("(")[1].split(".")[0]
        shutil.copytree(ROOT / "docs", project / "docs")
        shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
        with (project / "docs" / "index.md").open("a", encoding="utf-8") as index:
            index.write(f"\nSee {broken}.\n")
        built = _mkdocs_build(project, project / "site")
        assert built.returncode != 0, broken
        assert broken.split("(")[1].rstrip(")").split("#")[-1] in built.stderr


# --- Settings: declared once, documented from the declarations ------------------------------------------


def test_the_settings_page_is_generated_from_the_declarations() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_page(), "run `make docs` (it regenerates docs/settings.md) and commit the page"
    for setting in SETTINGS:
        assert f"| `{setting.name}` |" in page


def test_every_declaration_is_complete() -> None:
    assert len(DECLARED) == len(SETTINGS), "a setting is declared twice"
    for setting in SETTINGS:
        assert setting.scope in (DEPLOYMENT, BUSINESS, QDN_COMMAND)
        assert setting.meaning.strip()
        assert (setting.scope == BUSINESS) == (setting.business_field is not None), setting.name


def test_every_contract_setting_the_code_reads_is_declared() -> None:
    assert CONTRACT_SETTINGS <= DECLARED


def _module_constants(tree: ast.Module) -> dict[str, str]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


ENVIRONMENT_READS = {"os.environ.get", "os.getenv", "environ.get", "os.environ.pop", "os.environ.setdefault"}
SETTING_READERS = {"config", "declared", "environment"}  # store/settings.py's Config, and the declarations'
SETTING_NAME = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*")


def setting_reads(source: str) -> Iterator[tuple[int, str | None]]:
    """(line, name) of every setting a module reads; name None for an environment read the scan cannot name.

    Reads: os.environ / os.getenv by any name, starlette's `config("NAME")` and the helpers that take it
    (`_optional(config, "NAME")`), and `declared` / `environment`. A variable passed to those last ones is
    checked when it runs (declared() raises for an undeclared name); a variable passed to os.environ is not,
    so the scan reports it.
    """
    tree = ast.parse(source)
    constants = _module_constants(tree)

    def name_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
            yield node.lineno, name_of(node.slice)
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        if callee in ENVIRONMENT_READS:
            yield node.lineno, name_of(node.args[0]) if node.args else None
        elif callee.rsplit(".", 1)[-1] in SETTING_READERS or any(
            isinstance(arg, ast.Name) and arg.id == "config" for arg in node.args
        ):
            for arg in node.args:
                name = name_of(arg)
                if name is not None and SETTING_NAME.fullmatch(name):
                    yield node.lineno, name


def test_the_scan_finds_reads_of_undeclared_settings() -> None:
    source = (
        "import os\nNAME = 'FROM_A_CONSTANT'\n"
        "os.environ.get('RAW_READ')\nos.getenv(NAME)\nos.environ['INDEXED']\nos.environ.get(some_variable)\n"
        "config('NEW_SETTING', cast=int)\n_optional(config, 'HELPER_READ')\nenvironment('QDN_SOMETHING')\n"
    )
    assert sorted(setting_reads(source), key=lambda read: read[0]) == [
        (3, "RAW_READ"),
        (4, "FROM_A_CONSTANT"),
        (5, "INDEXED"),
        (6, None),
        (7, "NEW_SETTING"),
        (8, "HELPER_READ"),
        (9, "QDN_SOMETHING"),
    ]


def test_no_code_reads_a_setting_it_does_not_declare() -> None:
    undeclared = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "store" / "setting_declarations.py":  # environment() itself
                continue
            for line, name in setting_reads(path.read_text(encoding="utf-8")):
                if name is None:
                    undeclared.append(f"{path.relative_to(ROOT)}:{line}: read it through environment(NAME)")
                elif name not in DECLARED:
                    undeclared.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert undeclared == [], "declare these in store/setting_declarations.py"


def test_an_undeclared_name_is_refused_when_read() -> None:
    with pytest.raises(LookupError, match="NOT_A_SETTING"):
        declared("NOT_A_SETTING")
    with pytest.raises(LookupError, match="NOT_A_SETTING"):
        environment("NOT_A_SETTING")


class _Recording(dict[str, str]):
    """An environment that remembers every name the settings loader looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


def _every_setting(folder: Path) -> dict[str, str]:
    return {
        "HOST": "0.0.0.0",
        "PORT": "8123",
        "PUBLIC_BASE_URL": "https://sms.example.com",
        "DATABASE_URL": f"tinydb:///{folder}/qdn.json",
        "DATA_DIR": str(folder),
        "FORWARDED_ALLOW_IPS": "10.0.0.1",
        "CORS_ORIGINS": "https://dash.example.com",
        "RUN_SENDER": "false",
        "API_TOKEN": "api-token-for-the-test",
        "ADMIN_TOKEN": "admin-token-for-the-test",
        "SECRET_KEY": "k" * 43,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "auth-token-for-the-test",
        "TWILIO_API_KEY": "SK" + "0" * 32,
        "TWILIO_API_SECRET": "api-secret-for-the-test",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
        "TWILIO_FROM_NUMBER": "+15125550123",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_WEBHOOK_SHARED_KEY": "shared-key-for-the-test",
        "BUSINESS_NAME": "Acme Hauling",
        "BUSINESS_PHONE": "+15125550124",
        "TIMEZONE": "America/Chicago",
        "DISPATCHER_NUMBERS": "Maria:+15125550100",
        "TEMPLATES_PATH": str(folder / "texts.toml"),
        "ACK_INTERVAL_HOURS": "2",
        "SEND_RATE_PER_SECOND": "5",
        "SEND_GIVE_UP_HOURS": "12",
        "REMINDER_HOUR": "16",
        "QUIET_HOURS": "22-7",
        "DELETE_TWILIO_MEDIA": "false",
        "EVENTS_URL": "https://dash.example.com/qdn-events",
        "EVENTS_SECRET": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    }


def test_the_service_reads_exactly_the_declared_settings(tmp_path: Path) -> None:
    environ = _Recording(_every_setting(tmp_path))
    settings = load_settings(environ, env_file=None)
    assert settings.twilio_live and settings.events_url and not settings.run_sender  # every branch was read
    service_settings = {setting.name for setting in SETTINGS if setting.scope != QDN_COMMAND}
    assert environ.asked - DECLARED == set(), "read but not declared"
    assert service_settings - environ.asked == set(), "declared but never read by the service"


def test_an_unset_setting_takes_its_declared_default(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": f"tinydb:///{tmp_path}/qdn.json"}, env_file=None)

    def default(name: str) -> str:
        value = declared(name).default
        assert value is not None
        return value

    assert settings.host == default("HOST")
    assert settings.port == int(default("PORT"))
    assert settings.public_base_url == f"http://{default('HOST')}:{default('PORT')}"
    assert settings.business_name == default("BUSINESS_NAME")
    assert settings.timezone.key == default("TIMEZONE")
    assert settings.forwarded_allow_ips == default("FORWARDED_ALLOW_IPS")
    assert settings.ack_interval_hours == float(default("ACK_INTERVAL_HOURS"))
    assert settings.send_rate_per_second == float(default("SEND_RATE_PER_SECOND"))
    assert settings.send_give_up_hours == float(default("SEND_GIVE_UP_HOURS"))
    assert settings.reminder_hour == int(default("REMINDER_HOUR"))
    assert settings.quiet_hours is not None
    assert f"{settings.quiet_hours.start}-{settings.quiet_hours.end}" == default("QUIET_HOURS")
    assert settings.run_sender is (default("RUN_SENDER") == "true")
    assert settings.delete_twilio_media is (default("DELETE_TWILIO_MEDIA") == "true")
    assert settings.dispatcher_numbers == () and settings.cors_origins == ()
