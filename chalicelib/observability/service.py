"""Logs: ingest (check, normalise, enqueue), search, aggregate, and retention. Framework-free.

Ingest answers as soon as the accepted events are on the logs queue; the indexer writes them
into the daily indexes (chalicelib/observability/indexer.py). Every read is one owner's: the
owner filter is part of every query this module builds.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import BadRequest, DependencyUnavailable, FieldError, ValidationFailed
from chalicelib.http import paging
from chalicelib.jsonlog import get_logger
from chalicelib.observability import ingest
from chalicelib.observability.fields import event_of
from chalicelib.observability.query import LogQuery, Window
from chalicelib.principal import Principal

# SQS takes 256 KiB per message; a message of events stays under this many bytes.
MESSAGE_BUDGET = 200_000
DEFAULT_SPAN = datetime.timedelta(hours=24)
MAX_LIMIT = 500
MSEARCH_CHUNK = 50
# How long a cursor walk keeps its first page's window and summary.
WALK_TTL_S = 900

log = get_logger("observability")

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def pack(owner: str, events: list[dict[str, Any]]) -> list[str]:
    """Queue message bodies {"owner", "events"} holding every event, each under the budget."""
    bodies: list[list[str]] = []
    current: list[str] = []
    size = 0
    for event in events:
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if current and size + len(text.encode()) > MESSAGE_BUDGET:
            bodies.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text.encode()) + 1
    if current:
        bodies.append(current)
    prefix = json.dumps({"owner": owner})[:-1]
    return [f'{prefix},"events":[{",".join(chunk)}]}}' for chunk in bodies]


def _is_position(position: Any) -> bool:
    """A hit's sort values (timestamp, event id), and the walk they belong to if one is kept."""
    return (
        isinstance(position, list)
        and len(position) in (2, 3)
        and isinstance(position[0], int)
        and all(isinstance(part, str) for part in position[1:])
    )


def _decode_cursor(cursor: str) -> tuple[list[Any], str | None]:
    """(search_after, the walk it belongs to or None): cursors issued before walks were kept
    carry the sort values alone."""
    position = paging.decode_cursor(cursor, _is_position)
    return position[:2], position[2] if len(position) == 3 else None


def _encode_cursor(sort: list[Any], walk: str | None) -> str:
    return paging.encode_cursor([*sort, walk] if walk else sort)


class Walks:
    """What a cursor walk through a log search keeps from its first page: the window and the
    summary (total, histogram, level and service counts), in Redis for WALK_TTL_S. The later
    pages ask OpenSearch for their hits alone, and every page of a walk answers the same
    summary over the same window. Keyed by owner and by the search asked: another owner's walk
    id, or a cursor replayed with other filters, is not found, and that page is computed whole."""

    def __init__(self, redis_factory: Callable[[], Any], ttl_s: int = WALK_TTL_S) -> None:
        self._redis = redis_factory
        self.ttl_s = ttl_s

    @staticmethod
    def _key(owner: str, walk: str, question: dict[str, Any]) -> str:
        asked = hashlib.sha256(json.dumps([owner, question], sort_keys=True).encode()).hexdigest()[:32]
        return f"logs:walk:{walk}:{asked}"

    def start(self, owner: str, question: dict[str, Any], kept: dict[str, Any]) -> str | None:
        walk = uuid.uuid4().hex
        stored = self._call(lambda r: r.set(self._key(owner, walk, question), json.dumps(kept), ex=self.ttl_s))
        return walk if stored else None

    def find(self, owner: str, walk: str, question: dict[str, Any]) -> dict[str, Any] | None:
        found = self._call(lambda r: r.get(self._key(owner, walk, question)))
        return json.loads(found) if found else None

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return fn(self._redis())
        except RedisError as exc:
            log.debug("log walks unavailable", extra={"error_type": type(exc).__name__})
            return None


def _buckets(aggregation: dict[str, Any]) -> dict[str, int]:
    return {str(b["key"]): b["doc_count"] for b in aggregation.get("buckets", [])}


def hit_view(hit: dict[str, Any]) -> dict[str, Any]:
    event = event_of(hit["_source"])
    return {"id": event.pop("event_id", hit["_id"]), **event}


@dataclass(frozen=True)
class Search:
    """One aggregation query: owner, log query, window, and what to compute."""

    owner: str
    query: LogQuery
    window: Window
    aggs: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "size": 0,
            "track_total_hits": True,
            "query": self.query.bool_query(self.owner, self.window),
            "aggs": self.aggs,
        }


class LogService:
    def __init__(
        self,
        client: Callable[[], Any],
        enqueue: Callable[[str], None],
        alias: str,
        retention_days: int,
        clock: Clock = utcnow,
        walks: Walks | None = None,
    ) -> None:
        self._client = client
        self.walks = walks
        self.enqueue = enqueue
        self.alias = alias
        self.retention_days = retention_days
        self.clock = clock

    # -- ingest ---------------------------------------------------------------------------

    def ingest(self, principal: Principal, raw: bytes | None) -> dict[str, Any]:
        """Accept the good events, report the bad ones. ValidationFailed when none is good."""
        outcome = ingest.check_all(ingest.parse_body(raw), self.clock(), self.retention_days)
        if not outcome.accepted:
            errors = [
                FieldError(f"$[{entry['index']}]{error['path'][1:]}", error["message"])
                for entry in outcome.rejected
                for error in entry["errors"]
            ]
            raise ValidationFailed(errors, f"none of the {outcome.rejected_count} events is valid")
        try:
            for body in pack(principal.user_id, outcome.accepted):
                self.enqueue(body)
        except Exception:
            # Messages sent before the failure stay sent: a client's retry may duplicate those events.
            log.exception("could not queue log events", extra={"events": len(outcome.accepted)})
            raise DependencyUnavailable("The log queue is unavailable; send the events again later") from None
        return outcome.summary()

    # -- reading --------------------------------------------------------------------------

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        from opensearchpy.exceptions import ConnectionError as Unreachable
        from opensearchpy.exceptions import RequestError

        try:
            found: dict[str, Any] = self._client().search(
                index=self.alias, body=body, ignore_unavailable=True, allow_no_indices=True
            )
            return found
        except RequestError as exc:
            raise BadRequest(f"OpenSearch refused the query: {exc.error}") from None
        except Unreachable:
            raise DependencyUnavailable("Log search is unavailable right now") from None

    def search(self, principal: Principal, params: dict[str, str]) -> dict[str, Any]:
        owner = principal.acting_for(params.get("owner"))
        query = LogQuery.from_params(params)
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        after, walk = _decode_cursor(params["cursor"]) if params.get("cursor") else (None, None)
        question = {"query": query.to_dict(), "from": params.get("from"), "to": params.get("to")}
        kept = self.walks.find(owner, walk, question) if walk and self.walks else None
        if kept is None:
            window = Window.parse(params.get("from"), params.get("to"), self.clock(), DEFAULT_SPAN)
        else:
            window = Window(datetime.datetime.fromisoformat(kept["from"]), datetime.datetime.fromisoformat(kept["to"]))
        body: dict[str, Any] = {
            "query": query.bool_query(owner, window),
            "size": limit,
            # event_id breaks ties between events of the same millisecond, so pages never overlap.
            "sort": [{"timestamp": {"order": "desc"}}, {"event_id": {"order": "desc"}}],
            "track_total_hits": kept is None,
        }
        if kept is None:
            interval = window.auto_interval()
            body["aggs"] = {
                "histogram": window.histogram(interval),
                "levels": {"terms": {"field": "level", "size": 10}},
                "services": {"terms": {"field": "service", "size": 50}},
            }
        if after:
            body["search_after"] = after
        result = self._search(body)
        hits = result["hits"]["hits"]
        if kept is None:
            aggregations = result.get("aggregations", {})
            kept = {
                "total": result["hits"]["total"]["value"],
                "from": window.start.isoformat(),
                "to": window.end.isoformat(),
                "histogram": {
                    "interval": interval,
                    "buckets": [
                        {"t": b["key_as_string"], "count": b["doc_count"]}
                        for b in aggregations.get("histogram", {}).get("buckets", [])
                    ],
                },
                "levels": _buckets(aggregations.get("levels", {})),
                "services": _buckets(aggregations.get("services", {})),
            }
            walk = self.walks.start(owner, question, kept) if self.walks and len(hits) == limit else None
        return {
            "hits": [hit_view(hit) for hit in hits],
            "count": len(hits),
            "total": kept["total"],
            "next": _encode_cursor(hits[-1]["sort"], walk) if len(hits) == limit else None,
            "from": kept["from"],
            "to": kept["to"],
            "histogram": kept["histogram"],
            "levels": kept["levels"],
            "services": kept["services"],
        }

    def run_all(self, searches: list[Search]) -> list[dict[str, Any]]:
        """Many aggregation queries in as few round trips as possible (msearch). Each answer is
        OpenSearch's response, or {"error": reason} for a query it refused."""
        from opensearchpy.exceptions import ConnectionError as Unreachable

        header = {"index": self.alias, "ignore_unavailable": True, "allow_no_indices": True}
        answers: list[dict[str, Any]] = []
        for start in range(0, len(searches), MSEARCH_CHUNK):
            lines: list[dict[str, Any]] = []
            for search in searches[start : start + MSEARCH_CHUNK]:
                lines += [header, search.body()]
            try:
                responses = self._client().msearch(body=lines)["responses"]
            except Unreachable:
                raise DependencyUnavailable("Log search is unavailable right now") from None
            for response in responses:
                error = response.get("error")
                answers.append({"error": _reason(error)} if error else response)
        return answers

    def summary(self, owner: str, since: datetime.datetime, until: datetime.datetime) -> dict[str, Any]:
        aggs = {
            "levels": {"terms": {"field": "level", "size": 10}},
            "services": {"terms": {"field": "service", "size": 50}},
        }
        (answer,) = self.run_all([Search(owner, LogQuery(), Window(since, until), aggs)])
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return {
            "total": answer["hits"]["total"]["value"],
            "levels": _buckets(answer["aggregations"]["levels"]),
            "services": _buckets(answer["aggregations"]["services"]),
        }

    # -- retention ------------------------------------------------------------------------

    def purge(self, retention_days: int) -> dict[str, Any]:
        """Delete the daily indexes wholly older than the retention period."""
        client = self._client()
        cutoff = (self.clock() - datetime.timedelta(days=retention_days)).date()
        names = sorted(client.indices.get(index=f"{self.alias}-*", ignore_unavailable=True, allow_no_indices=True))
        expired = []
        for name in names:
            try:
                day = datetime.datetime.strptime(name[len(self.alias) + 1 :], "%Y.%m.%d").date()
            except ValueError:
                continue
            if day < cutoff:
                expired.append(name)
        for name in expired:
            client.indices.delete(index=name, ignore_unavailable=True)
        return {"deleted": expired, "kept": len(names) - len(expired), "cutoff": cutoff.isoformat()}


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("reason") or root.get("type") or error)
    return str(error)


def window_ending(now: datetime.datetime, seconds: int) -> Window:
    return Window(now - datetime.timedelta(seconds=seconds), now)
