"""/openapi.json tells the truth about consent and `phone_status`: real answers validate against it."""

from __future__ import annotations

from bot.consent import SOURCES
from tests.consent_support import live_app, text_in
from tests.support import CUSTOMER, job_body
from tests.test_openapi import check
from tests.twilio_fake import drain
from web.openapi import DOCUMENT


def test_post_jobs_describes_consent_and_get_consent_is_described():
    body = DOCUMENT["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["consent"]["enum"] == [*SOURCES, None]
    assert "consent" not in body["required"]
    assert {p["name"] for p in DOCUMENT["paths"]["/consent"]["get"]["parameters"]} == {"phone", "limit", "cursor"}
    assert "phone_status" in DOCUMENT["components"]["schemas"]["Job"]["required"]


def test_consent_and_phone_status_answers_match_the_schemas(tmp_path):
    with live_app(tmp_path, f"tinydb:///{tmp_path}/data/qdn.json") as (client, twilio):
        twilio.fail_next(30006)
        created = client.post("/jobs", json=job_body(consent="web_form"))
        check(created, "/jobs", "post")
        drain(client)
        marked = client.get(f"/jobs/{created.json()['id']}")
        check(marked, "/jobs/{job_id}", "get")
        check(client.get("/jobs"), "/jobs", "get")
        check(
            client.post("/jobs/1001/status", json={"status": "en_route", "eta_minutes": 5}),
            "/jobs/{job_id}/status",
            "post",
        )
        text_in(client, "STOP")
        check(client.get("/consent", params={"phone": CUSTOMER}), "/consent", "get")
        check(client.get("/consent", params={"phone": CUSTOMER, "limit": "1"}), "/consent", "get")
        check(client.get("/consent"), "/consent", "get")
        check(client.get("/consent", params={"phone": "+15125550111"}), "/consent", "get")  # 404
        check(client.get("/consent", params={"limit": "0"}), "/consent", "get")  # 422
        check(client.post("/jobs", json=job_body(consent="fax")), "/jobs", "post")  # 422
    assert marked.json()["phone_status"]["reason"] == "landline"
