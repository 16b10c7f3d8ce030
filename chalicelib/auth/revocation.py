"""Refusing access tokens that were valid when issued: after a password change or reset (every
token of the account) and after a logout (every token of that session), at once.

Access tokens stay stateless to verify; what is checked per request is two small facts, both
read from Redis in one round trip, never from the table on the hot path:

- the account's **token generation** (`auth:gen:<user>`), a counter the table keeps on the
  user and a password change or reset increments in the same write as the new hash. Every
  access token carries the generation it was issued under (`gen`); a token of an older one
  is refused. A counter, not a timestamp compared with `iat`: `iat` has whole seconds, and a
  token minted in the same second as a password change must be neither refused nor kept by
  the luck of the clock.
- the **session's state** (`auth:sid:<family>`): live or ended. Logout ends the session's
  refresh family in the table and marks it ended here.

A miss (evicted, expired, Redis restarted) reads the table once and caches the answer for
`CACHE_TTL_S`; with Redis down every check reads the table: slower, never more permissive.
A writer updates the table first and then *sets* the cache; a reader refilling after a miss
only *adds* (SET NX), so a refill that read the table before the write cannot overwrite it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Unauthenticated
from chalicelib.jsonlog import get_logger

if TYPE_CHECKING:
    from redis import Redis

log = get_logger("auth")

# Bounds how long a cache entry that a failed write left stale can live.
CACHE_TTL_S = 60
LIVE, ENDED = b"live", b"ended"


class Revocations:
    def __init__(
        self,
        redis_factory: Callable[[], Redis],
        generation_of: Callable[[str], int | None],
        session_ended: Callable[[str], bool],
    ) -> None:
        self._redis = redis_factory
        self._generation_of = generation_of
        self._session_ended = session_ended

    @staticmethod
    def _gen_key(user_id: str) -> str:
        return f"auth:gen:{user_id}"

    @staticmethod
    def _sid_key(session_id: str) -> str:
        return f"auth:sid:{session_id}"

    def check(self, user_id: str, session_id: str | None, generation: int) -> None:
        """Raise Unauthenticated if the account's tokens of `generation`, or the session, were revoked."""
        keys = [self._gen_key(user_id)] + ([self._sid_key(session_id)] if session_id else [])
        cached = self._call(lambda r: r.mget(keys)) or [None] * len(keys)
        refill: dict[str, Any] = {}
        current = cached[0]
        if current is None:
            loaded = self._generation_of(user_id)
            if loaded is None:
                raise Unauthenticated("The account no longer exists")
            current = refill[keys[0]] = loaded
        if generation < int(current):
            raise Unauthenticated("The token was revoked by a password change; log in again")
        if session_id:
            state = cached[1]
            if state is None:
                state = refill[keys[1]] = ENDED if self._session_ended(session_id) else LIVE
            if state == ENDED:
                raise Unauthenticated("The session has ended; log in again")
        if refill:
            self._call(lambda r: self._add(r, refill))

    @staticmethod
    def _add(redis: Redis, values: dict[str, Any]) -> None:
        pipe = redis.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, value, ex=CACHE_TTL_S, nx=True)
        pipe.execute()

    def generation_changed(self, user_id: str, generation: int) -> None:
        self._call(lambda r: r.set(self._gen_key(user_id), generation, ex=CACHE_TTL_S))

    def session_ended(self, session_id: str) -> None:
        self._call(lambda r: r.set(self._sid_key(session_id), ENDED, ex=CACHE_TTL_S))

    def _call(self, fn: Callable[[Redis], Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return fn(self._redis())
        except RedisError as exc:
            # The table answers instead: slower, never more permissive.
            log.warning("revocation cache unavailable", extra={"error_type": type(exc).__name__})
            return None
