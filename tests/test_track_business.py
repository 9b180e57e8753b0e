"""The tracking page per business: its own name, phone, time zone and accent colour, never another's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from bot.jobs import clean_fields
from bot.wording import phone_for_people
from handlers.tenancy import Tenant
from handlers.track.view import accent, contrast
from tests.businesses import call, register_business, tenants_of
from tests.support import job_body
from tests.test_track_api import UNKNOWN_TOKEN
from tests.test_track_page import Page, clock_text, page

ACME = {
    "slug": "acme",
    "name": "Acme Hauling",
    "phone": "+13035550101",
    "timezone": "America/Denver",
    "numbers": ["+13035550100"],
    "accent_color": "#1a7f37",
}
BOLT = {
    "slug": "bolt",
    "name": "Bolt Junk Co",
    "phone": "+12125550202",
    "timezone": "America/New_York",
    "numbers": ["+12125550200"],
    "accent_color": "#F5B942",  # stored lowercase; a light colour, so its text is black
}
DEFAULT_NAME = "QuickDumpNow"  # tests.support.base_environ


def add_business(client: TestClient, payload: dict[str, Any]) -> Tenant:
    """Register and run a business, as the admin API would; its running Tenant."""
    register_business(client, payload)
    tenant = tenants_of(client).get(payload["slug"])
    assert tenant is not None
    return tenant


def new_job(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    """A job created through the business's own Services (its own store, its own id sequence)."""
    svc = tenant.services
    fields = clean_fields(job_body(**overrides), svc.settings.timezone, partial=False)
    return call(client, svc.create_job, fields).job


def move(client: TestClient, tenant: Tenant, job: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    return call(client, tenant.services.change_status, job["id"], status, by="api", **extra).job


@pytest.fixture
def two(client: TestClient) -> tuple[Tenant, Tenant]:
    return add_business(client, ACME), add_business(client, BOLT)


def brand(doc: Page) -> dict[str, Any]:
    """Who the page says it is from."""
    html = doc.find("html")[0]["attrs"]
    themes = doc.find("meta", name="theme-color")
    footer = doc.find("footer")[0]
    # The footer's number and the Call button: one number, the business's own.
    tel = sorted({a["attrs"]["href"] for a in doc.find("a") if a["attrs"].get("href", "").startswith("tel:")})
    return {
        "brand": doc.text("p", class_="brand"),
        "title": doc.text("title"),
        "accent": html.get("data-accent"),
        "ink": html.get("data-accent-ink"),
        "theme": themes[0]["attrs"]["content"] if themes else None,
        "tel": tel,
        "footer": " ".join(footer["text"].split()),
    }


def test_each_page_carries_its_own_business_and_never_the_others(client, two):
    acme, bolt = two
    jobs = {tenant.slug: new_job(client, tenant) for tenant in (acme, bolt)}
    shown = {}
    for tenant in (acme, bolt):
        doc, html = page(client, jobs[tenant.slug]["token"])
        shown[tenant.slug] = brand(doc)
        other = bolt if tenant is acme else acme
        phone = other.settings.business_phone or ""
        for foreign in (other.settings.business_name, phone, phone_for_people(phone), other.settings.accent_color):
            assert foreign and foreign not in html
        assert DEFAULT_NAME not in html
    assert shown["acme"] == {
        "brand": "Acme Hauling",
        "title": "Scheduled: your junk removal · Acme Hauling",
        "accent": "#1a7f37",
        "ink": "#ffffff",
        "theme": "#1a7f37",
        "tel": ["tel:+13035550101"],
        "footer": "Questions? Call or text (303) 555-0101. This page is private to you: please don't share its link.",
    }
    assert shown["bolt"]["brand"] == "Bolt Junk Co" and shown["bolt"]["tel"] == ["tel:+12125550202"]
    assert (shown["bolt"]["accent"], shown["bolt"]["ink"]) == ("#f5b942", "#000000")
    # The script that applies the colour is our own file (the CSP allows no inline style).
    doc, _ = page(client, jobs["acme"]["token"])
    assert [s["attrs"]["src"].split("?")[0] for s in doc.find("script") if "src" in s["attrs"]] == [
        "/static/accent.js",
        "/static/track.js",
    ]
    assert client.get("/static/accent.js").status_code == 200


def test_the_same_job_id_in_two_businesses_each_token_shows_its_own_job(client, two):
    acme, bolt = two
    first = new_job(client, acme, customer_name="Ana Acme", service_type="garage cleanout")
    second = new_job(client, bolt, customer_name="Bo Bolt", service_type="hot tub removal")
    assert first["id"] == second["id"] == 1001 and first["token"] != second["token"]
    move(client, bolt, second, "en_route", eta_minutes=30)
    for job, name, first_name, service, headline in (
        (first, "Acme Hauling", "Ana", "Garage cleanout for Ana", "Scheduled"),
        (second, "Bolt Junk Co", "Bo", "Hot tub removal for Bo", "On the way"),
    ):
        view = client.get(f"/jobs/token/{job['token']}").json()
        assert (view["business_name"], view["first_name"], view["service_type"]) == (
            name,
            first_name,
            job["service_type"],
        )
        doc, _ = page(client, job["token"])
        shown = (doc.text("p", class_="brand"), doc.text("p", class_="service"), doc.text("h1"))
        assert shown == (name, service, headline)


def test_times_are_in_each_businesss_own_zone(client, two):
    for tenant, zone in zip(two, (ZoneInfo("America/Denver"), ZoneInfo("America/New_York")), strict=True):
        assert tenant.settings.timezone == zone  # neither is the deployment's (America/Chicago)
        job = move(client, tenant, new_job(client, tenant), "en_route", eta_minutes=20)
        doc, _ = page(client, job["token"])
        shown = {t["attrs"]["datetime"]: " ".join(t["text"].split()) for t in doc.find("time")}
        for entry in job["history"]:  # booked, on the way: each at its local clock time
            assert clock_text(datetime.fromisoformat(entry["at"]).astimezone(zone)) in shown[entry["at"]], shown
        arrival = datetime.fromisoformat(job["history"][-1]["at"]).astimezone(zone) + timedelta(minutes=20)
        assert doc.text("abbr", class_="eta-zone") == arrival.tzname()  # MST/MDT, EST/EDT
        assert clock_text(arrival) in doc.text("time", class_="eta-time")


def test_an_unknown_link_names_no_business_when_there_are_several(client, two):
    doc, html = page(client, UNKNOWN_TOKEN, status=404)
    shown = brand(doc)
    assert shown["brand"] == "Job tracking" and shown["title"] == "Tracking link not found · Job tracking"
    assert shown["accent"] is None and shown["theme"] is None and shown["tel"] == []
    assert "Reply to any of our texts" in shown["footer"]
    for tenant in (tenants_of(client).default, *two):
        assert tenant.settings.business_name not in html
        national = tenant.settings.business_phone[2:]
        assert f"({national[:3]}) {national[3:6]}-{national[6:]}" not in html and national not in html
    assert not doc.find("p", class_="brand-note")  # "Job tracking" once, not twice
    # Every unknown link still gets the same page, whichever form it came in.
    assert client.get("/track/nope").text == html


def test_with_only_the_default_business_an_unknown_link_still_names_it(client):
    doc, _ = page(client, UNKNOWN_TOKEN, status=404)
    assert doc.text("p", class_="brand") == DEFAULT_NAME
    assert doc.text("title") == f"Tracking link not found · {DEFAULT_NAME}"
    assert brand(doc)["tel"] == ["tel:+15125550123"]


@pytest.mark.parametrize(
    ("color", "expected"),
    [
        ("#1a7f37", {"color": "#1a7f37", "ink": "#ffffff", "hover": "#166c2f", "ring": "#a3ccaf"}),
        ("#F5B942", {"color": "#f5b942", "ink": "#000000", "hover": "#f6c45e", "ring": "#fbe3b3"}),
        (
            "#777777",
            {"color": "#777777", "ink": "#000000", "hover": "#8b8b8b", "ring": "#c9c9c9"},
        ),  # mid grey: black reads better
        (None, None),
        ("", None),
        ('#000000" onload="alert(1)', None),  # never reaches the page: not "#rrggbb"
        ("red", None),
        ("#12345", None),
    ],
)
def test_an_accent_colour_gets_an_ink_that_reads_on_it(color, expected):
    assert accent(color) == expected


def test_the_ink_always_reads_on_the_accent():
    for value in range(0, 0x1000000, 0x010305):  # a spread of colours across the cube
        shade = accent(f"#{value:06x}")
        assert shade is not None
        assert contrast(shade["color"], shade["ink"]) >= 4.5, shade
        assert contrast(shade["hover"], shade["ink"]) >= contrast(shade["color"], shade["ink"]), shade
