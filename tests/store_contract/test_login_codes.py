"""The office inbox's login codes (store/roles/login_codes.py): once, until they expire, 5 tries.

Deployment-wide, by phone. On a backend several processes share, a code put through one
process is used through another, once.
"""

from __future__ import annotations

import asyncio

from store import Deployment
from store.login_codes import code_hash
from tests.store_contract.test_throttles import at, deployments

PHONE = "+15125550100"
OTHER = "+15125550199"
KEY = "test-secret"
RIGHT, WRONG = code_hash(PHONE, "123456", KEY), code_hash(PHONE, "654321", KEY)
TRIES = 5


def test_a_code_works_once(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> list[bool]:
        (one,) = instances
        await one.put_login_code(PHONE, RIGHT, at(0), at(600))
        return [
            await one.use_login_code(PHONE, RIGHT, at(1), TRIES),
            await one.use_login_code(PHONE, RIGHT, at(2), TRIES),
        ]

    assert deployments(database_url, scenario) == [True, False]


def test_a_code_expires(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> bool:
        (one,) = instances
        await one.put_login_code(PHONE, RIGHT, at(0), at(600))
        return await one.use_login_code(PHONE, RIGHT, at(600), TRIES)

    assert deployments(database_url, scenario) is False


def test_five_wrong_tries_then_even_the_right_code_is_refused(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> tuple[list[bool], bool, bool]:
        (one,) = instances
        await one.put_login_code(PHONE, RIGHT, at(0), at(600))
        wrong = [await one.use_login_code(PHONE, WRONG, at(1), TRIES) for _ in range(TRIES)]
        sixth = await one.use_login_code(PHONE, RIGHT, at(2), TRIES)
        await one.put_login_code(PHONE, RIGHT, at(3), at(603))  # a new code starts afresh
        return wrong, sixth, await one.use_login_code(PHONE, RIGHT, at(4), TRIES)

    assert deployments(database_url, scenario) == ([False] * TRIES, False, True)


def test_four_wrong_tries_leave_the_right_code_working(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> bool:
        (one,) = instances
        await one.put_login_code(PHONE, RIGHT, at(0), at(600))
        for _ in range(TRIES - 1):
            await one.use_login_code(PHONE, WRONG, at(1), TRIES)
        return await one.use_login_code(PHONE, RIGHT, at(2), TRIES)

    assert deployments(database_url, scenario) is True


def test_a_new_code_replaces_the_old_one_and_phones_are_apart(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> list[bool]:
        (one,) = instances
        await one.put_login_code(PHONE, WRONG, at(0), at(600))
        await one.put_login_code(PHONE, RIGHT, at(1), at(601))
        await one.put_login_code(OTHER, code_hash(OTHER, "123456", KEY), at(1), at(601))
        return [
            await one.use_login_code(PHONE, WRONG, at(2), TRIES),
            await one.use_login_code(OTHER, RIGHT, at(2), TRIES),  # the hash is bound to its phone
            await one.use_login_code(PHONE, RIGHT, at(3), TRIES),
            await one.use_login_code("+15125550111", RIGHT, at(3), TRIES),  # no code at all
        ]

    assert deployments(database_url, scenario) == [False, False, True, False]


def test_two_processes_racing_with_one_code_log_in_once(database_url: str) -> None:
    async def scenario(instances: list[Deployment]) -> list[bool]:
        await instances[0].put_login_code(PHONE, RIGHT, at(0), at(600))
        return list(
            await asyncio.gather(
                *(instances[n % len(instances)].use_login_code(PHONE, RIGHT, at(1), TRIES) for n in range(6))
            )
        )

    assert sorted(deployments(database_url, scenario, count=2)) == [False] * 5 + [True]
