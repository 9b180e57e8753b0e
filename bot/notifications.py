"""Wording of the texts a job's status changes send (templates come in #3)."""

from __future__ import annotations

from typing import Any

from bot.jobs import label


def notification_text(job: dict[str, Any], business_name: str, tracking_url: str) -> str:
    """The status text for `job` in its current status."""
    first_name = job["customer_name"].split()[0]
    eta = f" ETA {job['eta_minutes']} min." if job.get("eta_minutes") is not None else ""
    return (
        f"{business_name}: Hi {first_name}, your {job['service_type']} (job {job['id']}) "
        f"is {label(job['status'])}.{eta} Track: {tracking_url}"
    )
