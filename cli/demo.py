"""`qdn demo`: realistic jobs in every state, added through the API like any client's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cli import transcript
from cli.api_client import ApiClient
from config.settings import Settings

# Realistic demo jobs (fictional 555-01xx numbers): fields, when (days from today, hour, minute), and
# the status changes that put each in its state.
DEMO_JOBS: tuple[tuple[dict[str, Any], tuple[int, int, int], tuple[dict[str, Any], ...]], ...] = (
    (
        {"customer_name": "Dana Whitfield", "customer_phone": "512-555-0199", "service_type": "junk removal",
         "address": "4512 Ridgeview Dr, Austin, TX 78731", "notes": "Old sofa, two mattresses. Gate code 4411."},
        (1, 9, 0),
        (),
    ),
    (
        {"customer_name": "Marcus Bell", "customer_phone": "512-555-0142", "service_type": "dump trailer rental",
         "address": "2208 Barton Hills Dr, Austin, TX 78704"},
        (0, 8, 0),
        ({"status": "en_route", "eta_minutes": 25},),
    ),
    (
        {"customer_name": "Priya Raman", "customer_phone": "737-555-0118", "service_type": "dumpster delivery",
         "address": "9100 Shoal Creek Blvd, Austin, TX 78757"},
        (0, 7, 30),
        ({"status": "en_route", "eta_minutes": 15}, {"status": "arrived"}),
    ),
    (
        {"customer_name": "Tom Okafor", "customer_phone": "512-555-0176", "service_type": "junk removal",
         "address": "1807 E 12th St, Austin, TX 78702",
         "invoice_url": "https://pay.quickdumpnow.example/invoices/INV-20418"},
        (0, 7, 0),
        ({"status": "en_route", "eta_minutes": 30}, {"status": "arrived"}, {"status": "complete", "total": 385}),
    ),
    (
        {"customer_name": "Lena Fischer", "customer_phone": "512-555-0163", "service_type": "dump trailer rental",
         "address": "600 W 28th St, Austin, TX 78705"},
        (2, 10, 0),
        ({"status": "cancelled"},),
    ),
)  # fmt: skip


def add_demo_jobs(client: ApiClient, settings: Settings) -> list[str]:
    """Create DEMO_JOBS (scheduled from today, in TIMEZONE) and move each to its state; what to print."""
    today = datetime.now(settings.timezone).replace(second=0, microsecond=0)
    made = []
    for fields, (days, hour, minute), changes in DEMO_JOBS:
        when = (today + timedelta(days=days)).replace(hour=hour, minute=minute)
        job = client.create_job({**fields, "scheduled_for": when.isoformat()})
        for change in changes:
            job = client.change_status(job["id"], **change)
        made.append(job)
    lines = [f"Added {len(made)} demo jobs to {client.base_url}:"]
    width = max(len(transcript.status_text(job)) for job in made)
    for job in made:
        lines.append(
            f"  {job['id']}  {transcript.status_text(job):<{width}}  {job['customer_name']:<15}  {job['tracking_url']}"
        )
    dispatcher = settings.dispatcher_numbers[0] if settings.dispatcher_numbers else "<a DISPATCHER_NUMBERS phone>"
    lines.append(f"Next: qdn chat --from \"{made[0]['customer_phone']}\" and text STATUS; as a dispatcher, "
                 f"qdn chat --from \"{dispatcher}\" and text \"EN ROUTE {made[0]['id']} 20\"")  # fmt: skip
    return lines
