"""Pictures (MMS) end to end (issue #18): a real `qdn serve`, a local fake Twilio over HTTP, headless Chromium.

One live service (Twilio settings pointing at tests.twilio_fake.TwilioServer through
TWILIO_API_BASE_URL; PUBLIC_BASE_URL is the service's own http://127.0.0.1:port, so every
link it makes opens here). Webhooks are signed with Twilio's real algorithm.

The story (`story`, once for the module): job 1001 is booked for Dana; Dana texts "How much for
this?" with a photo Twilio keeps; the dispatcher gets the relay with a private link to it;
the dispatcher answers "DONE 1001 250" with a photo of the cleared spot, which reaches Dana
as an MMS. Each test then checks what someone would notice: the dispatcher's link opens the
picture (and Twilio's copy was fetched with the API key and deleted), Dana's MMS carries the
dispatcher's picture, Dana's tracking page shows both pictures at phone size, and a link that
is altered or expired is the same 404 as one to no picture. Bad input goes through the real
process too: a forged-but-signed MediaUrl naming the cloud metadata address, or a Twilio-shaped
URL on a host that is not Twilio's, is never requested.

QDN_UPDATE_SCREENSHOTS=1 also writes the tracking page's screenshot to
docs/images/track-pictures.png (the README shows it); otherwise it stays under tmp_path.
Nothing here measures time: `eventually` and Playwright's waits only turn a hang into a failure.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from bot.media import PNG, LinkKeys, link_path, new_media_id
from tests.support import CUSTOMER, DISPATCHER, ROOT, LiveServer, eventually, job_body
from tests.test_media_serving import png
from tests.test_track_browser import PHONE, Tab, browser, tabs
from tests.test_track_pictures_browser import loaded_widths
from tests.twilio_fake import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    CDN_PATH,
    FROM_NUMBER,
    Received,
    TwilioServer,
    basic_auth,
    sign,
    twilio_environ,
)

pytestmark = pytest.mark.e2e
__all__ = ["browser", "tabs"]  # the browser fixtures of the tracking page's own browser tests

SECRET_KEY = "media-e2e-tests-secret-key-0123456789abcdef"
UPDATE_SCREENSHOTS = os.environ.get("QDN_UPDATE_SCREENSHOTS") == "1"
README_SCREENSHOT = ROOT / "docs" / "images" / "track-pictures.png"
METADATA = "http://169.254.169.254/latest/meta-data"  # the cloud's instance credentials, were it fetched
ACK = "QuickDumpNow: Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."
LINK = r"(http://127\.0\.0\.1:\d+/m/default/[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]+)"


def _pile(x: int, y: int) -> tuple[int, int, int]:
    """Dana's photo: a brown heap on a lawn under a pale sky."""
    if (x - 180) ** 2 // 3 + (y - 200) ** 2 < 70**2 and y < 215:
        return (120 + (x * 7 + y * 3) % 40, 80 + (x + y) % 20, 40)
    return (150 + y // 3, 200, 240) if y < 150 else (60, 140 + (x * y) % 30, 50)


def _cleared(x: int, y: int) -> tuple[int, int, int]:
    """The dispatcher's photo: the same spot, cleared."""
    return (150 + y // 3, 200, 240) if y < 120 else (60, 140 + (x * y) % 30, 50)


CUSTOMER_PHOTO = png(360, 270, _pile)
DISPATCHER_PHOTO = png(240, 180, _cleared)
_mms_sids = (f"MM{n:032x}" for n in itertools.count(0xE2E0))


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as fake:
        yield fake


@pytest.fixture(scope="module")
def stranger() -> Iterator[TwilioServer]:
    """A host that is not Twilio but answers like it (the service's own credentials would work there)."""
    with TwilioServer({ACCOUNT_SID: {API_KEY: API_SECRET}}) as other:
        yield other


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioServer) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("media-e2e")
    environ = twilio_environ(folder, TWILIO_API_BASE_URL=twilio.url, SECRET_KEY=SECRET_KEY)
    server = LiveServer(environ, folder)
    server.environ["PUBLIC_BASE_URL"] = server.url  # links in texts and pages open on this very server
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(service: LiveServer) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


# --- Twilio's side --------------------------------------------------------------------------------


def mms(server: LiveServer, sender: str, body: str, media_urls: list[str], sid: str) -> httpx.Response:
    """POST what Twilio posts for an MMS from `sender` to our number, signed over the public URL."""
    fields = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media_urls)),
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": FROM_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for index, url in enumerate(media_urls):
        fields[f"MediaContentType{index}"] = "image/png"
        fields[f"MediaUrl{index}"] = url
    path = "/twilio/sms"
    return httpx.post(
        f"{server.url}{path}",
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(f"{server.url}{path}", fields, AUTH_TOKEN),
        },
        timeout=10,
    )


def twiml(response: httpx.Response) -> list[str]:
    """The texts a webhook's TwiML answers with."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return [message.text or "" for message in ET.fromstring(response.content).findall("./Message")]


def text_to(twilio: TwilioServer, phone: str, containing: str) -> Received:
    """The one text to `phone` whose body contains `containing`, once the service has sent it."""
    sent = eventually(
        lambda: [r for r in twilio.creates() if r.form.get("To") == phone and containing in r.form.get("Body", "")],
        f"a text to {phone} with {containing!r} to reach Twilio",
    )
    assert len(sent) == 1, sent
    assert sent[0].status == 201 and sent[0].authorization == basic_auth(API_KEY, API_SECRET)
    return sent[0]


def media_requests(twilio: TwilioServer) -> list[Received]:
    return [*twilio.media_fetches, *twilio.media_deletes]


def deleted(twilio: TwilioServer, media_url: str) -> list[Received]:
    """The DELETEs of Twilio's copy at `media_url`, once there is one (the fetcher deletes after keeping it)."""
    path = urlsplit(media_url).path
    return eventually(
        lambda: [r for r in twilio.media_deletes if r.path == path], f"Twilio's copy at {path} to be deleted"
    )


# --- the story -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    job: dict[str, Any]
    customer_media_url: str  # Twilio's MediaUrl of Dana's photo
    customer_answer: list[str]  # the webhook's TwiML answer to Dana
    relay: Received  # the relay to the dispatcher
    dispatcher_media_url: str
    dispatcher_answer: list[str]
    status_text: Received  # the "complete" text to Dana


@pytest.fixture(scope="module")
def story(service: LiveServer, twilio: TwilioServer, api: httpx.Client) -> Story:
    created = api.post("/jobs", json=job_body())
    assert created.status_code == 201, created.text
    job = created.json()
    text_to(twilio, CUSTOMER, job["token"])  # the booking text, before anything else

    sid = next(_mms_sids)
    customer_media_url = twilio.add_media(ACCOUNT_SID, sid, CUSTOMER_PHOTO, "image/png")
    customer_answer = twiml(mms(service, CUSTOMER, "How much for this?", [customer_media_url], sid))
    relay = text_to(twilio, DISPATCHER, f"Dana ({job['id']}, scheduled): How much for this?")

    sid = next(_mms_sids)
    dispatcher_media_url = twilio.add_media(ACCOUNT_SID, sid, DISPATCHER_PHOTO, "image/png")
    dispatcher_answer = twiml(mms(service, DISPATCHER, f"DONE {job['id']} 250", [dispatcher_media_url], sid))
    status_text = text_to(twilio, CUSTOMER, "is complete")
    return Story(job, customer_media_url, customer_answer, relay, dispatcher_media_url, dispatcher_answer, status_text)


def opened(url: str) -> httpx.Response:
    """What anyone with the link gets: no login, no cookie."""
    return httpx.get(url, timeout=10)


def assert_is_the_picture(response: httpx.Response, data: bytes) -> None:
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == PNG  # sniffed from the bytes when kept
    assert response.headers["cache-control"].startswith("private, max-age=")
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline")


def test_the_customers_picture_reaches_the_dispatcher_as_a_private_link(story: Story, twilio, api, service):
    job_id = story.job["id"]
    assert story.customer_answer == [ACK]  # the webhook answered Dana at once, fetch or no fetch

    # The relay names Dana's words and links the picture; the link opens it, for anyone holding it.
    found = re.fullmatch(
        rf"Dana \({job_id}, scheduled\): How much for this\? Photo: {LINK} Reply: R {job_id} <text>",
        story.relay.form["Body"],
    )
    assert found, story.relay.form["Body"]
    (link,) = found.groups()
    assert link.startswith(f"{service.url}/m/default/")
    assert story.relay.media_urls == ()  # a link in an SMS, not an MMS to the dispatcher
    assert_is_the_picture(opened(link), CUSTOMER_PHOTO)

    # Twilio's copy was fetched with the API key (then through its media host), and deleted.
    path = urlsplit(story.customer_media_url).path
    fetches = [r for r in twilio.media_fetches if r.path == path]
    assert [(r.status, r.user, r.authorization) for r in fetches] == [(307, API_KEY, basic_auth(API_KEY, API_SECRET))]
    assert [(r.status, r.user) for r in deleted(twilio, story.customer_media_url)] == [(204, API_KEY)]
    assert twilio.media_kept(story.customer_media_url) is False
    # The media host's address (a link anyone holding it could open, at Twilio) is in no log line.
    assert CDN_PATH not in service.log.read_text()

    # The dashboard's log shows the picture on Dana's text, served to the bearer too.
    inbound = [m for m in api.get(f"/jobs/{job_id}/messages").json()["messages"] if m["from"] == CUSTOMER]
    assert [m["body"] for m in inbound] == ["How much for this?"]
    (item,) = inbound[0]["media"]
    assert (item["type"], item["size"]) == (PNG, len(CUSTOMER_PHOTO))
    assert item["url"] == f"{service.url}/media/{item['id']}"
    assert link.startswith(f"{service.url}/m/default/{item['id']}.")
    assert_is_the_picture(api.get(item["url"]), CUSTOMER_PHOTO)
    assert opened(item["url"]).status_code == 401  # the dashboard's URL needs the token


def test_the_dispatchers_picture_reaches_the_customer_as_an_mms(story: Story, twilio, service):
    job_id = story.job["id"]
    (answer,) = story.dispatcher_answer
    assert answer == f"{job_id} -> complete ($250.00). Customer texted, with the photo."

    # Dana's "complete" text is an MMS: one picture, the dispatcher's, behind a link of ours.
    sent = story.status_text
    assert sent.form["Body"].startswith("QuickDumpNow: Dana") and sent.form["Body"].endswith("Total: $250.00.")
    (media_url,) = sent.media_urls
    assert media_url.startswith(f"{service.url}/m/default/")
    assert media_url not in sent.form["Body"]  # Twilio fetches it; Dana sees the picture, not a link
    assert_is_the_picture(opened(media_url), DISPATCHER_PHOTO)
    # The dispatcher's copy at Twilio went the same way as Dana's: fetched once, deleted.
    assert [r.status for r in deleted(twilio, story.dispatcher_media_url)] == [204]
    path = urlsplit(story.dispatcher_media_url).path
    assert [r.status for r in twilio.media_fetches if r.path == path] == [307]
    assert twilio.media_kept(story.dispatcher_media_url) is False

    # Dana's tracking link (token JSON): both pictures, hers and the business's, labelled.
    view = httpx.get(f"{service.url}/jobs/token/{story.job['token']}", timeout=10)
    assert view.status_code == 200, view.text
    assert view.json()["status"] == "complete"
    pictures = view.json()["pictures"]
    assert [(p["label"], p["from"], p["type"], p["size"]) for p in pictures] == [
        ("From you", "you", PNG, len(CUSTOMER_PHOTO)),
        ("Picked up", "business", PNG, len(DISPATCHER_PHOTO)),
    ]
    assert_is_the_picture(opened(pictures[0]["url"]), CUSTOMER_PHOTO)
    assert_is_the_picture(opened(pictures[1]["url"]), DISPATCHER_PHOTO)


@pytest.mark.browser
def test_the_tracking_page_shows_both_pictures_at_phone_size(story: Story, service, tabs, tmp_path: Path):
    from playwright.sync_api import expect

    tracking_url = story.job["tracking_url"]  # the link Dana's texts carry
    assert tracking_url.startswith(f"{service.url}/track")
    tab: Tab = tabs(PHONE)
    response = tab.open(tracking_url)
    assert response.status == 200
    expect(tab.page.locator("h1")).to_have_text("Complete")
    expect(tab.page.locator("img.picture-thumb")).to_have_count(2)
    expect(tab.page.locator(".picture-label")).to_have_text(["From you", "Picked up"])
    assert loaded_widths(tab.page, "img.picture-thumb") == [360, 240]  # drawn by Chromium, through the CSP
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    tab.page.locator("#pictures-heading").scroll_into_view_if_needed()
    shot = tmp_path / "track-pictures-390x844.png"
    tab.page.screenshot(path=str(shot), animations="disabled")
    assert shot.stat().st_size > 0
    if UPDATE_SCREENSHOTS:
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SCREENSHOT)
    assert tab.errors == []  # no script error, no CSP violation


def test_an_altered_or_expired_link_is_the_same_404_as_a_link_to_no_picture(story: Story, service):
    (link,) = re.findall(LINK, story.relay.form["Body"])
    assert opened(link).status_code == 200
    prefix, _, last = link.rpartition("/")
    media_id, expiry, signature = last.split(".")
    keys = LinkKeys.from_secret(SECRET_KEY)
    now = int(time.time())
    forged_signature = f"{prefix}/{media_id}.{expiry}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    extended = f"{prefix}/{media_id}.{expiry[:-1]}{'1' if expiry[-1] == '0' else '0'}z.{signature}"
    expired = service.url + link_path(keys, "default", media_id, now - 60)  # signed by us, a minute ago
    no_picture = service.url + link_path(keys, "default", new_media_id(), now + 3600)
    unknown_business = service.url + link_path(keys, "acme", media_id, now + 3600)

    def seen(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
        return response.status_code, response.content, {k: v for k, v in response.headers.items() if k != "date"}

    missing = seen(opened(no_picture))
    assert missing[0] == 404
    for url in (forged_signature, extended, expired, unknown_business):
        assert seen(opened(url)) == missing, url
    assert opened(link).status_code == 200  # the real link still opens


def test_a_forged_media_url_is_never_requested(service, twilio, stranger, api):
    phone = "+15125550188"
    created = api.post("/jobs", json=job_body(customer_name="Marcus Lee", customer_phone=phone))
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    text_to(twilio, phone, created.json()["token"])

    # Signed (the forger holds the auth token, or the body was replayed) but naming the metadata address.
    forged = next(_mms_sids)
    assert twiml(mms(service, phone, "How much for this?", [METADATA], forged)) == [ACK]
    # A Media resource of the right shape, on a host that is not Twilio's (it would even answer).
    sid = next(_mms_sids)
    elsewhere = stranger.add_media(ACCOUNT_SID, sid, CUSTOMER_PHOTO, "image/png")
    assert twiml(mms(service, phone, "And this one?", [elsewhere], sid)) == []  # acknowledged once already

    for words in ("How much for this?", "And this one?"):
        relay = text_to(twilio, DISPATCHER, f"Marcus ({job_id}, scheduled): {words}").form["Body"]
        assert relay == f"Marcus ({job_id}, scheduled): {words} Photo: (picture unavailable) Reply: R {job_id} <text>"
    # Nothing was asked of anyone: not of Twilio, not of the other host; nothing is kept.
    # (Twilio answered every request it got 307 or 204: each was for a picture it held for a real text.)
    assert [r for r in media_requests(twilio) if r.status not in (307, 204) or forged in r.path or sid in r.path] == []
    assert stranger.received == [] and stranger.media_fetches == [] and stranger.media_deletes == []
    inbound = [m for m in api.get(f"/jobs/{job_id}/messages").json()["messages"] if m["direction"] == "inbound"]
    assert [(m["body"], m["media"]) for m in inbound] == [("How much for this?", []), ("And this one?", [])]
    # The service writes its log off the event loop, a tenth of a second behind: wait for the warning.
    eventually(lambda: "169.254.169.254" in service.log.read_text(), "the dropped picture's warning")
    log = service.log.read_text()  # the warning names the origin...
    assert "meta-data" not in log and urlsplit(elsewhere).path not in log  # ...never the URL
