"""The office inbox in real headless Chromium against a real `qdn serve` and the Twilio fake.

The whole flow a dispatcher goes through, at 390 px and 1280 px, finding every control by its
role and label: the code texted (the fake receives it), log in, the waiting question first, open
it, reply (the fake receives it), a new text from the customer appears without a reload, move the
job (the customer's status text goes out), log out. Screenshots land in test-artifacts/.
Waits use Playwright's `expect`, which retries until a deadline -- a wait, not a timing assertion.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from tests import test_track_browser
from tests.pg import fresh_database, require_postgres
from tests.support import DISPATCHER, ROOT, LiveServer, eventually, job_body
from tests.test_sms_e2e import text
from tests.twilio_fake import ACCOUNT_SID, API_KEY, API_SECRET, TwilioServer, twilio_environ

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

T = TypeVar("T")
browser = test_track_browser.browser  # the module-scoped Chromium fixture the page tests share

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CODE = re.compile(r"your inbox code is (\d{6})\. It expires in 10 minutes\.$")
WAIT_MS = 10_000  # only turns a hang into a failure
_customers = (f"+1512555{n:04d}" for n in itertools.count(3100))


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as fake:
        yield fake


def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """tests/pg.py runs asyncio.run(), which refuses to run in the thread where Playwright's loop runs."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(scope="module", params=["tinydb", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer
) -> Iterator[LiveServer]:
    """`qdn serve` on each backend: on PostgreSQL the live updates come by LISTEN/NOTIFY."""
    folder = tmp_path_factory.mktemp("inbox-browser")
    environ = twilio_environ(folder, TWILIO_API_BASE_URL=twilio.url, SEND_RATE_PER_SECOND="50")
    database = None
    if request.param == "postgresql":
        _in_thread(require_postgres)
        database = fresh_database("inbox_browser")
        environ["DATABASE_URL"] = _in_thread(database.__enter__)
    server = LiveServer(environ, folder).start()
    try:
        yield server
    finally:
        server.stop()
        if database is not None:
            _in_thread(database.__exit__, None, None, None)


def sent_to(twilio: TwilioServer, phone: str) -> list[str]:
    return [r.form.get("Body", "") for r in twilio.creates() if r.form.get("To") == phone and r.status == 201]


def texted(twilio: TwilioServer, phone: str, pattern: str, after: int = 0) -> str:
    """The newest text to `phone` matching `pattern` among those after the first `after` (waits for it)."""

    def found() -> str | None:
        newer = sent_to(twilio, phone)[after:]
        return next((body for body in reversed(newer) if re.search(pattern, body)), None)

    return eventually(found, f"a text to {phone[-4:]} matching {pattern!r}")


def shoot(page: Any, name: str, viewport: dict[str, int]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"inbox-{name}-{viewport['width']}.png"),
        animations="disabled",
        caret="initial",  # Playwright hides the caret with a style attribute, which the CSP (rightly) blocks
        full_page=True,
    )


def log_in(
    page: Any, service: LiveServer, twilio: TwilioServer, phone: str = DISPATCHER, on_step: Callable[[str], Any] = id
) -> None:
    """Log in as `phone` by the code texted to it; `on_step` is called on the filled "login" and "code" pages."""
    page.goto(f"{service.url}/inbox/login")
    page.get_by_label("Phone number").fill(phone)
    on_step("login")
    before = len(sent_to(twilio, phone))
    page.get_by_role("button", name="Text me a code").click()
    code = CODE.search(texted(twilio, phone, CODE.pattern, after=before))
    assert code
    page.get_by_label("Code").fill(code[1])
    on_step("code")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_dispatcher_logs_in_answers_sees_a_new_text_live_moves_the_job_and_logs_out(
    browser: Any, service: LiveServer, twilio: TwilioServer, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    customer = next(_customers)
    name = f"Dana Whitfield {customer[-4:]}"
    with service.client() as api:
        job = api.post("/jobs", json=job_body(customer_name=name, customer_phone=customer)).json()
        quiet = api.post("/jobs", json=job_body(customer_name="Lee Ortiz", customer_phone=next(_customers))).json()
    assert job["id"] and quiet["id"]
    text(service, customer, "Can you come before noon?")

    context = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=viewport["width"] < 500)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, service, twilio, on_step=lambda step: shoot(page, step, viewport))

        conversations = page.get_by_role("listitem").filter(has=page.get_by_role("link"))
        expect(conversations.first).to_contain_text(name)
        expect(conversations.first).to_contain_text("Needs reply")
        shoot(page, "conversations", viewport)

        page.get_by_role("link", name=name).click()
        expect(page.get_by_text("Can you come before noon?")).to_be_visible()
        page.get_by_label("Reply").fill("Yes, we can be there at 11")
        page.get_by_role("button", name="Send").click()
        texted(twilio, customer, "^Yes, we can be there at 11$")
        expect(page.get_by_role("heading", level=1)).not_to_contain_text("Needs reply")

        page.evaluate("window.notReloaded = true")
        text(service, customer, "Great, thank you!")
        expect(page.get_by_text("Great, thank you!")).to_be_visible(timeout=WAIT_MS)
        assert page.evaluate("window.notReloaded") is True  # shown live: the page was not reloaded
        shoot(page, "conversation", viewport)

        card = page.get_by_role("article", name=f"Job {job['id']}")
        card.get_by_label("ETA minutes").fill("20")
        card.get_by_role("button", name="En route").click()
        texted(twilio, customer, "on the way|en route|On the way")
        expect(page.get_by_role("article", name=f"Job {job['id']}")).to_contain_text("En route")

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_label("Phone number")).to_be_visible()
        page.goto(f"{service.url}/inbox")
        expect(page.get_by_role("button", name="Text me a code")).to_be_visible()
        assert errors == [], errors
    finally:
        context.close()


def test_no_phone_number_or_token_reaches_the_access_log(service: LiveServer, twilio: TwilioServer) -> None:
    """Every inbox request is logged by its path only, and no inbox path carries a phone or token."""
    log = service.log.read_text()
    inbox_lines = [line for line in log.splitlines() if "/inbox" in line]
    assert inbox_lines or httpx.get(f"{service.url}/inbox/login").status_code == 200
    for line in service.log.read_text().splitlines():
        if "/inbox" in line:
            assert not re.search(r"\+?1?512555\d{4}", line), line
            assert "token=" not in line, line


def tab_to(page: Any, target: Any, limit: int = 60) -> None:
    """Press Tab until `target` has the focus, as a keyboard user moves through the page (no clicks)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target} in {limit} presses")


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_dispatcher_answers_a_waiting_customer_with_the_keyboard_alone(
    browser: Any, service: LiveServer, twilio: TwilioServer
) -> None:
    """Log in, open the waiting conversation, type a reply and send it with Tab, Enter and typing only."""
    from playwright.sync_api import expect

    customer = next(_customers)
    name = f"Kim Alvarez {customer[-4:]}"
    with service.client() as api:
        assert api.post("/jobs", json=job_body(customer_name=name, customer_phone=customer)).status_code == 201
    text(service, customer, "Is the driver still coming today?")

    context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(f"{service.url}/inbox")
        tab_to(page, page.get_by_label("Phone number"))
        page.keyboard.type(DISPATCHER)
        before = len(sent_to(twilio, DISPATCHER))
        page.keyboard.press("Enter")
        code = CODE.search(texted(twilio, DISPATCHER, CODE.pattern, after=before))
        assert code
        expect(page.get_by_label("Code")).to_be_visible()
        tab_to(page, page.get_by_label("Code"))
        page.keyboard.type(code[1])
        page.keyboard.press("Enter")

        conversation = page.get_by_role("link", name=name)
        expect(conversation).to_be_visible()
        tab_to(page, conversation)
        page.keyboard.press("Enter")
        expect(page.get_by_text("Is the driver still coming today?")).to_be_visible()

        tab_to(page, page.get_by_label("Reply"))
        page.keyboard.type("Yes, about 30 minutes out")
        tab_to(page, page.get_by_role("button", name="Send"))
        page.keyboard.press("Enter")
        texted(twilio, customer, "^Yes, about 30 minutes out$")
        expect(page.get_by_role("heading", level=1)).not_to_contain_text("Needs reply")
    finally:
        context.close()
