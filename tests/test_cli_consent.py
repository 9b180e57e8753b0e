"""`qdn consent export` against a running service, and `qdn jobs show` naming a phone that can't take texts."""

from __future__ import annotations

import csv
import io

import httpx
import respx

from tests.test_cli import api, qdn, service
from tests.test_cli import one_line_error as one_line

__all__ = ["qdn", "service"]  # the fixtures, used by name

PHONES = ["+15125550161", "+15125550162", "+15125550163"]


def test_consent_export_writes_every_phone_as_csv_to_a_file_or_standard_output(qdn, service, tmp_path):
    with api(service) as client:
        for phone, consent in zip(PHONES, ("verbal", "import", None), strict=True):
            body = {"customer_name": "Dana", "customer_phone": phone, "service_type": "junk removal"}
            assert client.post("/jobs", json={**body, **({"consent": consent} if consent else {})}).status_code == 201
    out = tmp_path / "consent.csv"
    written = qdn("consent", "export", "--out", str(out))
    printed = qdn("consent", "export")
    assert written.code == 0 and printed.code == 0, written.err + printed.err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["phone", "state", "since", "source", "evidence"]
    ours = {row["phone"]: row for row in rows if row["phone"] in PHONES}
    assert set(ours) == set(PHONES)  # the service may hold other tests' phones too
    assert ours[PHONES[0]]["source"] == "verbal" and ours[PHONES[1]]["source"] == "import"
    assert ours[PHONES[2]]["source"] == "booking"
    assert all(row["state"] == "opted_in" and row["since"] for row in ours.values())
    assert ours[PHONES[0]]["evidence"].startswith("verbal; by token:api; job ")
    assert list(csv.DictReader(io.StringIO(printed.out))) == rows  # the same, on standard output
    assert f"{len(rows)} phones written to {out}" in written.err


def test_consent_export_to_a_folder_that_is_not_there_is_one_line(qdn, tmp_path):
    run = qdn("consent", "export", "--out", str(tmp_path / "missing" / "consent.csv"))
    assert run.code != 0
    assert one_line(run).startswith(f"cannot write {tmp_path / 'missing' / 'consent.csv'}")


JOB = {
    "id": 1042, "token": "UX7D-PC9S-H4CB-TM2T-VCVS", "tracking_url": "https://sms.example.test/track?token=x",
    "customer_name": "Dana Whitfield", "customer_phone": "+15125550199", "service_type": "junk removal",
    "address": None, "scheduled_for": None, "total": None, "invoice_url": None, "notes": None,
    "status": "scheduled", "eta_minutes": None, "reschedules": [],
    "history": [{"status": "scheduled", "at": "2026-12-07T15:00:00.000Z", "by": "api", "eta_minutes": None}],
    "created_at": "2026-12-07T15:00:00.000Z", "updated_at": "2026-12-07T15:00:00.000Z",
}  # fmt: skip


def test_jobs_show_says_when_the_customers_phone_cant_take_texts(qdn):
    marked = {"can_text": False, "reason": "landline", "since": "2026-12-07T15:01:00.000Z"}
    shown = []
    for status in (marked, None):
        with respx.mock(assert_all_called=False) as router:
            router.get(url__regex=r".*/jobs/1042$").mock(httpx.Response(200, json={**JOB, "phone_status": status}))
            router.get(url__regex=r".*/business$").mock(
                httpx.Response(200, json={"slug": "default", "name": "QuickDumpNow", "timezone": "America/Chicago"})
            )
            shown.append(qdn("jobs", "show", "1042", "--url", "http://service.test"))
    assert shown[0].code == 0, shown[0].err
    assert "Texts:       can't reach this phone (landline) since Mon Dec 07 09:01: call them" in shown[0].out
    assert "Texts:" not in shown[1].out
