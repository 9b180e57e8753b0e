"""Businesses: a store each, nothing of one visible through another, and the registry that lists them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import NotFound
from store import DEFAULT_BUSINESS, Conflict, Deployment, JobWrite, open_deployment
from tests.store_contract.support import CUSTOMER, add_job, new_job, outbound, run

ACME_NUMBER = "+13125550100"
BOLT_NUMBER = "+13125550200"
MG_SID = "MG" + "a" * 32


def business(slug: str, *numbers: str, **more: Any) -> dict[str, Any]:
    """A registry record as the admin API stores it (its fields are opaque to the store but these)."""
    return {"slug": slug, "name": slug.title(), "numbers": list(numbers), "messaging_service_sid": None,
            "tokens": [], **more}  # fmt: skip


async def with_two(database_url: str) -> Deployment:
    deployment = await open_deployment(database_url)
    await deployment.add_business(business("acme", ACME_NUMBER))
    await deployment.add_business(business("bolt", BOLT_NUMBER, messaging_service_sid=MG_SID))
    return deployment


def test_each_business_counts_its_own_job_ids_and_keeps_its_own_texts(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            acme, bolt = deployment.store("acme"), deployment.store("bolt")
            first_acme = await add_job(acme, token="ACME1", texts=1)
            first_bolt = await add_job(bolt, token="BOLT1", texts=2)
            second_acme = await add_job(acme, token="ACME2")
            return (
                [first_acme.job["id"], second_acme.job["id"], first_bolt.job["id"]],
                await acme.get_job(1001),
                await bolt.get_job(1001),
                [len(await s.job_messages(1001)) for s in (acme, bolt)],
                await bolt.list_jobs(),
                [len(await s.phone_messages(CUSTOMER)) for s in (acme, bolt, deployment.default)],
            )
        finally:
            await deployment.close()

    ids, acme_job, bolt_job, conversation_sizes, bolt_jobs, phone_sizes = run(scenario())
    assert ids == [1001, 1002, 1001]
    assert (acme_job["token"], bolt_job["token"]) == ("ACME1", "BOLT1")
    assert conversation_sizes == [1, 2]
    assert [job["token"] for job in bolt_jobs] == ["BOLT1"]
    assert phone_sizes == [2, 2, 0]  # the same customer: acme's two bookings, bolt's two texts, none here


def test_a_phone_opted_out_at_one_business_is_not_opted_out_at_another(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            await deployment.store("acme").update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})
            return [await deployment.store(slug).is_opted_out(CUSTOMER) for slug in ("acme", "bolt", DEFAULT_BUSINESS)]
        finally:
            await deployment.close()

    assert run(scenario()) == [True, False, False]


def test_tokens_and_message_sids_are_found_across_businesses(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            await add_job(deployment.store("bolt"), token="BOLTTOKEN")
            stored = await deployment.store("acme").add_message({**outbound(CUSTOMER, "hi"), "twilio_sid": "SM1"})
            return (
                await deployment.find_job_by_token("BOLTTOKEN"),
                await deployment.find_job_by_token("NOSUCHTOKEN"),
                await deployment.business_of_sid("SM1"),
                await deployment.business_of_sid("SM2"),
                stored,
            )
        finally:
            await deployment.close()

    by_token, missing, sid_business, unknown_sid, _ = run(scenario())
    assert by_token is not None and by_token[0] == "bolt" and by_token[1]["token"] == "BOLTTOKEN"
    assert missing is None
    assert (sid_business, unknown_sid) == ("acme", None)


def test_a_tracking_token_is_never_given_twice_across_businesses(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            await add_job(deployment.store("acme"), token="SAMETOKEN")
            tokens = iter(["SAMETOKEN", "SAMETOKEN", "FRESHTOKEN"])  # the builder is asked again while taken

            def build(job_id: int) -> JobWrite:
                return new_job(token=next(tokens), texts=0)(job_id)

            return await deployment.store("bolt").create_job(build)
        finally:
            await deployment.close()

    assert run(scenario()).job["token"] == "FRESHTOKEN"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (business("acme", "+13125550999"), "slug"),
        (business("cargo", ACME_NUMBER), "numbers"),
        (business("cargo", "+13125550999", messaging_service_sid=MG_SID), "messaging_service_sid"),
        (business("cargo", "+15125550123"), "numbers"),  # the default business's (from settings)
    ],
)
def test_a_slug_or_number_another_business_has_is_a_conflict(database_url: str, record: dict, field: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            with pytest.raises(Conflict) as refused:
                await deployment.add_business(record, reserved=["+15125550123"])
            return refused.value.field, [b["slug"] for b in await deployment.businesses()], deployment.stores()
        finally:
            await deployment.close()

    refused_field, slugs, stores = run(scenario())
    assert refused_field == field
    assert slugs == ["acme", "bolt"]  # nothing registered
    assert list(stores) == [DEFAULT_BUSINESS, "acme", "bolt"]


def test_an_update_cannot_take_another_business_number(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            with pytest.raises(Conflict):
                await deployment.update_business("acme", lambda r: {**r, "numbers": [BOLT_NUMBER]})
            renamed = await deployment.update_business("acme", lambda r: {**r, "name": "Acme Hauling"})
            with pytest.raises(NotFound):
                await deployment.update_business("nobody", lambda r: r)
            return renamed, await deployment.get_business("acme")
        finally:
            await deployment.close()

    renamed, stored = run(scenario())
    assert renamed == stored and stored["name"] == "Acme Hauling" and stored["numbers"] == [ACME_NUMBER]


def test_businesses_and_their_data_survive_a_restart(database_url: str) -> None:
    async def scenario():
        deployment = await with_two(database_url)
        try:
            await add_job(deployment.store("bolt"), token="KEPT")
        finally:
            await deployment.close()
        reopened = await open_deployment(database_url)
        try:
            with pytest.raises(NotFound):
                reopened.store("cargo")
            return [b["slug"] for b in await reopened.businesses()], await reopened.store("bolt").get_job(1001)
        finally:
            await reopened.close()

    slugs, job = run(scenario())
    assert slugs == ["acme", "bolt"]
    assert job["token"] == "KEPT"
