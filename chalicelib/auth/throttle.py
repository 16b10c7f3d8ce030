"""Failed-attempt throttling in Redis, against password and API-key guessing."""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from chalicelib.errors import TooManyRequests
from chalicelib.jsonlog import get_logger

if TYPE_CHECKING:
    from redis import Redis

log = get_logger("auth")


class Throttle:
    """At most `limit` failures per key in a window of `window_s` seconds that opens at the first failure.

    Callers `check` before verifying a credential, then report `failed` or `succeeded`.
    """

    def __init__(self, redis_factory: Callable[[], Redis], namespace: str, limit: int, window_s: int) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError("limit and window_s must be at least 1")
        self._redis = redis_factory
        self._namespace = namespace
        self.limit = limit
        self._window_s = window_s

    def check(self, key: str) -> None:
        """Raise TooManyRequests when `key` has used up its failures in the current window."""
        count, ttl_ms = 0, 0
        with self._failing_open("check"):
            name = self._name(key)
            pipe = self._redis().pipeline()
            pipe.get(name)
            pipe.pttl(name)
            raw_count, ttl_ms = pipe.execute()
            count = int(raw_count or 0)
        if count >= self.limit:
            # PTTL is -1 only for a counter that lost its expiry; a full window is the honest wait then.
            retry_after_s = math.ceil(ttl_ms / 1000) if ttl_ms > 0 else self._window_s
            raise TooManyRequests(
                f"Too many failed attempts; try again in {retry_after_s} seconds.", retry_after_s=retry_after_s
            )

    def failed(self, key: str) -> int | None:
        """Count a failure; the window's count so far (None when Redis is unavailable)."""
        with self._failing_open("failed"):
            name = self._name(key)
            pipe = self._redis().pipeline()
            # SET NX EX opens a window only when none is running, and INCR keeps the TTL: in one
            # MULTI this is INCR + EXPIRE NX, which needs Redis 7 while the local cloud runs 6.2.
            pipe.set(name, 0, ex=self._window_s, nx=True)
            pipe.incr(name)
            return int(pipe.execute()[1])
        return None

    def succeeded(self, key: str) -> None:
        with self._failing_open("succeeded"):
            self._redis().delete(self._name(key))

    def _name(self, key: str) -> str:
        # Hashed so a Redis dump or MONITOR session does not list usernames and client
        # addresses in the clear.
        return f"throttle:{self._namespace}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"

    @contextlib.contextmanager
    def _failing_open(self, operation: str) -> Iterator[None]:
        # Imported on first use, as in clients.redis: importing redis costs ~0.15 s of cold start.
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            yield
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Redis is a cache here: an outage must neither lock every user out nor turn logins
            # into 500s, so the attempt goes through unthrottled.
            log.warning(
                "throttle store unavailable; letting the attempt through",
                extra={"throttle": self._namespace, "operation": operation},
                exc_info=exc,
            )
