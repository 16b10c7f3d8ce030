from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any, NoReturn

import fakeredis
import pytest
import redis

from chalicelib.auth.throttle import Throttle
from chalicelib.errors import TooManyRequests

LIMIT, WINDOW_S = 3, 60
KEY = "alice@example.com"


class Clock:
    """Stands in for time.time, which fakeredis reads on every command to expire keys."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "time", fake)
    return fake


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def client(server: fakeredis.FakeServer) -> Iterator[redis.Redis]:
    with fakeredis.FakeRedis(server=server) as fake:
        yield fake


@pytest.fixture
def throttle(client: redis.Redis, clock: Clock) -> Throttle:
    return Throttle(lambda: client, "login", LIMIT, WINDOW_S)


def fail(throttle: Throttle, times: int, key: str = KEY) -> None:
    for _ in range(times):
        throttle.failed(key)


def test_allows_attempts_below_the_limit(throttle: Throttle) -> None:
    fail(throttle, LIMIT - 1)

    throttle.check(KEY)


def test_refuses_at_the_limit_with_the_remaining_window(throttle: Throttle, clock: Clock) -> None:
    fail(throttle, LIMIT)
    clock.advance(20.5)

    with pytest.raises(TooManyRequests) as refused:
        throttle.check(KEY)

    assert refused.value.retry_after_s == 40  # 39.5 s left, rounded up: never invite an early retry
    assert "40 seconds" in refused.value.detail


def test_keys_are_counted_separately(throttle: Throttle) -> None:
    fail(throttle, LIMIT)

    throttle.check("bob@example.com")


def test_later_failures_do_not_extend_the_window(throttle: Throttle, clock: Clock) -> None:
    throttle.failed(KEY)
    clock.advance(50)
    fail(throttle, LIMIT - 1)

    with pytest.raises(TooManyRequests) as refused:
        throttle.check(KEY)
    assert refused.value.retry_after_s == WINDOW_S - 50


def test_the_window_expires(throttle: Throttle, clock: Clock) -> None:
    fail(throttle, LIMIT)
    clock.advance(WINDOW_S + 1)

    throttle.check(KEY)
    fail(throttle, LIMIT - 1)
    throttle.check(KEY)  # a fresh window: the old failures no longer count


def test_success_resets_the_count(throttle: Throttle) -> None:
    fail(throttle, LIMIT)
    throttle.succeeded(KEY)

    throttle.check(KEY)
    fail(throttle, LIMIT - 1)
    throttle.check(KEY)


def test_keys_are_namespaced_and_hashed(throttle: Throttle, client: redis.Redis) -> None:
    throttle.failed(KEY)

    digest = hashlib.sha256(KEY.encode()).hexdigest()
    assert client.keys("*") == [f"throttle:login:{digest}".encode()]
    assert 0 < client.ttl(f"throttle:login:{digest}") <= WINDOW_S


def test_a_counter_without_expiry_still_reports_a_wait(throttle: Throttle, client: redis.Redis) -> None:
    client.set(f"throttle:login:{hashlib.sha256(KEY.encode()).hexdigest()}", LIMIT)

    with pytest.raises(TooManyRequests) as refused:
        throttle.check(KEY)
    assert refused.value.retry_after_s == WINDOW_S


class TimingOut:
    """A client whose every command times out, as redis-py reports a stalled server."""

    def pipeline(self) -> NoReturn:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    def delete(self, *names: str) -> NoReturn:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")


@pytest.fixture(params=["connection refused", "timeout"])
def unavailable(request: pytest.FixtureRequest, server: fakeredis.FakeServer, client: redis.Redis) -> Any:
    if request.param == "timeout":
        return TimingOut()
    server.connected = False
    return client


def test_fails_open_when_redis_is_unavailable(unavailable: Any, caplog: pytest.LogCaptureFixture) -> None:
    throttle = Throttle(lambda: unavailable, "login", 1, WINDOW_S)

    with caplog.at_level(logging.WARNING, logger="auth"):
        throttle.failed(KEY)
        throttle.check(KEY)
        throttle.succeeded(KEY)

    assert [record.__dict__["operation"] for record in caplog.records] == ["failed", "check", "succeeded"]
    assert {record.levelno for record in caplog.records} == {logging.WARNING}


@pytest.mark.parametrize(("limit", "window_s"), [(0, 60), (3, 0)])
def test_rejects_a_meaningless_configuration(client: redis.Redis, limit: int, window_s: int) -> None:
    with pytest.raises(ValueError):
        Throttle(lambda: client, "login", limit, window_s)
