"""What the tracking page shows, worked out from the public view (no I/O).

The page is rendered only from the masked public view and the masked texts
that the token API returns, so it cannot show anything the JSON does not:
no address, notes, full phone numbers or other jobs. Times are shown in the
business's zone (TIMEZONE), since that is the customer's driveway too.

Every page carries its business (`brand`): name, phone and accent colour --
or none of them, when the deployment carries several businesses and the
token named none of them (an unknown link, the slow-down page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.wording import appointment_day, appointment_words, clock, eta_at, money, phone_for_people, reschedule_words

STEPS = (("scheduled", "Scheduled"), ("en_route", "En route"), ("arrived", "Arrived"), ("complete", "Complete"))
_STEP_INDEX = {key: index for index, (key, _) in enumerate(STEPS)}

HEADLINES = {
    "scheduled": ("Scheduled", "Your {service} is on our schedule. We'll text you when the crew is on the way."),
    "en_route": ("On the way", "Our crew is headed to you now."),
    "arrived": ("Arrived", "Our crew has arrived."),
    "complete": ("Complete", "All done. Thank you for choosing {business}!"),
    "cancelled": ("Cancelled", "This job has been cancelled. If that's unexpected, please call or text us."),
}
# The first entry is when the job was booked, not when the crew comes: the appointment has its own block.
TIMELINE_LABELS = {
    "scheduled": "Booked",
    "en_route": "On the way",
    "arrived": "Arrived",
    "complete": "Complete",
    "cancelled": "Cancelled",
}
UNDELIVERED = frozenset({"failed", "undelivered"})
# What bot.business_fields stores; checked again here, as it becomes an attribute of the page.
_HEX_COLOR = re.compile(r"#[0-9a-f]{6}")
_WHITE, _BLACK = "#ffffff", "#000000"
HOVER_SHARE = 0.15  # how far a button's hover shade moves from the accent
RING_SHARE = 0.6  # the halo round the current step: a pale tint of the accent (the page's own is amber)


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class Moment:
    iso: str  # for <time datetime=...>
    text: str  # "Today, 2:45 PM" / "Tue, Nov 25, 9:05 AM"


def when(moment: datetime, now: datetime) -> str:
    """A local time, with the day only when it is not today."""
    if moment.date() == now.date():
        return f"Today, {clock(moment)}"
    return f"{moment:%a}, {moment:%b} {moment.day}, {clock(moment)}"


def moment(at: str, tz: ZoneInfo, now: datetime) -> Moment:
    local = datetime.fromisoformat(at).astimezone(tz)
    return Moment(iso=at, text=when(local, now))


def steps(status: str) -> list[Step]:
    """The stepper: steps before the current one are done (also when skipped)."""
    current = _STEP_INDEX.get(status, 0)
    return [
        Step(label, "done" if index < current else "current" if index == current else "todo")
        for index, (_, label) in enumerate(STEPS)
    ]


def eta(view: dict[str, Any], tz: ZoneInfo) -> dict[str, Any] | None:
    """When the crew should arrive: the latest en-route estimate, as local clock time."""
    arrival = eta_at(view, tz)
    if arrival is None:
        return None
    set_at = arrival - timedelta(minutes=view["eta_minutes"])
    return {
        "clock": clock(arrival),
        "zone": arrival.tzname() or "",
        "iso": arrival.isoformat(),
        "minutes": view["eta_minutes"],
        "set_at": clock(set_at),
    }


def appointment(view: dict[str, Any], tz: ZoneInfo, now: datetime) -> dict[str, Any] | None:
    """When the crew comes, as the texts say it ("Sat Dec 5, 9:00 AM"; a day with no time: "Sat Dec 5").

    Shown while the job is open; `relative` says "Today" or "Tomorrow" when it is.
    """
    words = appointment_words(view.get("scheduled_for"), tz)
    day = appointment_day(view.get("scheduled_for"), tz)
    if words is None or day is None or view["status"] not in ("scheduled", "en_route", "arrived"):
        return None
    relative = {0: "Today", 1: "Tomorrow"}.get((day - now.astimezone(tz).date()).days)
    confirmed = bool(view.get("confirmed_at")) and view["status"] == "scheduled"
    return {"text": words, "iso": view["scheduled_for"], "relative": relative, "confirmed": confirmed}


def tel_link(e164: str | None) -> dict[str, str] | None:
    """The business's own number for its Call (tel:) and Text (sms:) buttons and for reading.

    Only ever the business's number: the customer's never reaches the page."""
    if not e164:
        return None
    return {"tel": e164, "sms": e164, "text": phone_for_people(e164)}


def finished_links(view: dict[str, Any], review_url: str | None) -> list[dict[str, str]]:
    """A completed job's "Pay invoice" and "Leave a review" buttons, each when its link is known."""
    if view["status"] != "complete":
        return []
    links = [("Pay invoice", view.get("invoice_url"), "invoice"), ("Leave a review", review_url, "review")]
    return [{"label": label, "href": href, "kind": kind} for label, href, kind in links if href]


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""

    def channel(pair: str) -> float:
        value = int(pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[start : start + 2]) for start in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _mix(color: str, toward: str, share: float) -> str:
    channels = (
        round(int(color[start : start + 2], 16) * (1 - share) + int(toward[start : start + 2], 16) * share)
        for start in (1, 3, 5)
    )
    return "#" + "".join(f"{value:02x}" for value in channels)


def accent(color: str | None) -> dict[str, str] | None:
    """A business's accent colour for its page: the colour, the text colour on it, a hover shade, a halo tint.

    The text on it is white or black, whichever contrasts more: at least
    4.58:1 whatever the colour (WCAG AA). The hover shade moves away from
    that text colour, so its contrast only grows. None -- the page's own
    navy -- without a colour, or for anything but "#rrggbb" (so nothing
    else ever reaches the page).
    """
    color = (color or "").lower()
    if not _HEX_COLOR.fullmatch(color):
        return None
    ink = _WHITE if contrast(color, _WHITE) >= contrast(color, _BLACK) else _BLACK
    return {
        "color": color,
        "ink": ink,
        "hover": _mix(color, _BLACK if ink == _WHITE else _WHITE, HOVER_SHARE),
        "ring": _mix(color, _WHITE, RING_SHARE),
    }


def brand(name: str | None, phone: str | None, accent_color: str | None) -> dict[str, Any]:
    """Who the page is from (base.html): a business's name, phone and accent, or -- all None -- nobody's."""
    return {"business_name": name or None, "business_phone": tel_link(phone), "accent": accent(accent_color)}


def same_origin(url: str) -> str:
    """A picture's link as the page uses it: its path alone, so it loads from wherever the page was
    opened (the CSP's img-src 'self') even when PUBLIC_BASE_URL names another host."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def picture_tiles(view: dict[str, Any], tz: ZoneInfo, now: datetime) -> list[dict[str, Any]]:
    """The job's pictures (the view's `pictures`) as the page shows them: a thumbnail that opens the picture."""
    tiles = []
    for picture in view.get("pictures") or ():
        when_sent = moment(picture["at"], tz, now)
        tiles.append(
            {
                "src": same_origin(picture["url"]),
                "label": picture["label"],
                "mine": picture["from"] == "you",
                "when": when_sent,
                "alt": f"Picture: {picture['label']}, {when_sent.text}",
            }
        )
    return tiles


def updates(view: dict[str, Any], tz: ZoneInfo) -> list[tuple[str, str, int | None]]:
    """(at, label, eta minutes) of each status change and each change of appointment, oldest first."""
    changes = [
        (entry["at"], TIMELINE_LABELS.get(entry["status"], entry["status"]), entry["eta_minutes"])
        for entry in view["history"]
    ]
    for entry in view.get("reschedules") or ():
        words = reschedule_words(entry, tz)
        changes.append((entry["at"], words[0].upper() + words[1:], None))
    # ISO UTC times with milliseconds sort as text; a stable sort keeps same-time entries in order.
    return sorted(changes, key=lambda change: change[0])


def page_context(
    view: dict[str, Any],
    messages: list[dict[str, Any]],
    *,
    tz: ZoneInfo,
    now: datetime,
    review_url: str | None = None,
) -> dict[str, Any]:
    """Everything track.html needs, from the public view, the public texts and the business's review link."""
    now = now.astimezone(tz)
    status = view["status"]
    headline, lede = HEADLINES[status]
    timeline = [
        {"label": label, "eta_minutes": eta_minutes, "when": moment(at, tz, now)}
        for at, label, eta_minutes in reversed(updates(view, tz))
    ]
    texts = [
        {
            "mine": message["direction"] == "inbound",
            "body": message["body"],
            "when": moment(message["created_at"], tz, now),
            "undelivered": message["status"] in UNDELIVERED,
            "pictures": [
                {"src": same_origin(item["url"]), "alt": f"Picture {number} sent with this text"}
                for number, item in enumerate(message.get("media") or (), start=1)
            ],
        }
        for message in messages
    ]
    return {
        "view": view,
        "status": status,
        "headline": headline,
        "lede": lede.format(service=view["service_type"], business=view["business_name"]),
        "steps": steps(status),
        "eta": eta(view, tz),
        "appointment": appointment(view, tz, now),
        "timeline": timeline,
        "texts": texts,
        "pictures": picture_tiles(view, tz, now),
        "total": money(view["total"]) if view.get("total") is not None else None,
        "finished_links": finished_links(view, review_url),
    }
