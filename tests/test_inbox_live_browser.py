"""The inbox's htmx behaviour in real headless Chromium against a real `qdn serve`.

What a dispatcher would notice: a text arriving while they type leaves what they typed alone (and
the part they were in catches up once they leave it); an action posts in the background with the
session's token from our own origin and shows its answer, a refused one with its reason; the tab's
title counts the conversations waiting; a login that ended (logged out in another tab, or the
phone taken off the business's dispatcher list: the event stream says "ended") shows the login
page; and with JavaScript off every form still works as a plain POST and redirect.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests import test_inbox_browser as inbox_browser
from tests import test_track_browser as track_browser
from tests.businesses import bearer
from tests.support import ADMIN_TOKEN, DISPATCHER, LiveServer, eventually, job_body
from tests.test_media_fetch import png
from tests.test_sms_e2e import text
from tests.twilio_fake import TwilioServer, twilio_environ

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

browser = inbox_browser.browser
twilio = inbox_browser.twilio
service = inbox_browser.service
customers = inbox_browser._customers
DESKTOP, WAIT_MS = inbox_browser.DESKTOP, inbox_browser.WAIT_MS
TWO_BUSINESSES = "+15125550177"  # dispatches for the default business and for Acme: picks one
ACME = {**track_browser.ACME, "dispatchers": [TWO_BUSINESSES]}
CUSTOMER = "+15125553901"


def today_now() -> str:
    """An appointment today in the business's zone (base_environ's TIMEZONE): now, never tomorrow there."""
    return datetime.now(ZoneInfo("America/Chicago")).isoformat(timespec="minutes")


@pytest.fixture(scope="module")
def two_businesses(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer) -> Iterator[LiveServer]:
    """`qdn serve` with a second business (Acme) that TWO_BUSINESSES also dispatches for, a job today
    and a customer's question waiting."""
    folder = tmp_path_factory.mktemp("inbox-accessibility")
    environ = twilio_environ(
        folder,
        TWILIO_API_BASE_URL=twilio.url,
        SECRET_KEY=track_browser.SECRET_KEY,
        DISPATCHER_NUMBERS=f"{DISPATCHER},{TWO_BUSINESSES}",
        ADMIN_TOKEN=ADMIN_TOKEN,
    )
    # in a thread of its own: asyncio.run() refuses to run in the thread where Playwright's loop runs
    inbox_browser._in_thread(asyncio.run, track_browser._register(environ, ACME, track_browser.ACME_TOKEN))
    server = LiveServer(environ, folder).start()
    try:
        with server.client() as api:
            job = job_body(
                customer_name="Dana Whitfield", customer_phone=CUSTOMER, scheduled_for=today_now(), total=350
            )
            assert api.post("/jobs", json=job).status_code == 201
        text(server, CUSTOMER, "Can you come before noon? The gate code is 4411.")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def logged_in(browser: Any, service: LiveServer, twilio: TwilioServer) -> dict[str, Any]:
    """One login for the module (codes are throttled per phone): its cookies, for each test's own context."""
    context = browser.new_context()
    try:
        inbox_browser.log_in(context.new_page(), service, twilio)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, logged_in: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, device_scale_factor=1, storage_state=logged_in)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    # No script error, no CSP violation. (Chromium logs a refused move's 400 answer, which the page shows.)
    assert [error for error in errors if not error.endswith("status of 400 (Bad Request)")] == [], errors


def customer_with_a_job(service: LiveServer, first_words: str) -> tuple[str, str, dict[str, Any]]:
    phone = next(customers)
    name = f"Sam Okafor {phone[-4:]}"
    with service.client() as api:
        job = api.post("/jobs", json=job_body(customer_name=name, customer_phone=phone)).json()
    text(service, phone, first_words)
    return phone, name, job


def open_conversation(page: Any, service: LiveServer, name: str) -> None:
    page.goto(f"{service.url}/inbox")
    page.get_by_role("link", name=name).click()
    page.wait_for_load_state()  # htmx has set the page up: a click before that posts as a plain form
    page.evaluate("window.sameDocument = true")  # gone if the page is ever reloaded


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_text_arriving_while_the_dispatcher_types_leaves_what_they_typed(
    page: Any, service: LiveServer, twilio: TwilioServer
) -> None:
    from playwright.sync_api import expect

    phone, name, job = customer_with_a_job(service, "Do you take old mattresses?")
    open_conversation(page, service, name)
    card = page.get_by_role("article", name=f"Job {job['id']}")
    card.get_by_label("ETA minutes").fill("25")  # typed, not sent: the job card keeps it
    page.get_by_label("Reply").fill("Yes we do, one moment while I")  # and still typing here

    text(service, phone, "And a sofa?")
    expect(page.get_by_text("And a sofa?")).to_be_visible(timeout=WAIT_MS)
    before = len(inbox_browser.sent_to(twilio, phone))
    with service.client() as api:  # the job moves meanwhile (from a text or the dashboard)
        assert api.post(f"/jobs/{job['id']}/status", json={"status": "arrived"}).status_code == 200
    told = inbox_browser.texted(twilio, phone, ".", after=before)  # the customer's status text...
    expect(page.locator("#texts")).to_contain_text(told, timeout=WAIT_MS)  # ...shows among the texts
    expect(page.get_by_label("Reply")).to_have_value("Yes we do, one moment while I")
    expect(card.get_by_label("ETA minutes")).to_have_value("25")
    expect(card).to_contain_text("Scheduled")  # the card they typed in is left as it was...

    card.get_by_label("ETA minutes").fill("")  # ...until they give it up and leave it
    page.get_by_label("Reply").focus()
    expect(card).to_contain_text("Arrived", timeout=WAIT_MS)
    expect(card.get_by_label("ETA minutes")).to_have_count(0)  # an arrived job has no "En route"
    expect(page.get_by_label("Reply")).to_have_value("Yes we do, one moment while I")
    assert page.evaluate("window.sameDocument") is True


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_reply_posts_in_the_background_with_the_session_token_from_our_origin(
    page: Any, service: LiveServer, twilio: TwilioServer
) -> None:
    from playwright.sync_api import expect

    phone, name, job = customer_with_a_job(service, "What time tomorrow?")
    open_conversation(page, service, name)
    page.get_by_label("Reply").fill("Between 9 and 10")
    with page.expect_request(lambda request: request.method == "POST") as posted:
        page.get_by_role("button", name="Send").click()
    request = posted.value
    assert request.url.endswith("/reply")
    assert request.header_value("hx-request") == "true"  # htmx, not a page load
    assert request.header_value("origin") == service.url
    assert "csrf" in (request.post_data or "")
    inbox_browser.texted(twilio, phone, "^Between 9 and 10$")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Needs reply")
    expect(page.get_by_label("Reply")).to_have_value("")  # the form came back empty, ready for the next
    expect(page.locator("#texts")).to_contain_text("Between 9 and 10")

    posts: list[str] = []  # a double click posts once (htmx drops a second post while the first runs)
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.get_by_label("Reply").fill("See you then")
    page.get_by_role("button", name="Send").dblclick()
    inbox_browser.texted(twilio, phone, "^See you then$")
    expect(page.locator("#texts")).to_contain_text("See you then")
    assert len(posts) == 1, posts

    before = len(twilio.creates())  # a picture goes too: htmx posts the form as multipart, as a browser does
    page.get_by_label("Picture").set_input_files({"name": "gate.png", "mimeType": "image/png", "buffer": png(64, 48)})
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#texts img.picture")).to_have_count(1)
    eventually(
        lambda: [r for r in twilio.creates()[before:] if r.form.get("To") == phone and r.form.get("MediaUrl")],
        "the picture sent to the customer as an MMS",
    )

    card = page.get_by_role("article", name=f"Job {job['id']}")
    card.get_by_label("ETA minutes").fill("soon")
    card.get_by_role("button", name="En route").click()
    expect(page.get_by_role("alert")).to_contain_text("ETA minutes")  # refused, with the reason
    expect(page.get_by_role("article", name=f"Job {job['id']}")).to_contain_text("Scheduled")
    assert page.evaluate("window.sameDocument") is True


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_move_on_today_s_page_stays_on_today_s_page(page: Any, service: LiveServer, twilio: TwilioServer) -> None:
    from playwright.sync_api import expect

    phone, name = next(customers), "Ruth Mbeki"
    with service.client() as api:
        booked = job_body(customer_name=name, customer_phone=phone, scheduled_for=today_now())
        job = api.post("/jobs", json=booked).json()
    page.goto(f"{service.url}/inbox/today")
    page.evaluate("window.sameDocument = true")
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name))
    card.get_by_role("button", name="Arrived").click()
    expect(card).to_contain_text("Arrived")
    inbox_browser.texted(twilio, phone, ".")  # the customer's status text
    assert page.url.endswith("/inbox/today") and page.evaluate("window.sameDocument") is True
    assert job["id"]


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_the_title_counts_the_conversations_waiting_as_they_come(page: Any, service: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/inbox")
    counted = re.match(r"\((\d+)\) ", page.title())
    waiting = int(counted[1]) if counted else 0
    _, name, _ = customer_with_a_job(service, "Is there a fee for stairs?")
    expect(page).to_have_title(re.compile(rf"^\({waiting + 1}\) Conversations"), timeout=WAIT_MS)
    expect(page.get_by_role("link", name=name)).to_be_visible()


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_page_whose_login_ended_goes_to_the_login_page(page: Any, service: LiveServer) -> None:
    from playwright.sync_api import expect

    phone, name, _ = customer_with_a_job(service, "Hello?")
    open_conversation(page, service, name)
    other = page.context.new_page()
    other.goto(f"{service.url}/inbox")
    other.get_by_role("button", name="Log out").click()  # this browser's login ends, in another tab
    expect(other.get_by_label("Phone number")).to_be_visible()

    text(service, phone, "Anyone there?")  # the open page fetches itself again: the login page answers
    expect(page.get_by_label("Phone number")).to_be_visible(timeout=WAIT_MS)
    assert page.url.endswith("/inbox/login")


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_without_javascript_every_form_still_posts_and_redirects(
    browser: Any, logged_in: dict[str, Any], service: LiveServer, twilio: TwilioServer
) -> None:
    from playwright.sync_api import expect

    phone, name, job = customer_with_a_job(service, "Can you text me when you leave?")
    context = browser.new_context(viewport=inbox_browser.PHONE, java_script_enabled=False, storage_state=logged_in)
    try:
        page = context.new_page()
        page.goto(f"{service.url}/inbox")
        page.get_by_role("link", name=name).click()
        page.get_by_label("Reply").fill("Will do")
        page.get_by_role("button", name="Send").click()
        inbox_browser.texted(twilio, phone, "^Will do$")
        expect(page.locator("#texts")).to_contain_text("Will do")
        assert "done=sent" in page.url  # the redirect after the POST

        card = page.get_by_role("article", name=f"Job {job['id']}")
        card.get_by_label("ETA minutes").fill("15")
        card.get_by_role("button", name="En route").click()
        expect(page.get_by_role("article", name=f"Job {job['id']}")).to_contain_text("En route")
        card.get_by_label("New date").fill("2030-05-04")
        card.get_by_role("button", name="Reschedule").click()
        expect(card).to_contain_text("May 4")
        inbox_browser.shoot(page, "no-javascript", inbox_browser.PHONE)
    finally:
        context.close()


def test_a_page_whose_phone_is_taken_off_the_business_s_list_goes_to_the_login_page(
    browser: Any, two_businesses: LiveServer, twilio: TwilioServer
) -> None:
    """The event stream itself says "ended" (the session is checked again at each change): the page reloads."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        inbox_browser.log_in(page, two_businesses, twilio, phone=TWO_BUSINESSES)
        page.get_by_label("Acme Hauling").check()
        page.get_by_role("button", name="Open inbox").click()
        expect(page.locator(".brand")).to_have_text("Acme Hauling")
        page.evaluate("window.sameDocument = true")

        with httpx.Client(base_url=two_businesses.url, timeout=10) as admin:
            taken_off = admin.patch("/admin/businesses/acme", json={"dispatchers": []}, headers=bearer(ADMIN_TOKEN))
            assert taken_off.status_code == 200, taken_off.text
            booked = admin.post("/jobs", json=job_body(), headers=bearer(track_browser.ACME_TOKEN))
            assert booked.status_code == 201, booked.text  # a change in Acme's inbox: its stream looks again
        expect(page.get_by_label("Phone number")).to_be_visible(timeout=WAIT_MS)
        assert page.url.endswith("/inbox/login")
    finally:
        context.close()


@pytest.mark.parametrize("service", ["tinydb"], indirect=True)
def test_a_text_that_came_while_the_live_stream_was_down_shows_once_it_is_back(
    browser: Any, logged_in: dict[str, Any], service: LiveServer
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP, storage_state=logged_in)
    try:
        page = context.new_page()
        page.route("**/inbox/events", lambda route: route.abort())  # the stream cannot connect
        page.goto(f"{service.url}/inbox")
        _, name, _ = customer_with_a_job(service, "Do you haul pianos?")  # nothing announces it
        page.wait_for_timeout(500)
        expect(page.get_by_role("link", name=name)).to_have_count(0)

        page.unroute("**/inbox/events")  # back: the page catches up without a change event
        expect(page.get_by_role("link", name=name)).to_be_visible(timeout=WAIT_MS)
    finally:
        context.close()
