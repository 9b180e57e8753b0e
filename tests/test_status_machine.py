"""Every allowed and refused status move, straight from SPEC's machine."""

import itertools

import pytest

from bot import jobs
from bot.errors import InvalidTransition, ValidationError

ALLOWED = {
    ("scheduled", "en_route"),
    ("scheduled", "arrived"),
    ("scheduled", "complete"),
    ("scheduled", "cancelled"),
    ("en_route", "arrived"),
    ("en_route", "complete"),
    ("en_route", "cancelled"),
    ("arrived", "complete"),
    ("arrived", "cancelled"),
}
PAIRS = [(a, b) for a, b in itertools.product(jobs.STATUSES, repeat=2) if a != b]


def job_in(status: str) -> dict:
    job = jobs.new_job(1042, "TOKN", {"customer_name": "Dana", "customer_phone": "+15125550199"}, "2026-01-01T00:00Z")
    return {**job, "status": status}


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_move(current, target):
    job = job_in(current)
    if (current, target) in ALLOWED:
        moved = jobs.apply_status(job, target, by="api", now="2026-01-01T01:00:00.000Z")
        assert moved.changed
        assert moved.job["status"] == target
        assert moved.job["history"][-1] == {
            "status": target,
            "at": "2026-01-01T01:00:00.000Z",
            "by": "api",
            "eta_minutes": None,
        }
        assert job["status"] == current  # the input is not mutated
    else:
        with pytest.raises(InvalidTransition) as refused:
            jobs.apply_status(job, target, by="api", now="x")
        assert refused.value.message.startswith(f"1042 {jobs._AS_IS[current]}; it can't ")


def test_refusal_says_why():
    with pytest.raises(InvalidTransition) as refused:
        jobs.apply_status(job_in("complete"), "en_route", by="api", now="x")
    assert refused.value.message == "1042 is complete; it can't go en route"


@pytest.mark.parametrize("status", jobs.STATUSES)
def test_same_status_changes_nothing(status):
    job = job_in(status)
    moved = jobs.apply_status(job, status, by="api", now="x")
    assert not moved.changed
    assert moved.job == job


def test_en_route_with_new_eta_updates_and_records_it():
    on_way = jobs.apply_status(job_in("scheduled"), "en_route", by="+15125550100", now="t1", eta_minutes=20).job
    again = jobs.apply_status(on_way, "en_route", by="+15125550100", now="t2", eta_minutes=35)
    assert again.changed and again.job["eta_minutes"] == 35
    assert [h["eta_minutes"] for h in again.job["history"]] == [None, 20, 35]
    same = jobs.apply_status(again.job, "en_route", by="api", now="t3", eta_minutes=35)
    assert not same.changed


def test_eta_is_cleared_when_leaving_en_route():
    on_way = jobs.apply_status(job_in("scheduled"), "en_route", by="api", now="t1", eta_minutes=20).job
    assert jobs.apply_status(on_way, "arrived", by="api", now="t2").job["eta_minutes"] is None


def test_total_only_with_complete_and_eta_only_with_en_route():
    with pytest.raises(ValidationError):
        jobs.apply_status(job_in("scheduled"), "arrived", by="api", now="t", total=10.0)
    with pytest.raises(ValidationError):
        jobs.apply_status(job_in("scheduled"), "complete", by="api", now="t", eta_minutes=5)
    done = jobs.apply_status(job_in("arrived"), "complete", by="api", now="t", total=1200.0)
    assert done.job["total"] == 1200.0


def test_unknown_status_is_a_validation_error():
    with pytest.raises(ValidationError) as refused:
        jobs.apply_status(job_in("scheduled"), "teleported", by="api", now="t")
    assert refused.value.field == "status"


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("arrived", "en_route", "1042 has arrived; it can't go back to en route"),
        ("cancelled", "arrived", "1042 is cancelled; it can't be marked arrived"),
        ("complete", "cancelled", "1042 is complete; it can't be cancelled"),
        ("en_route", "scheduled", "1042 is en route; it can't go back to scheduled"),
    ],
)
def test_refusals_read_as_plain_english(current, target, message):
    with pytest.raises(InvalidTransition) as refused:
        jobs.apply_status(job_in(current), target, by="api", now="x")
    assert refused.value.message == message
