"""`qdn jobs edit`: a job's details changed from the terminal, and a reschedule kept in the job's record.

A new appointment is kept in the job's `reschedules` (the API, `qdn jobs show`, the tracking page's
timeline); `history` stays the job's status changes, as dashboards read it.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.test_cli import api, created_id, one_line_error, qdn, service  # noqa: F401 -- fixtures
from tests.test_openapi import check


def booked(qdn, phone: str = "512-555-0186") -> int:  # noqa: F811 -- the fixture, passed in
    return created_id(qdn("jobs", "create", "--name", "Gus Hale", "--phone", phone, "--service", "junk removal",
                          "--scheduled", "2037-12-05T09:00"))  # fmt: skip


def test_rescheduling_texts_the_customer_and_is_kept_in_the_jobs_record(qdn, service):  # noqa: F811
    job_id = booked(qdn)
    run = qdn("jobs", "edit", str(job_id), "--scheduled", "2037-12-09T14:00", "--notes", "Side gate")
    assert run.code == 0, run.err
    with api(service) as client:
        job = client.get(f"/jobs/{job_id}").json()
        texts = client.get(f"/jobs/{job_id}/messages").json()["messages"]
    assert run.out.splitlines() == [
        f"Job {job_id} updated: appointment, notes. Tracking: {job['tracking_url']}",
        "Rescheduled from Sat Dec 5, 9:00 AM to Wed Dec 9, 2:00 PM; the customer is texted the new time.",
        "Times in America/Chicago (CST).",
    ]
    assert "Wed Dec 9" in texts[-1]["body"] and texts[-1]["kind"] == "notification"

    # The API: the change in `reschedules`; `history` is still the status changes alone.
    assert [entry["status"] for entry in job["history"]] == ["scheduled"]
    (change,) = job["reschedules"]
    assert (change["by"], change["from"], change["to"]) == ("api", "2037-12-05T09:00:00-06:00",
                                                            "2037-12-09T14:00:00-06:00")  # fmt: skip
    assert change["at"] == job["updated_at"]

    shown = qdn("jobs", "show", str(job_id))
    history = shown.out.split("History:\n")[1].splitlines()
    assert history[0].endswith("  booked  by api")
    assert history[1].endswith("  rescheduled from Sat Dec 5, 9:00 AM to Wed Dec 9, 2:00 PM  by api")
    assert "Appointment: Wed Dec 9, 2:00 PM\n" in shown.out


def test_the_tracking_page_and_public_view_show_the_reschedule_without_a_phone(qdn, service):  # noqa: F811
    job_id = booked(qdn, "512-555-0187")
    assert qdn("jobs", "edit", str(job_id), "--scheduled", "2037-12-09").code == 0
    assert qdn("jobs", "status", str(job_id), "en route", "--eta", "20").code == 0
    with api(service) as client:
        job = client.get(f"/jobs/{job_id}").json()
        check(client.get(f"/jobs/{job_id}"), "/jobs/{job_id}", "get")
    with httpx.Client(base_url=service.url, timeout=10) as anon:
        view = anon.get(f"/jobs/token/{job['token']}")
        page = anon.get(f"/track/{job['token']}").text
    check(view, "/jobs/token/{token}", "get")
    assert view.json()["reschedules"] == [{"at": job["reschedules"][0]["at"], "by": "api",
                                           "from": "2037-12-05T09:00:00-06:00", "to": "2037-12-09"}]  # fmt: skip
    timeline = re.sub(r"\s+", " ", page.split('class="timeline"')[1].split("</ol>")[0])
    labels = re.findall(r'<span class="timeline-label">([^<]*)', timeline)
    assert [label.strip() for label in labels] == ["On the way", "Rescheduled from Sat Dec 5, 9:00 AM to Wed Dec 9",
                                                   "Booked"]  # fmt: skip
    assert "555" not in timeline


def test_the_eta_still_counts_from_the_en_route_text_after_a_reschedule(qdn, service):  # noqa: F811
    job_id = booked(qdn, "512-555-0188")
    assert qdn("jobs", "status", str(job_id), "en route", "--eta", "30").code == 0
    assert qdn("jobs", "edit", str(job_id), "--scheduled", "2037-12-05T10:00").code == 0
    with api(service) as client:
        job = client.get(f"/jobs/{job_id}").json()
    assert [entry["status"] for entry in job["history"]] == ["scheduled", "en_route"]  # no entry with a later time
    assert job["reschedules"][0]["at"] > job["history"][-1]["at"]


def test_other_edits_text_no_one_and_say_what_changed(qdn, service):  # noqa: F811
    job_id = booked(qdn, "512-555-0189")
    run = qdn("jobs", "edit", str(job_id), "--name", "Gus T. Hale", "--total", "$420", "--address", "1 Elm St",
              "--invoice-url", "https://pay.example/7", "--service", "dump trailer rental",
              "--phone", "512-555-0139")  # fmt: skip
    assert run.code == 0, run.err
    with api(service) as client:
        job = client.get(f"/jobs/{job_id}").json()
        texts = client.get(f"/jobs/{job_id}/messages").json()["messages"]
    assert run.out.splitlines() == [
        f"Job {job_id} updated: name, phone, service, address, total, invoice. Tracking: {job['tracking_url']}"
    ]
    assert (job["customer_name"], job["customer_phone"], job["total"]) == ("Gus T. Hale", "+15125550139", 420.0)
    assert len(texts) == 1 and job["reschedules"] == []  # the booking text only
    again = qdn("jobs", "edit", str(job_id), "--name", "Gus T. Hale")
    assert again.out.strip() == f"Job {job_id}: nothing changed. Tracking: {job['tracking_url']}"
    cleared = qdn("jobs", "edit", str(job_id), "--address", "", "--scheduled", "")
    assert cleared.out.splitlines()[1] == "Appointment cleared (was Sat Dec 5, 9:00 AM); no one is texted."


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), "say what to change: --name, --phone, --service, --address, --scheduled, --total, --invoice-url or "
             "--notes"),
        (("--scheduled", "next tuesday"), "scheduled_for: 'next tuesday' is not an ISO 8601 date or date-time"),
        (("--phone", "call me"), "customer_phone: 'call me' is not a phone number"),
        (("--total", "lots"), "total: must be an amount in dollars"),
        (("--name", " "), "customer_name: must not be empty"),
    ],
)  # fmt: skip
def test_bad_edits_get_one_line(qdn, argv, expected):  # noqa: F811
    job_id = booked(qdn, "512-555-0138")
    assert one_line_error(qdn("jobs", "edit", str(job_id), *argv)).startswith(expected)


def test_editing_no_such_job_says_so(qdn):  # noqa: F811
    assert one_line_error(qdn("jobs", "edit", "99999", "--notes", "x")) == "No job 99999."
