"""The tracking page's buttons in real headless Chromium against a real `qdn serve`:
Call and Text (the business's phone) on every page, Pay invoice and Leave a review on a completed job.

Each is checked where a customer meets it: visible in the viewport at 390 px and 1280 px, at least
44 x 44 px, and the element a tap at its middle lands on. Screenshots land in test-artifacts/; the
390 px one of a completed job is the documentation's picture (docs/images/track-buttons.png).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.businesses import bearer
from tests.support import CUSTOMER, ROOT, LiveServer, base_environ
from tests.test_track_browser import (
    DESKTOP,
    INVOICE,
    PHONE,
    SECRET_KEY,
    _register,
    assert_readable_contrast,
    browser,
    new_job,
    set_status,
    tabs,
)

__all__ = ["browser", "tabs"]  # the browser fixtures, shared with the page's own browser tests
pytestmark = [pytest.mark.browser, pytest.mark.e2e]

REVIEW = "https://g.page/r/quickdumpnow/review"
BUSINESS_PHONE = "+15125550123"  # tests.support's BUSINESS_PHONE
MIN_TARGET = 44  # px: the smallest comfortable tap target
DOC_PICTURE = ROOT / "docs" / "images" / "track-buttons.png"
# A second business without a phone: its page has no Call or Text button.
NOPHONE = {"slug": "nophone", "name": "Quiet Hauling", "numbers": ["+13035550177"]}
NOPHONE_TOKEN = "qdn_browser-tests-nophone-dashboard-token"

# Where each link is, and which element a tap at its middle reaches.
TARGET_JS = """link => {
  const box = link.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {left: box.left, top: box.top, width: box.width, height: box.height,
          right: box.right, tapped: hit === link || link.contains(hit)};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("buttons")
    environ = base_environ(folder, SECRET_KEY=SECRET_KEY, REVIEW_URL=REVIEW)
    asyncio.run(_register(environ, NOPHONE, NOPHONE_TOKEN))
    live = LiveServer(environ, folder).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def assert_tappable(page: Any, name: str, href: str, viewport: dict[str, int]) -> None:
    """The link `name` leads to `href`, is in the viewport (scrolled to), 44 px or more, and takes a tap."""
    link = page.get_by_role("link", name=name, exact=True)
    assert link.count() == 1, name
    assert link.get_attribute("href") == href
    link.scroll_into_view_if_needed()
    box = link.evaluate(TARGET_JS)
    assert box["width"] >= MIN_TARGET and box["height"] >= MIN_TARGET, (name, box)
    assert box["left"] >= 0 and box["right"] <= viewport["width"], (name, box)
    assert box["tapped"], f"{name}: a tap at its middle lands on something else"


def test_a_completed_job_shows_pay_review_call_and_text_at_phone_and_desktop_widths(api, server, tabs):
    job = new_job(api, invoice_url=INVOICE)
    set_status(api, job, "complete", total=350)
    for viewport in (PHONE, DESKTOP):
        tab = tabs(viewport)
        tab.open(f"{server.url}/track/{job['token']}")
        assert tab.page.locator("h1").text_content() == "Complete"
        assert_tappable(tab.page, "Pay invoice", INVOICE, viewport)
        assert_tappable(tab.page, "Leave a review", REVIEW, viewport)
        tab.page.evaluate("window.scrollTo(0, 0)")
        assert_tappable(tab.page, "Call", f"tel:{BUSINESS_PHONE}", viewport)
        assert_tappable(tab.page, "Text", f"sms:{BUSINESS_PHONE}", viewport)
        tab.page.evaluate("window.scrollTo(0, 0)")
        shot = tab.shoot("buttons-complete")
        assert_readable_contrast(tab.page)
        # The business's phone is on the page; the customer's never is (nor any script error or CSP refusal).
        html = tab.page.content()
        assert CUSTOMER not in html and "555-0199" not in html
        assert tab.errors == []
        assert shot.stat().st_size > 10_000  # a picture of the page, for a person to look at
        if viewport is PHONE:
            shutil.copyfile(shot, DOC_PICTURE)


def test_an_open_job_has_call_and_text_but_no_pay_or_review(api, server, tabs):
    job = new_job(api, invoice_url=INVOICE)
    tab = tabs(PHONE)
    tab.open(f"{server.url}/track/{job['token']}")
    assert_tappable(tab.page, "Call", f"tel:{BUSINESS_PHONE}", PHONE)
    assert_tappable(tab.page, "Text", f"sms:{BUSINESS_PHONE}", PHONE)
    assert tab.page.get_by_role("link", name="Pay invoice").count() == 0
    assert tab.page.get_by_role("link", name="Leave a review").count() == 0
    tab.shoot("buttons-scheduled")
    assert tab.errors == []


def test_a_cancelled_job_keeps_call_and_text_and_asks_for_no_review(api, server, tabs):
    job = new_job(api, invoice_url=INVOICE)
    set_status(api, job, "cancelled")
    tab = tabs(PHONE)
    tab.open(f"{server.url}/track/{job['token']}")
    assert_tappable(tab.page, "Call", f"tel:{BUSINESS_PHONE}", PHONE)
    assert tab.page.get_by_role("link", name="Leave a review").count() == 0
    assert tab.page.get_by_role("link", name="Pay invoice").count() == 0


def test_a_business_without_a_phone_shows_no_call_or_text(server, tabs):
    with httpx.Client(base_url=server.url, headers=bearer(NOPHONE_TOKEN), timeout=10) as nophone:
        job = new_job(nophone, invoice_url=INVOICE)
        set_status(nophone, job, "complete")
    tab = tabs(PHONE)
    tab.open(f"{server.url}/track/{job['token']}")
    assert tab.page.locator("header").text_content().strip().startswith("Quiet Hauling")
    assert tab.page.get_by_role("link", name="Call", exact=True).count() == 0
    assert tab.page.get_by_role("link", name="Text", exact=True).count() == 0
    assert_tappable(tab.page, "Pay invoice", INVOICE, PHONE)
    # REVIEW_URL is the deployment's setting, which a business without its own inherits.
    assert_tappable(tab.page, "Leave a review", REVIEW, PHONE)
