"""Every inbox page, and the tracking page, passes axe-core in real headless Chromium at 390 and 1280 px.

axe-core (tests/assets/axe.min.js, vendored from the npm registry: no build step) is injected into
each page as it loads and run with its default rules (WCAG 2 A and AA, and best practices); any
violation fails, listed by rule id and the elements it found. The pages: login, code entry, the
business picker (a phone that dispatches for two businesses), the conversations, a conversation,
a refused move's reason, Today, "Not found", and a customer's tracking page. Screenshots of each
land in test-artifacts/ (inbox-a11y-*).

The axe context is opened with the page's CSP bypassed: axe compiles its message templates with
`new Function`, which the inbox's CSP rightly forbids (the other browser tests keep the CSP on).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_inbox_browser as inbox_browser
from tests import test_inbox_live_browser as live_browser
from tests import test_track_browser as track_browser
from tests.support import ROOT, LiveServer
from tests.twilio_fake import TwilioServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

browser = track_browser.browser
twilio = inbox_browser.twilio
AXE = ROOT / "tests" / "assets" / "axe.min.js"
two_businesses = live_browser.two_businesses
TWO_BUSINESSES = live_browser.TWO_BUSINESSES

RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(node => node.target.join(" ")),
  }));
}"""


def violations(page: Any, name: str, viewport: dict[str, int]) -> list[str]:
    """axe's findings on the page as loaded (its screenshot taken first), one line each."""
    inbox_browser.shoot(page, f"a11y-{name}", viewport)
    return [
        f"{name} @{viewport['width']}px: {found['rule']} ({found['impact']}: {found['help']}) at {found['targets']}"
        for found in page.evaluate(RUN_AXE)
    ]


@pytest.mark.parametrize("viewport", [inbox_browser.PHONE, inbox_browser.DESKTOP], ids=["390px", "1280px"])
def test_every_inbox_page_and_the_tracking_page_pass_axe(
    browser: Any, two_businesses: LiveServer, twilio: TwilioServer, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=viewport["width"] < 500, bypass_csp=True
    )
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    found: list[str] = []
    try:
        inbox_browser.log_in(
            page,
            two_businesses,
            twilio,
            phone=TWO_BUSINESSES,
            on_step=lambda step: found.extend(violations(page, step, viewport)),
        )
        expect(page.get_by_role("heading", name="Which business?")).to_be_visible()
        found += violations(page, "business", viewport)
        page.get_by_label("QuickDumpNow").check()
        page.get_by_role("button", name="Open inbox").click()

        expect(page.get_by_role("link", name="Dana Whitfield")).to_be_visible()
        found += violations(page, "conversations", viewport)
        page.get_by_role("link", name="Dana Whitfield").click()
        expect(page.get_by_text("The gate code is 4411.")).to_be_visible()
        found += violations(page, "conversation", viewport)
        tracking = page.get_by_role("link", name="Tracking page").first.get_attribute("href")
        page.get_by_label("ETA minutes").fill("soon")  # refused, and shown with its reason
        page.get_by_role("button", name="En route").click()
        expect(page.get_by_role("alert")).to_contain_text("ETA minutes")
        found += violations(page, "conversation-refused", viewport)

        page.get_by_role("link", name="Today").click()
        expect(page.get_by_role("heading", name="Dana Whitfield")).to_be_visible()
        found += violations(page, "today", viewport)

        page.goto(f"{two_businesses.url}/inbox/c/{'0' * 24}")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        found += violations(page, "not-found", viewport)

        assert tracking
        page.goto(f"{two_businesses.url}/track/{tracking.rsplit('/', 1)[-1].split('=')[-1]}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled")
        found += violations(page, "tracking", viewport)
    finally:
        context.close()
    assert found == [], "\n".join(found)
