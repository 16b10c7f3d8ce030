"""A read-through cache in Redis that degrades to a miss, never to an error.

Redis is an accelerator here: when it is down or slow, reads go to DynamoDB and writes skip
the cache. Each outage is logged once until Redis answers again, not once per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from chalicelib.jsonlog import get_logger

if TYPE_CHECKING:
    from redis import Redis

T = TypeVar("T")

log = get_logger("cache")


class Cache:
    def __init__(self, redis_factory: Callable[[], Redis], namespace: str, ttl_s: int = 300) -> None:
        self._redis = redis_factory
        self.namespace = namespace
        self.ttl_s = ttl_s
        self._down = threading.Event()

    def key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    def _call(self, operation: str, fn: Callable[[Redis], T]) -> T | None:
        from redis.exceptions import RedisError

        try:
            result = fn(self._redis())
        except RedisError as exc:
            if not self._down.is_set():
                self._down.set()
                log.warning("cache unavailable, serving from the database", extra={"operation": operation})
            log.debug("cache error", extra={"error_type": type(exc).__name__})
            return None
        if self._down.is_set():
            self._down.clear()
            log.info("cache available again")
        return result

    def get(self, key: str) -> bytes | None:
        # redis-py types every reply as Any; with decode_responses=False (clients.py) GET's is bytes.
        return cast("bytes | None", self._call("get", lambda r: r.get(key)))

    def add(self, key: str, value: bytes) -> None:
        """Set only if absent: a slow reader must not overwrite what a newer one cached."""
        self._call("set", lambda r: r.set(key, value, ex=self.ttl_s, nx=True))

    def delete(self, *keys: str) -> None:
        if keys:
            self._call("delete", lambda r: r.delete(*keys))
