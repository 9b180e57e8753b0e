"""`qdn demo`: realistic jobs in every state, added through the API like any client's.

The walkthrough (README) runs it on a service that may hold other jobs already, at any hour:
so it prints the ids it made, its customers have phones of their own (no job made elsewhere
shares a conversation with them), and every appointment it sets is still to come when it runs,
in the business's own zone -- a job on its way is due after the crew gets there, never "this
morning" beside "arriving around 6:39 PM".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.wording import appointment_at
from cli import transcript
from cli.api_client import ApiClient
from store.settings import Settings

When = Callable[[datetime], str]  # the appointment for a demo run at a local moment (`scheduled_for`)


def _next_quarter_after(moment: datetime, minutes: int) -> datetime:
    """The first quarter hour (:00, :15, :30, :45) strictly after `moment` + `minutes`."""
    later = (moment + timedelta(minutes=minutes + 1)).replace(second=0, microsecond=0)
    return later + timedelta(minutes=-later.minute % 15)


def _day_at(days: int, hour: int) -> When:
    return lambda now: (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()


def _soon(minutes: int) -> When:
    return lambda now: _next_quarter_after(now, minutes).isoformat()


def _today(now: datetime) -> str:
    return date.isoformat(now.date())  # a day with no time: done today, whatever the hour


# The demo's customers, with phones (fictional 555-01xx) used nowhere else; their appointment;
# the status changes that put each in its state.
DEMO_JOBS: tuple[tuple[dict[str, Any], When, tuple[dict[str, Any], ...]], ...] = (
    (
        {"customer_name": "Dana Whitfield", "customer_phone": "512-555-0181", "service_type": "junk removal",
         "address": "4512 Ridgeview Dr, Austin, TX 78731", "notes": "Old sofa, two mattresses. Gate code 4411."},
        _day_at(1, 9),
        (),
    ),
    (
        {"customer_name": "Marcus Bell", "customer_phone": "512-555-0182", "service_type": "dump trailer rental",
         "address": "2208 Barton Hills Dr, Austin, TX 78704"},
        _soon(25),  # due after the crew, 25 minutes away, gets there
        ({"status": "en_route", "eta_minutes": 25},),
    ),
    (
        {"customer_name": "Priya Raman", "customer_phone": "737-555-0183", "service_type": "dumpster delivery",
         "address": "9100 Shoal Creek Blvd, Austin, TX 78757"},
        _soon(0),  # the crew is there a little early
        ({"status": "en_route", "eta_minutes": 15}, {"status": "arrived"}),
    ),
    (
        {"customer_name": "Tom Okafor", "customer_phone": "512-555-0184", "service_type": "junk removal",
         "address": "1807 E 12th St, Austin, TX 78702",
         "invoice_url": "https://pay.quickdumpnow.example/invoices/INV-20418"},
        _today,
        ({"status": "en_route", "eta_minutes": 30}, {"status": "arrived"}, {"status": "complete", "total": 385}),
    ),
    (
        {"customer_name": "Lena Fischer", "customer_phone": "512-555-0185", "service_type": "dump trailer rental",
         "address": "600 W 28th St, Austin, TX 78705"},
        _day_at(2, 10),
        ({"status": "cancelled"},),
    ),
)  # fmt: skip


def add_demo_jobs(client: ApiClient, settings: Settings, zone: ZoneInfo, now: datetime | None = None) -> list[str]:
    """Create DEMO_JOBS (appointments from `now`, default the present, in the business's `zone`) and move
    each to its state; what to print."""
    local_now = (now or datetime.now(zone)).astimezone(zone)
    made = []
    for fields, when, changes in DEMO_JOBS:
        job = client.create_job({**fields, "scheduled_for": when(local_now)})
        for change in changes:
            job = client.change_status(job["id"], **change)
        made.append(job)
    rows = [
        (str(job["id"]), job["customer_name"], job["customer_phone"], transcript.status_text(job),
         transcript.appointment(job["scheduled_for"], zone))
        for job in made
    ]  # fmt: skip
    times = [appointment_at(job["scheduled_for"], zone) for job in made]
    first = made[0]
    dispatcher = settings.dispatcher_numbers[0] if settings.dispatcher_numbers else "<a DISPATCHER_NUMBERS phone>"
    return [
        f"Added {len(made)} demo jobs to {client.base_url}:",
        *transcript.table_lines(None, rows, indent="  "),
        transcript.zone_note(zone, times),
        f'Tracking links: qdn jobs show ID. Next: qdn chat --from "{first["customer_phone"]}" and text STATUS; '
        f'as a dispatcher, qdn chat --from "{dispatcher}" and text "EN ROUTE {first["id"]} 20"',
    ]
