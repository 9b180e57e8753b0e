"""A job's pictures on its tracking page, in real headless Chromium against a real `qdn serve`.

At phone size (390x844): the customer's own picture and the business's ARRIVED picture show
as thumbnails that really load (naturalWidth > 0, through the page's CSP), a dispatcher's own
picture does not, a tap opens the picture, and the live update (the job completed meanwhile)
keeps them -- without a reload. Screenshots go to the test's tmp_path.

The rows are put into the TinyDB store before the server starts (it owns the files while it
runs), as the webhook, the fetcher and a dispatcher's command would have written them
(docs/pictures.md); RUN_SENDER=false, so they stay as written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import clean_fields, utc_now
from bot.media import PNG, new_media_id
from config.settings import load_settings
from handlers.services import Services
from store import MediaFile, Store, open_deployment
from tests.support import CUSTOMER, DISPATCHER, LiveServer, base_environ, job_body
from tests.test_media_serving import png
from tests.test_track_browser import FOLLOW_MS, PHONE, Tab, assert_readable_contrast, browser, tabs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
__all__ = ["browser", "tabs"]  # the browser fixtures, shared with the page's own browser tests

SECRET_KEY = "picture-browser-tests-secret-key-0123456789"
BUSINESS_NUMBER = "+15125550123"  # tests.support.base_environ's BUSINESS_PHONE
CUSTOMER_PHOTO = png(64, 48)
ARRIVED_PHOTO = png(48, 64, lambda x, y: (30, 140 + y, 70))
DISPATCHER_PHOTO = png(32, 32, lambda x, y: (220, 30, 30))


async def _keep(store: Store, data: bytes, message_id: str) -> str:
    media_id = new_media_id()
    await store.save_media(MediaFile(media_id, PNG, data, message_id, utc_now()))
    return media_id


def _row(job_id: int, direction: str, kind: str, phone: str, body: str, media: list[dict[str, Any]]) -> dict[str, Any]:
    inbound = direction == "inbound"
    return {
        "direction": direction,
        "kind": kind,
        "job_id": job_id,
        "phone": phone,
        "from": phone if inbound else BUSINESS_NUMBER,
        "to": BUSINESS_NUMBER if inbound else phone,
        "body": body,
        "twilio_sid": None,
        "status": "received" if inbound else "delivered",
        "error_code": None,
        "error_message": None,
        "media": media,
    }


async def _prepare(environ: dict[str, str]) -> dict[str, Any]:
    """Job 1001, arrived with the dispatcher's picture, after the customer texted one; its token and pictures."""
    settings = load_settings(environ, env_file=None)
    deployment = await open_deployment(environ["DATABASE_URL"])
    try:
        store = deployment.default
        svc = Services(settings=settings, store=store)
        job = (await svc.create_job(clean_fields(job_body(), settings.timezone, partial=False))).job
        customer = await _keep(store, CUSTOMER_PHOTO, "in-1")
        await store.add_message(
            _row(
                job["id"],
                "inbound",
                "text",
                CUSTOMER,
                "How much to haul this?",
                [{"id": customer, "type": PNG, "size": len(CUSTOMER_PHOTO)}],
            )
        )
        own = await _keep(store, DISPATCHER_PHOTO, "in-2")  # a dispatcher's note to the team: never sent on
        await store.add_message(
            _row(job["id"], "inbound", "text", DISPATCHER, "tight driveway", [{"id": own, "type": PNG, "size": 9}])
        )
        arrived = await _keep(store, ARRIVED_PHOTO, "in-3")
        at = utc_now()
        await svc.change_status(job["id"], "arrived", by=DISPATCHER, now=at)
        await store.add_message(
            {
                **_row(job["id"], "outbound", "notification", CUSTOMER, "We're here.", [{"id": arrived}]),
                "created_at": at,
                "updated_at": at,
            }
        )
        return {"job": job, "ids": {"customer": customer, "own": own, "arrived": arrived}}
    finally:
        await deployment.close()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("pictures-browser")
    environ = base_environ(folder, SECRET_KEY=SECRET_KEY, RUN_SENDER="false")
    prepared = asyncio.run(_prepare(environ))
    live = LiveServer(environ, folder).start()
    yield live, prepared
    live.stop()


def loaded_widths(page: Any, selector: str) -> list[int]:
    """The natural widths of the images `selector` finds, once each has loaded (scrolled to: they are lazy)."""
    images = page.locator(selector)
    widths = []
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        widths.append(image.evaluate("img => img.naturalWidth"))
    return widths


def test_pictures_show_as_thumbnails_that_load_open_and_survive_the_live_update(scene, tabs, tmp_path: Path):
    from playwright.sync_api import expect

    server, prepared = scene
    job, ids = prepared["job"], prepared["ids"]
    tab: Tab = tabs(PHONE)
    response = tab.open(f"{server.url}/track/{job['token']}")
    assert response.status == 200
    expect(tab.page.locator("h1")).to_have_text("Arrived")
    thumbs = tab.page.locator("img.picture-thumb")
    expect(thumbs).to_have_count(2)
    expect(tab.page.locator(".picture-label")).to_have_text(["From you", "Delivered here"])
    assert loaded_widths(tab.page, "img.picture-thumb") == [64, 48]
    assert loaded_widths(tab.page, ".text-picture img") == [64, 48]  # in the texts' bubbles too
    for index in range(2):  # a thumbnail, not the picture: never wider than the box allows
        box = thumbs.nth(index).bounding_box()
        assert box is not None and 0 < box["width"] <= 160 and 0 < box["height"] <= 160, box
    html = tab.page.content()
    assert ids["own"] not in html
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.page.evaluate("window.sameDocument = true")
    tab.page.locator("#pictures-heading").scroll_into_view_if_needed()
    shot = tmp_path / "track-pictures-390x844.png"
    tab.page.screenshot(path=str(shot), full_page=True, animations="disabled")
    assert shot.stat().st_size > 0
    assert_readable_contrast(tab.page)  # the captions too

    # A tap opens the picture itself (a new tab, from the same origin).
    with tab.context.expect_page() as opened:
        tab.page.locator("a.picture-link").first.click()
    picture = opened.value
    picture.wait_for_load_state()
    assert picture.url.startswith(f"{server.url}/m/default/{ids['customer']}.")
    assert picture.evaluate("document.contentType") == "image/png"
    assert picture.evaluate("document.images.length && document.images[0].naturalWidth") == 64
    picture.close()

    # The job is completed while the page is open: the page follows, re-rendered, and keeps its pictures.
    with server.client() as api:
        moved = api.post(f"/jobs/{job['id']}/status", json={"status": "complete"})
        assert moved.status_code == 200, moved.text
    tab.next_poll()
    expect(tab.page.locator("h1")).to_have_text("Complete", timeout=FOLLOW_MS)
    assert tab.page.evaluate("window.sameDocument") is True
    expect(thumbs).to_have_count(2)
    assert loaded_widths(tab.page, "img.picture-thumb") == [64, 48]
    tab.page.screenshot(path=str(tmp_path / "track-pictures-complete-390x844.png"), full_page=True)
    assert tab.errors == []  # no script error, no CSP violation (img-src 'self')
