"""Totals and facets of the product index, remembered in Redis until the index changes.

Every catalog list and search answers `total` and `facets` (counts by category and brand, the
price range) over everything that matched, and the categories list counts every category. Over a
large index those aggregations cost far more than the page itself (4/5 of a list's time at 50k
products), yet they change only when the index does: a cursor walk asks for the same ones page
after page.

So the index's writer (chalicelib/catalog/indexer.py) marks each change with a new generation,
and a summary is kept beside the generation it was computed under, used only while that
generation is current. Search is near-real-time (a write is seen after the index's refresh,
about a second), so a summary computed within REFRESH_S of a change is not kept: it might not
see that change yet. Redis down: every summary is computed, as before.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.jsonlog import get_logger

GENERATION_KEY = "catalog:index:generation"
SUMMARY_PREFIX = "catalog:summary:"
REFRESH_S = 2.0
# Also bounds how long a change whose generation could not be written (Redis down) goes unseen.
TTL_S = 300

log = get_logger("catalog")


class Summaries:
    def __init__(self, redis_factory: Callable[[], Any], clock: Callable[[], float] = time.time) -> None:
        self._redis = redis_factory
        self._clock = clock

    def changed(self) -> None:
        """The index changed: every summary computed before is out of date."""
        self._call(lambda r: r.set(GENERATION_KEY, f"{uuid.uuid4().hex}:{self._clock()}"))

    def get(self, question: Any) -> tuple[Any | None, str | None]:
        """(the kept summary or None, the generation to keep a new one under, or None not to)."""
        key = self._key(question)
        found = self._call(lambda r: r.mget([GENERATION_KEY, key]))
        if found is None:
            return None, None
        generation = (found[0] or b"none:0").decode()
        if found[1] is not None:
            kept = json.loads(found[1])
            if kept["generation"] == generation:
                return kept["summary"], None
        changed_at = float(generation.rsplit(":", 1)[1])
        return None, generation if self._clock() - changed_at >= REFRESH_S else None

    def keep(self, question: Any, generation: str | None, summary: Any) -> None:
        if generation is not None:
            value = json.dumps({"generation": generation, "summary": summary})
            self._call(lambda r: r.set(self._key(question), value, ex=TTL_S))

    @staticmethod
    def _key(question: Any) -> str:
        digest = hashlib.sha256(json.dumps(question, sort_keys=True).encode()).hexdigest()[:32]
        return SUMMARY_PREFIX + digest

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return fn(self._redis())
        except RedisError as exc:
            log.debug("summary cache unavailable", extra={"error_type": type(exc).__name__})
            return None
