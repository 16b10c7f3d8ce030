"""Two local clouds side by side: in one, user B alone stores data; in the other, user A stores
overlapping data first and then B stores exactly the same as in the first. Every answer B gets
must be the same in both (tests/isolation/test_noninterference.py)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN, Api, start_test_stack
from tests.e2e.users import login, new_user
from tests.isolation import data
from tests.support.stack import Stack, wait_for


@dataclass
class World:
    stack: Stack
    api: Api
    b: dict[str, str]
    b_id: str
    b_email: str
    admin: dict[str, str]

    def as_b(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.api.request(method, path, headers=self.b, **kwargs)


def _profile(api: Api, headers: dict[str, str]) -> dict[str, Any]:
    return api.get("/api/v1/users/profile/", headers=headers).json()


def _store(api: Api, headers: dict[str, str], plans, services, people, logs=()) -> None:
    for plan in plans:
        response = api.post("/api/v1/plans", json=plan, headers=headers)
        assert response.status_code == 201, response.text
    for service in services:
        response = api.post("/api/v1/services", json=service, headers=headers)
        assert response.status_code == 201, response.text
    for person in people:
        response = api.post(f"/api/v1/documents/{data.PERSON_TYPE}", json=person, headers=headers)
        assert response.status_code == 201, response.text
    if logs:
        response = api.post("/api/v1/logs/", json=logs, headers=headers)
        assert response.status_code == 202, response.text


def _logs_indexed(api: Api, headers: dict[str, str], expected: int) -> None:
    window = {"from": data.LOG_BASE.isoformat(), "to": "now"}

    def indexed() -> bool:
        found = api.get("/api/v1/logs/search", params={**window, "limit": 1}, headers=headers).json()
        return found["total"] == expected

    wait_for(indexed, timeout_s=60, interval_s=0.2)


def _populate(stack: Stack, with_a: bool) -> World:
    api = Api(stack.endpoints["api"])
    admin = login(api, ADMIN["username"], ADMIN["password"])
    registered = api.post(f"/api/v1/schemas/{data.PERSON_TYPE}", json=data.PERSON_SCHEMA, headers=admin)
    assert registered.status_code == 201, registered.text
    a = new_user(api, "worlda") if with_a else None
    if a:
        _store(api, a, data.A_PLANS_FIRST, data.A_SERVICES_FIRST, data.A_PEOPLE_FIRST, data.a_logs())
        stack.settle()
        _logs_indexed(api, a, len(data.a_logs()))
    b = new_user(api, "worldb")
    _store(api, b, data.B_PLANS, data.B_SERVICES, data.B_PEOPLE, data.b_logs())
    stack.settle()
    _logs_indexed(api, b, len(data.b_logs()))
    if a:
        _store(api, a, data.A_PLANS_LAST, data.A_SERVICES_LAST, data.A_PEOPLE_LAST)
        stack.settle()
    profile = _profile(api, b)
    return World(stack, api, b, profile["id"], profile["email"], admin)


@pytest.fixture(scope="package")
def worlds() -> Iterator[tuple[World, World]]:
    stacks: list[Stack] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = [pool.submit(start_test_stack) for _ in range(2)]
            failures = [future.exception() for future in started if future.exception()]
            stacks += [future.result() for future in started if not future.exception()]
            if failures:
                raise RuntimeError("a local cloud did not start") from failures[0]
            alone, beside = pool.map(_populate, stacks, (False, True))
        yield alone, beside
    finally:
        for stack in stacks:
            stack.stop()
