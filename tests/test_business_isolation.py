"""Two businesses, one customer: what each business's dashboard token and tracking links reach.

One deployment carries the default business (dashboard token: API_TOKEN) and
"acme" (a registered business; its token is kept as a hash), set up by
tests/businesses.py: the same customer has job 1001 at both, and A (each of
them in turn: every test runs from both sides) also has job 1002.

The case table sends one request with one business's token (after earlier
texts or requests, `given`) and checks, for every case, that the other
business's jobs, texts and phone states are exactly as they were, that the
answer carries no word of the other business's data (its name, number,
customer's surname, address, notes, tracking tokens), and that every job and
text in the answer is the caller's own; then what the case itself expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.businesses import CUSTOMER, OTHER_CUSTOMER, SIDES, Business, World, call, two_businesses

A, B = "A", "B"
# The other side's job: only A has a job 1002. MISSING: nobody's.
THEIRS, MISSING = 1002, 1099
NEW_CUSTOMER = {  # a job either business may book: nothing in it is either one's marker
    "customer_name": "Sam Ortiz",
    "customer_phone": "+15125550177",
    "service_type": "dump trailer rental",
}

Check = Callable[[World, httpx.Response, Business], None]


@dataclass(frozen=True)
class Step:
    """An earlier request: a text from `sender` to `to`'s number, or an API call with `to`'s token."""

    to: str
    sender: str = ""  # a text when set
    text: str = ""
    method: str = ""  # an API call when set
    path: str = ""
    json: Any = None
    key: str | None = None  # Idempotency-Key


def texted(to: str, sender: str, text: str) -> Step:
    return Step(to, sender=sender, text=text)


def called(to: str, method: str, path: str, json: Any = None, key: str | None = None) -> Step:
    return Step(to, method=method, path=path, json=json, key=key)


@dataclass(frozen=True)
class Case:
    label: str
    by: str  # A or B: whose dashboard token calls
    method: str
    path: str
    json: Any = None
    key: str | None = None  # Idempotency-Key
    status: int = 200
    check: Check | None = None
    given: tuple[Step, ...] = ()


# --- what a case expects, beyond the checks every case gets -----------------------------------------


def job_ids(*ids: int) -> Check:
    def check(world: World, response: httpx.Response, own: Business) -> None:
        assert [job["id"] for job in response.json()["jobs"]] == list(ids)

    return check


def own_1001(**fields: Any) -> Check:
    """The answer is the caller's job 1001, with `fields`; so is the stored job."""

    def check(world: World, response: httpx.Response, own: Business) -> None:
        job = response.json()
        assert (job["id"], job["token"], job["customer_name"]) == (1001, world.token(own), own.customer_name)
        stored = call(world.client, world.store(own).get_job, 1001)
        assert {key: job[key] for key in fields} == {key: stored[key] for key in fields} == fields

    return check


def moved(status: str) -> Check:
    """The caller's 1001 moved, and its customer's text is queued from the caller's own number."""

    def check(world: World, response: httpx.Response, own: Business) -> None:
        own_1001(status=status)(world, response, own)
        text = response.json()["text"]
        assert text is not None and text["status"] == "pending", text
        row = call(world.client, world.store(own).get_message, text["id"])
        assert (row["kind"], row["to"], row["from"]) == ("notification", CUSTOMER, own.number)
        assert row["body"].startswith(own.name + ": "), row["body"]

    return check


def queued_text(body: str) -> Check:
    def check(world: World, response: httpx.Response, own: Business) -> None:
        message = response.json()
        assert (message["to"], message["from"], message["body"]) == (CUSTOMER, own.number, body)
        assert (message["job_id"], message["status"]) == (1001, "pending")

    return check


def own_log(world: World, response: httpx.Response, own: Business) -> None:
    """A message list: the caller's texts (all its store has), none of the other's."""
    store = world.store(own)
    if response.request.url.path.startswith("/jobs/"):
        stored = call(world.client, store.job_messages, 1001)
    else:
        stored = call(world.client, store.phone_messages, CUSTOMER)
    listed = response.json()["messages"]
    assert [m["id"] for m in listed] == [m["id"] for m in stored]
    side = A if own == world.a else B
    assert {m["body"] for m in listed} >= {f"Hi {side}", f"Running late ({side})"}, "its texts are there"


def new_job(job_id: int) -> Check:
    """A job made afresh by this business (not another's answer replayed)."""

    def check(world: World, response: httpx.Response, own: Business) -> None:
        assert "Idempotent-Replayed" not in response.headers
        job = response.json()
        assert job["id"] == job_id and job["customer_name"] == NEW_CUSTOMER["customer_name"]
        assert call(world.client, world.store(own).get_job, job_id)["token"] == job["token"]

    return check


def not_replayed(then: Check) -> Check:
    def check(world: World, response: httpx.Response, own: Business) -> None:
        assert "Idempotent-Replayed" not in response.headers
        then(world, response, own)

    return check


def same_as_missing(world: World, response: httpx.Response, own: Business) -> None:
    """Another business's job id answers exactly as an id nobody has (message aside, which names the id)."""
    request = response.request
    missing = world.api(
        own,
        request.method,
        request.url.path.replace(str(THEIRS), str(MISSING)),
        content=request.content,
        headers={"Content-Type": "application/json"} if request.content else {},
    )
    assert missing.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": f"No job {THEIRS}."}}
    assert missing.json() == {"error": {"code": "not_found", "message": f"No job {MISSING}."}}
    assert dict(response.headers) == dict(missing.headers)


# --- the case table ---------------------------------------------------------------------------------

CONVERSATION = (  # the customer and each business, each through its own number
    texted(A, CUSTOMER, "Hi A"),
    texted(B, CUSTOMER, "Hi B"),
    called(A, "POST", "/jobs/1001/messages", {"body": "Running late (A)"}),
    called(B, "POST", "/jobs/1001/messages", {"body": "Running late (B)"}),
)
EN_ROUTE = {"status": "en_route", "eta_minutes": 20}
CASES = [
    # --- reads
    Case("GET /jobs: A's own", A, "GET", "/jobs", check=job_ids(1002, 1001)),
    Case("GET /jobs: B's own", B, "GET", "/jobs", check=job_ids(1001)),
    Case("GET /jobs by the shared customer's phone: A's 1001", A, "GET", f"/jobs?phone={CUSTOMER}",
         check=job_ids(1001)),
    Case("GET /jobs by the shared customer's phone: B's 1001", B, "GET", "/jobs?phone=512-555-0199",
         check=job_ids(1001)),
    Case("GET /jobs by A's other customer's phone, at B: none", B, "GET", f"/jobs?phone={OTHER_CUSTOMER}",
         check=job_ids()),
    Case("GET /jobs?status=scheduled at B: B's alone", B, "GET", "/jobs?status=scheduled", check=job_ids(1001)),
    Case("GET /jobs/1001: A's", A, "GET", "/jobs/1001", check=own_1001()),
    Case("GET /jobs/1001: B's", B, "GET", "/jobs/1001", check=own_1001()),
    Case("GET /jobs/1001/messages: A's conversation alone", A, "GET", "/jobs/1001/messages", check=own_log,
         given=CONVERSATION),
    Case("GET /jobs/1001/messages: B's conversation alone", B, "GET", "/jobs/1001/messages", check=own_log,
         given=CONVERSATION),
    Case("GET /messages?phone= the shared customer: A's texts alone", A, "GET", f"/messages?phone={CUSTOMER}",
         check=own_log, given=CONVERSATION),
    Case("GET /messages?phone= the shared customer: B's texts alone", B, "GET", "/messages?phone=(512)%20555-0199",
         check=own_log, given=CONVERSATION),
    # --- writes: the caller's own job 1001 alone (the other's is checked unchanged in every case)
    Case("PATCH /jobs/1001 at A", A, "PATCH", "/jobs/1001", {"notes": "Call first"},
         check=own_1001(notes="Call first")),
    Case("PATCH /jobs/1001 at B", B, "PATCH", "/jobs/1001", {"notes": "Call first"},
         check=own_1001(notes="Call first")),
    Case("POST /jobs/1001/status at A", A, "POST", "/jobs/1001/status", EN_ROUTE, check=moved("en_route")),
    Case("POST /jobs/1001/status at B", B, "POST", "/jobs/1001/status", EN_ROUTE, check=moved("en_route")),
    Case("POST /jobs/1001/status at B while A's 1001 is complete", B, "POST", "/jobs/1001/status", EN_ROUTE,
         check=moved("en_route"), given=(called(A, "POST", "/jobs/1001/status", {"status": "complete"}),)),
    Case("POST /jobs/1001/messages at A: from A's number", A, "POST", "/jobs/1001/messages", {"body": "On our way"},
         status=201, check=queued_text("On our way")),
    Case("POST /jobs/1001/messages at B: from B's number", B, "POST", "/jobs/1001/messages", {"body": "On our way"},
         status=201, check=queued_text("On our way")),
    # --- A's job 1002, asked for with B's token: the same 404 as a job nobody has
    Case("GET A's 1002 at B", B, "GET", f"/jobs/{THEIRS}", status=404, check=same_as_missing),
    Case("PATCH A's 1002 at B", B, "PATCH", f"/jobs/{THEIRS}", {"notes": "x"}, status=404, check=same_as_missing),
    Case("move A's 1002 at B", B, "POST", f"/jobs/{THEIRS}/status", EN_ROUTE, status=404, check=same_as_missing),
    Case("A's 1002's texts at B", B, "GET", f"/jobs/{THEIRS}/messages", status=404, check=same_as_missing),
    Case("text A's 1002's customer at B", B, "POST", f"/jobs/{THEIRS}/messages", {"body": "Hello"}, status=404,
         check=same_as_missing),
    # --- an Idempotency-Key is the business's own: another's use of it replays nothing, refuses nothing
    Case("a job with a key A used: B's own new job", B, "POST", "/jobs", NEW_CUSTOMER, key="job-7", status=201,
         check=new_job(1002), given=(called(A, "POST", "/jobs", NEW_CUSTOMER, key="job-7"),)),
    Case("a job with a key B used: A's own new job", A, "POST", "/jobs", NEW_CUSTOMER, key="job-7", status=201,
         check=new_job(1003), given=(called(B, "POST", "/jobs", NEW_CUSTOMER, key="job-7"),)),
    Case("a key A used for another body: no 422 at B", B, "POST", "/jobs", NEW_CUSTOMER, key="job-8", status=201,
         check=new_job(1002), given=(called(A, "POST", "/jobs", {**NEW_CUSTOMER, "notes": "A's"}, key="job-8"),)),
    Case("a move with a key A used: B's 1001 moves", B, "POST", "/jobs/1001/status", EN_ROUTE, key="move-1",
         check=not_replayed(moved("en_route")),
         given=(called(A, "POST", "/jobs/1001/status", EN_ROUTE, key="move-1"),)),
    Case("a move with a key B used: A's 1001 moves", A, "POST", "/jobs/1001/status", EN_ROUTE, key="move-1",
         check=not_replayed(moved("en_route")),
         given=(called(B, "POST", "/jobs/1001/status", EN_ROUTE, key="move-1"),)),
    Case("a text with a key A used: B texts its customer", B, "POST", "/jobs/1001/messages", {"body": "Hi"},
         key="text-1", status=201, check=not_replayed(queued_text("Hi")),
         given=(called(A, "POST", "/jobs/1001/messages", {"body": "Hi"}, key="text-1"),)),
]  # fmt: skip


@pytest.fixture(params=list(SIDES))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with two_businesses(tmp_path, request.param) as world:
        yield world


def run(world: World, step: Step) -> None:
    business = world.side(step.to)
    if step.sender:
        response = world.text(business, step.sender, step.text)
    else:
        headers = {"Idempotency-Key": step.key} if step.key else {}
        response = world.api(business, step.method, step.path, json=step.json, headers=headers)
    assert response.status_code < 300, response.text


def assert_all_own(world: World, payload: Any, own: Business) -> None:
    """Every job in an answer is one of the caller's (by token), every text went through its number."""
    tokens = {job["token"] for job in call(world.client, world.store(own).list_jobs)}
    found = [payload]
    while found:
        item = found.pop()
        if isinstance(item, dict):
            if "token" in item and "customer_phone" in item:
                assert item["token"] in tokens, item
            if "direction" in item:
                assert own.number in (item["from"], item["to"]), item
            found.extend(item.values())
        elif isinstance(item, list):
            found.extend(item)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_a_dashboard_token_reaches_only_its_own_business(world: World, case: Case) -> None:
    for step in case.given:
        run(world, step)
    own = world.side(case.by)
    other = world.other(own)
    before = world.snapshot(other)

    headers = {"Idempotency-Key": case.key} if case.key else {}
    response = world.api(own, case.method, case.path, json=case.json, headers=headers)

    assert response.status_code == case.status, response.text
    assert world.snapshot(other) == before, f"{other.slug}'s data changed"
    world.assert_nothing_of(other, response.text)
    assert_all_own(world, response.json(), own)
    if case.check is not None:
        case.check(world, response, own)


# --- paging -------------------------------------------------------------------------------------------


def pages(world: World, business: Business, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a list from `cursor` on, following next_cursor, with `business`'s token."""
    rows: list[dict[str, Any]] = []
    while params["cursor"]:
        response = world.api(business, "GET", path, params={**params, "limit": 1})
        assert response.status_code == 200, response.text
        rows += response.json()[key]
        params["cursor"] = response.json()["next_cursor"]
    return rows


@pytest.mark.parametrize(
    ("path", "key", "params"),
    [("/jobs", "jobs", {}), ("/messages", "messages", {"phone": CUSTOMER})],
    ids=["jobs", "messages"],
)
def test_a_cursor_from_one_business_pages_only_through_the_others_own_rows(
    world: World, path: str, key: str, params: dict[str, str]
) -> None:
    for step in CONVERSATION:
        run(world, step)
    for business in (world.a, world.b):
        world.create_job(business, NEW_CUSTOMER)
    for business in (world.a, world.b):
        other = world.other(business)
        first = world.api(other, "GET", path, params={**params, "limit": 1}).json()
        rows = pages(world, business, path, key, **params, cursor=first["next_cursor"])
        assert rows, "the cursor's position falls among the business's own rows"
        assert_all_own(world, {key: rows}, business)
        world.assert_nothing_of(other, str(rows))
        own_rows = world.api(business, "GET", path, params={**params, "limit": 1000}).json()[key]
        assert [row["id"] for row in rows] == [row["id"] for row in own_rows][-len(rows) :]


# --- tracking links -------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [A, B])
def test_a_tracking_token_shows_its_own_business_and_job(world: World, side: str) -> None:
    for step in CONVERSATION:
        run(world, step)
    own = world.side(side)
    other = world.other(own)
    token = world.token(own)

    view = world.client.get(f"/jobs/token/{token}")
    assert view.status_code == 200
    assert {key: view.json()[key] for key in ("business_name", "service_type", "first_name", "status")} == {
        "business_name": own.name,
        "service_type": own.service,
        "first_name": own.first_name,
        "status": "scheduled",
    }
    texts = world.client.get(f"/jobs/token/{token}/messages").json()["messages"]
    bodies = [text["body"] for text in texts]
    assert "Hi " + side in bodies and f"Running late ({side})" in bodies
    assert not {"Hi " + other_side for other_side in (A, B) if other_side != side} & set(bodies)

    for page in (world.client.get(f"/track/{token}"), world.client.get("/track", params={"token": token})):
        assert page.status_code == 200
        assert own.name in page.text and own.service in page.text
        assert own.appointment in page.text, "the appointment in the business's own time zone"
        for answer in (page.text, view.text, str(texts)):
            world.assert_nothing_of(other, answer)
        assert other.appointment not in page.text and other.service not in page.text


def test_an_unknown_tracking_token_names_neither_business(world: World) -> None:
    for page in (world.client.get("/track/K7M2-9XPQ-2HTR-4VWA-C3DF"), world.client.get("/track?token=nonsense")):
        assert page.status_code == 404
        for business in (world.a, world.b):
            assert business.name not in page.text and business.phone not in page.text
    for path in ("/jobs/token/K7M2-9XPQ-2HTR-4VWA-C3DF", "/jobs/token/K7M2-9XPQ-2HTR-4VWA-C3DF/messages"):
        answer = world.client.get(path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        for business in (world.a, world.b):
            assert business.name not in answer.text
