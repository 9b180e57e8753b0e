"""The tracking page in real headless Chromium against a real `qdn serve`.

Debian's chromium driven by Playwright's Python package (never Playwright's
own browser download). Screenshots land in test-artifacts/ (git-ignored).
Waiting for the page to follow a change uses Playwright's `expect`, which
retries until a deadline -- a wait, not a timing assertion.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.secret_box import SecretBox
from handlers.track import POLL_SECONDS
from store import open_deployment
from tests.businesses import bearer, business_record
from tests.support import ROOT, LiveServer, base_environ, job_body

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
# Long enough for one poll plus the page fetch; expect() returns as soon as it sees the change.
FOLLOW_MS = (POLL_SECONDS + 8) * 1000
INVOICE = "https://pay.example.test/invoices/QDN-88213"
SECRET_KEY = "browser-tests-secret-key-0123456789abcdef"
# A second business in the deployment, with a light accent colour (so the text on it is black).
ACME = {"slug": "acme", "name": "Acme Hauling", "numbers": ["+13035550100"], "accent_color": "#f5b942"}
ACME_TOKEN = "qdn_browser-tests-acme-dashboard-token"


def _chromium() -> str | None:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("headless Chromium not installed: `apt-get install chromium` (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


async def _register(environ: dict[str, str], business: dict[str, Any], token: str) -> None:
    """Put a business in the registry before the server starts (it loads the registry at start-up)."""
    deployment = await open_deployment(environ["DATABASE_URL"])
    try:
        await deployment.add_business(business_record(SecretBox(SECRET_KEY), business, token))
    finally:
        await deployment.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser")
    environ = base_environ(folder, SECRET_KEY=SECRET_KEY)
    asyncio.run(_register(environ, ACME, ACME_TOKEN))
    live = LiveServer(environ, folder).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


class Tab:
    """A page in its own browser context, collecting script errors and CSP violations."""

    def __init__(self, browser: Any, viewport: dict[str, int], javascript: bool = True) -> None:
        self.context = browser.new_context(
            viewport=viewport, device_scale_factor=1, is_mobile=viewport["width"] < 500, java_script_enabled=javascript
        )
        self.page = self.context.new_page()
        # Playwright's clock for the page's timers (it still runs on by itself): a test moves it one
        # polling interval on (`next_poll`) instead of waiting POLL_SECONDS out in real time.
        self.page.clock.install()
        self.size = f"{viewport['width']}x{viewport['height']}"
        self.errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def open(self, url: str) -> Any:
        return self.page.goto(url, wait_until="load")

    def next_poll(self) -> None:
        """The page's clock moved POLL_SECONDS on: its next check of the job is due, and made."""
        self.page.clock.run_for(POLL_SECONDS * 1000)

    def shoot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"track-{name}-{self.size}.png"
        self.page.screenshot(path=str(path), animations="disabled")
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser: Any) -> Iterator[Callable[..., Tab]]:
    opened: list[Tab] = []

    def open_tab(viewport: dict[str, int], javascript: bool = True) -> Tab:
        tab = Tab(browser, viewport, javascript)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def new_job(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = api.post("/jobs", json=job_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def set_status(api: httpx.Client, job: dict[str, Any], status: str, **extra: Any) -> None:
    response = api.post(f"/jobs/{job['id']}/status", json={"status": status, **extra})
    assert response.status_code == 200, response.text


# WCAG 2 contrast of every visible text against the background it sits on:
# 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
LOW_CONTRAST_JS = """() => {
  const rgba = c => {
    const p = c.match(/[\\d.]+/g).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = c => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || el.closest(".visually-hidden, noscript, script") || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const [fg, bg] = [luminance(rgba(style.color)), luminance(background(el))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    found.push({text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100, needed: large ? 3 : 4.5});
  }
  return found;
}"""


def assert_readable_contrast(page: Any) -> None:
    texts = page.evaluate(LOW_CONTRAST_JS)
    assert texts, "no visible text measured"
    low = [t for t in texts if t["ratio"] < t["needed"]]
    assert low == [], low


def current_step(page: Any) -> Any:
    return page.locator('.stepper [aria-current="step"]')


def test_the_page_follows_the_job_without_a_reload(api, server, tabs):
    from playwright.sync_api import expect

    job = new_job(api, invoice_url=INVOICE)
    both = [tabs(PHONE), tabs(DESKTOP)]
    for tab in both:
        tab.open(f"{server.url}/track?token={job['token']}")
        expect(tab.page.locator("h1")).to_have_text("Scheduled")
        expect(current_step(tab.page)).to_contain_text("Scheduled")
        expect(tab.page.locator(".stepper .step-label")).to_have_text(["Scheduled", "En route", "Arrived", "Complete"])
        expect(tab.page.locator("header")).to_contain_text("QuickDumpNow")
        expect(tab.page.locator(".service")).to_have_text("Junk removal for Dana")
        # Survives only while the document is the same one: a reload would drop it.
        tab.page.evaluate("window.sameDocument = true")
        tab.shoot("scheduled")
        assert_readable_contrast(tab.page)

    set_status(api, job, "en_route", eta_minutes=25)
    for tab in both:
        tab.next_poll()
        expect(tab.page.locator("h1")).to_have_text("On the way", timeout=FOLLOW_MS)
        expect(current_step(tab.page)).to_contain_text("En route")
        expect(tab.page.locator(".eta")).to_contain_text("about 25 min")
        expect(tab.page.locator(".timeline-entry").first).to_contain_text("ETA 25 min")
        expect(tab.page.locator("#announce")).to_have_text("Status updated: On the way")
        assert tab.page.evaluate("window.sameDocument") is True
        tab.shoot("en-route")
        assert_readable_contrast(tab.page)

    set_status(api, job, "complete", total=1200)
    for tab in both:
        tab.next_poll()
        expect(tab.page.locator("h1")).to_have_text("Complete", timeout=FOLLOW_MS)
        expect(current_step(tab.page)).to_contain_text("Complete")
        expect(tab.page.locator(".total")).to_contain_text("$1,200.00")
        expect(tab.page.get_by_role("link", name="Pay invoice")).to_have_attribute("href", INVOICE)
        assert tab.page.evaluate("window.sameDocument") is True
        tab.shoot("complete")
        assert_readable_contrast(tab.page)
        assert tab.errors == []  # no script error, no CSP violation


def test_cancelled_is_shown_plainly(api, server, tabs):
    from playwright.sync_api import expect

    job = new_job(api, service_type="dumpster delivery", customer_name="Marcus Lee")
    set_status(api, job, "cancelled")
    tab = tabs(PHONE)
    tab.open(f"{server.url}/track/{job['token']}")
    expect(tab.page.locator("h1")).to_have_text("Cancelled")
    expect(tab.page.locator(".cancelled-note")).to_be_visible()
    expect(tab.page.locator(".stepper")).to_have_count(0)
    tab.shoot("cancelled")
    assert_readable_contrast(tab.page)
    assert tab.errors == []


def test_an_unknown_token_gets_the_friendly_404_page(server, tabs):
    from playwright.sync_api import expect

    for viewport in (PHONE, DESKTOP):
        tab = tabs(viewport)
        response = tab.open(f"{server.url}/track?token=ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
        assert response.status == 404
        expect(tab.page.locator("h1")).to_have_text("We couldn't find that job")
        expect(tab.page.locator("main")).to_contain_text("STATUS")
        tab.shoot("not-found")
        assert_readable_contrast(tab.page)


def test_without_javascript_the_page_shows_the_current_state(api, server, tabs):
    from playwright.sync_api import expect

    job = new_job(api)
    set_status(api, job, "en_route", eta_minutes=40)
    tab = tabs(PHONE, javascript=False)
    tab.open(f"{server.url}/track?token={job['token']}")
    expect(tab.page.locator("h1")).to_have_text("On the way")
    expect(current_step(tab.page)).to_contain_text("En route")
    expect(tab.page.locator(".eta")).to_contain_text("about 40 min")
    expect(tab.page.locator(".noscript")).to_contain_text("reload it to see the latest")
    tab.shoot("no-javascript")
    set_status(api, job, "arrived")
    tab.page.reload()
    expect(tab.page.locator("h1")).to_have_text("Arrived")


def stepper_word_spans(page: Any) -> list[list[float]]:
    """[left, right] of each stepper label's text, in CSS pixels."""
    return page.eval_on_selector_all(
        ".stepper .step-label",
        """labels => labels.map(label => {
            const range = document.createRange();
            range.selectNodeContents(label);
            const box = range.getBoundingClientRect();
            return [box.left, box.right];
        })""",
    )


def test_it_reads_at_320_px_without_sideways_scrolling(api, server, tabs):
    from playwright.sync_api import expect

    job = new_job(
        api,
        customer_name="Bartholomew Featherstonehaugh-Montgomery",
        service_type="dump trailer rental",
        invoice_url=INVOICE,
    )
    tab = tabs(NARROW)
    tab.open(f"{server.url}/track?token={job['token']}")
    for status, extra in (("scheduled", {}), ("complete", {"total": 100000})):
        if status != "scheduled":
            set_status(api, job, status, **extra)
            tab.page.reload()
        expect(tab.page.locator("h1")).to_have_text(status.capitalize())
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
        # The stepper's words (the current one in bold) stay on screen and apart.
        spans = stepper_word_spans(tab.page)
        assert len(spans) == 4
        assert spans[0][0] >= 0 and spans[-1][1] <= NARROW["width"], spans
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert right < left, spans
        tab.shoot(f"narrow-{status}")


def test_a_business_s_accent_colour_paints_its_page(server, tabs):
    from playwright.sync_api import expect

    with httpx.Client(base_url=server.url, headers=bearer(ACME_TOKEN), timeout=10) as acme:
        job = new_job(acme)
    tab = tabs(PHONE)
    tab.open(f"{server.url}/track/{job['token']}")
    brand = tab.page.locator(".brand")
    expect(brand).to_have_text("Acme Hauling")
    expect(tab.page.locator(".site-header")).to_have_css("background-color", "rgb(245, 185, 66)")
    expect(brand).to_have_css("color", "rgb(0, 0, 0)")  # black reads on the light accent
    expect(tab.page.locator('.stepper [aria-current="step"]')).to_be_visible()
    tab.shoot("accent")
    assert_readable_contrast(tab.page)
    assert tab.errors == []  # applied through the CSSOM: no CSP violation
