"""Paging the dashboard's lists: `limit`, an opaque `cursor`, `next_cursor`, and `updated_since` for sync."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support import CUSTOMER, job_body

OTHER_PHONE = "+17375550142"


def create(client, **fields: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def pages(client, path: str, key: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    found, cursor = [], None
    while True:
        response = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        found.append(response.json()[key])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def refusal(response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    message = response.json()["error"]["message"]
    assert message.startswith(f"{field}:"), message
    return message


def test_jobs_come_in_pages_of_limit_newest_first_and_the_last_page_says_so(client):
    ids = [create(client)["id"] for _ in range(5)]
    split = pages(client, "/jobs", "jobs", limit=2)
    assert [[job["id"] for job in page] for page in split] == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    everything = client.get("/jobs").json()  # default limit 100: one page
    assert [job["id"] for job in everything["jobs"]] == ids[::-1] and everything["next_cursor"] is None


def test_paging_stays_right_while_jobs_are_added_no_repeats_no_gaps(client):
    before = [create(client)["id"] for _ in range(6)]
    first = client.get("/jobs", params={"limit": 2}).json()
    create(client)  # a new job lands at the top: this pass neither repeats a job nor skips one
    second = client.get("/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    create(client)
    rest = pages(client, "/jobs", "jobs", limit=2, cursor=second["next_cursor"])
    seen = [job["id"] for job in first["jobs"] + second["jobs"] + [job for page in rest for job in page]]
    assert seen == before[::-1]


def test_filters_and_cursors_together(client):
    mine = [create(client)["id"] for _ in range(3)]
    create(client, customer_phone=OTHER_PHONE)
    client.post(f"/jobs/{mine[0]}/status", json={"status": "en route"})
    by_phone = pages(client, "/jobs", "jobs", phone="(512) 555-0199", limit=1)
    assert [page[0]["id"] for page in by_phone] == mine[::-1]
    scheduled = pages(client, "/jobs", "jobs", status="scheduled", phone=CUSTOMER, limit=1)
    assert [page[0]["id"] for page in scheduled] == mine[:0:-1]


def test_updated_since_gives_what_changed_oldest_change_first_for_sync(client):
    jobs = [create(client) for _ in range(3)]
    synced = client.get("/jobs", params={"updated_since": jobs[-1]["updated_at"]}).json()["jobs"]
    assert [job["id"] for job in synced] == [jobs[-1]["id"]]  # at or after: the last sync's own row comes again
    moved = client.post(f"/jobs/{jobs[0]['id']}/status", json={"status": "arrived"}).json()
    since = client.get("/jobs", params={"updated_since": jobs[-1]["updated_at"], "limit": 1})
    rows = since.json()["jobs"] + pages(client, "/jobs", "jobs", updated_since=jobs[-1]["updated_at"], limit=1,
                                        cursor=since.json()["next_cursor"])[0]  # fmt: skip
    assert [job["id"] for job in rows] == [jobs[-1]["id"], jobs[0]["id"]]
    assert rows[-1]["updated_at"] == moved["updated_at"] and rows[-1]["status"] == "arrived"
    # A zone-less time is the business's (TIMEZONE); a date alone is its midnight.
    assert client.get("/jobs", params={"updated_since": "2000-01-01"}).json()["jobs"][0]["id"] == jobs[1]["id"]


def test_a_jobs_messages_page_oldest_first_while_texts_are_added(client):
    job = create(client)
    for n in range(3):
        client.post(f"/jobs/{job['id']}/messages", json={"body": f"note {n}"})
    first = client.get(f"/jobs/{job['id']}/messages", params={"limit": 3}).json()
    client.post(f"/jobs/{job['id']}/messages", json={"body": "added while paging"})
    rest = pages(client, f"/jobs/{job['id']}/messages", "messages", limit=3, cursor=first["next_cursor"])
    bodies = [m["body"] for m in first["messages"] + [m for page in rest for m in page]]
    assert bodies[1:] == ["note 0", "note 1", "note 2", "added while paging"]
    assert len(set(bodies)) == len(bodies)


def test_a_phones_messages_page_across_its_jobs(client):
    jobs = [create(client) for _ in range(2)]
    for n in range(4):
        client.post(f"/jobs/{jobs[n % 2]['id']}/messages", json={"body": f"text {n}"})
    split = pages(client, "/messages", "messages", phone="512-555-0199", limit=2)
    assert [len(page) for page in split] == [2, 2, 2]
    assert [m["body"] for page in split for m in page][2:] == ["text 0", "text 1", "text 2", "text 3"]


def test_a_cursor_is_opaque_and_carries_no_phone_number(client):
    create(client)
    create(client)
    for path, params in (("/jobs", {}), ("/messages", {"phone": CUSTOMER})):
        cursor = client.get(path, params={**params, "limit": 1}).json()["next_cursor"]
        assert cursor and set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        assert "5550199" not in decoded and "5125550199" not in cursor


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "1.5", "ten", "", " 5", "\uff15", "7" * 5000])
def test_a_bad_limit_is_a_422_naming_limit(client, limit):
    job = create(client)
    for path, params in (("/jobs", {}), (f"/jobs/{job['id']}/messages", {}), ("/messages", {"phone": CUSTOMER})):
        assert "1 to 1000" in refusal(client.get(path, params={**params, "limit": limit}), "limit")


def test_limits_at_the_edges_are_taken(client):
    create(client)
    assert client.get("/jobs", params={"limit": "1"}).status_code == 200
    assert client.get("/jobs", params={"limit": "1000"}).status_code == 200


@pytest.mark.parametrize("cursor", ["", "!!", "bm9wZQ", "x" * 600, "eyJsaXN0Ijoiam9icyIsImFmdGVyIjpbInMiXX0"])
def test_a_bad_cursor_is_a_422_naming_cursor(client, cursor):
    create(client)
    refusal(client.get("/jobs", params={"cursor": cursor}), "cursor")


def forged(kind: str, after: list[Any]) -> str:
    return base64.urlsafe_b64encode(f'{{"list":"{kind}","after":{after}}}'.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    ['["2026-12-02T07:39:17.165Z","1001-\u00b2"]', '["2026-12-02T07:39:17.165Z","1001-' + "7" * 5000 + '"]',
     '["2026-12-02T07:39:17.165Z","p\u00b2-1"]', '[null, null]', '[1, 2, 3]'],
)  # fmt: skip
def test_a_forged_message_position_is_a_422_not_a_500(client, after):
    """A cursor is opaque but comes from the client: a position no page gave is refused like any bad cursor."""
    job = create(client)
    for path, kind, params in ((f"/jobs/{job['id']}/messages", "job_messages", {}),
                               ("/messages", "phone_messages", {"phone": CUSTOMER})):  # fmt: skip
        refusal(client.get(path, params={**params, "cursor": forged(kind, after)}), "cursor")


def test_a_cursor_of_another_list_is_refused(client):
    job = create(client)
    create(client)
    jobs_cursor = client.get("/jobs", params={"limit": 1}).json()["next_cursor"]
    refusal(client.get(f"/jobs/{job['id']}/messages", params={"cursor": jobs_cursor}), "cursor")
    refusal(client.get("/jobs", params={"cursor": jobs_cursor, "updated_since": "2020-01-01"}), "cursor")


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-12-01T25:00", "1733130000", "2026-12-01T09:00+5"])
def test_a_bad_updated_since_is_a_422_naming_it(client, since):
    refusal(client.get("/jobs", params={"updated_since": since}), "updated_since")
