"""The inbox's vendored scripts (htmx, its SSE extension) and the tests' axe-core are the files their notes name.

Each folder's README.md has a table of file, package, version, licence and sha256: a file changed
(or updated without its note) fails here. The inbox serves them unchanged, under the same strict
CSP as before (no 'unsafe-inline', no 'unsafe-eval'), and its pages set htmx up without eval.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from handlers.inbox import STATIC_DIR
from tests.support import ROOT
from web.headers import CONTENT_SECURITY_POLICY

NOTES = [STATIC_DIR / "vendor" / "README.md", ROOT / "tests" / "assets" / "README.md"]
ROW = re.compile(  # | `file` | `package` | version | path in the tarball | licence | `sha256` |
    r"^\| `(?P<file>[^`]+)` \| `(?P<package>[^`]+)` \| (?P<version>[\d.]+) \| .* \| (?P<licence>[\w.-]+)"
    r" \| `(?P<sha256>[0-9a-f]{64})` \|$"
)


def noted(note: Path) -> list[dict[str, str]]:
    return [match.groupdict() for line in note.read_text().splitlines() if (match := ROW.match(line))]


@pytest.mark.parametrize("note", NOTES, ids=["inbox-static", "test-assets"])
def test_every_vendored_file_is_the_one_its_note_names_and_nothing_else_is_there(note: Path) -> None:
    rows = noted(note)
    assert rows, f"no file listed in {note}"
    for row in rows:
        digest = hashlib.sha256((note.parent / row["file"]).read_bytes()).hexdigest()
        assert digest == row["sha256"], f"{row['file']} is not {row['package']} {row['version']} as {note} says"
    scripts = {path.name for path in note.parent.glob("*.js")}
    assert scripts == {row["file"] for row in rows}, "a script there with no note (or a note with no script)"


def test_the_versions_and_licences_are_the_chosen_ones() -> None:
    rows = {row["package"]: row for note in NOTES for row in noted(note)}
    assert rows["htmx.org"]["version"].startswith("2.") and rows["htmx.org"]["licence"] == "0BSD"
    assert rows["htmx-ext-sse"]["version"].startswith("2.") and rows["htmx-ext-sse"]["licence"] == "0BSD"
    assert rows["axe-core"]["licence"] == "MPL-2.0"
    header = (ROOT / "tests" / "assets" / "axe.min.js").read_text()[:300]
    assert f"axe v{rows['axe-core']['version']}" in header and "Mozilla Public" in header


def test_htmx_is_served_unchanged_under_a_csp_without_inline_or_eval(client: TestClient) -> None:
    for name in ("htmx.min.js", "sse.min.js"):
        response = client.get(f"/inbox/static/vendor/{name}")
        assert response.status_code == 200
        assert response.content == (STATIC_DIR / "vendor" / name).read_bytes()
        assert response.headers["content-type"].startswith(("text/javascript", "application/javascript"))
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "style-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_the_pages_configure_htmx_with_no_eval_no_inline_style_and_no_stored_snapshots() -> None:
    base = (STATIC_DIR.parent / "templates" / "base.html").read_text()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", base)
    assert config
    settings = json.loads(config[1])
    assert settings["allowEval"] is False  # hx-on, trigger filters, js: values: none of them run
    assert settings["includeIndicatorStyles"] is False  # its own <style> would be blocked by the CSP
    assert settings["historyCacheSize"] == 0  # customers' texts never copied into the browser's storage
    assert settings["allowScriptTags"] is False
    pages = [path.read_text() for path in (STATIC_DIR.parent / "templates").glob("*.html")]
    for page in pages:  # no inline script, style or handler anywhere (the CSP would block them)
        assert re.search(r"<script>|<style|\sstyle=|\son[a-z]+=|hx-on|javascript:", page) is None
