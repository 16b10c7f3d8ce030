"""Logs: ingest (check, normalise, enqueue), search, aggregate, and retention. Framework-free.

Ingest answers as soon as the accepted events are on the logs queue; the indexer writes them
into the daily indexes (chalicelib/observability/indexer.py). Every read is one owner's: the
owner filter is part of every query this module builds.
"""

from __future__ import annotations

import datetime
import json
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

log = get_logger("observability")

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def pack(owner: str, events: list[dict[str, Any]]) -> list[str]:
    """Queue message bodies {"owner", "events"} holding every event, each under the budget."""
    bodies, current, size = [], [], 0
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


def _is_sort(sort: Any) -> bool:
    """A hit's sort values: (timestamp, event id)."""
    return isinstance(sort, list) and len(sort) == 2 and isinstance(sort[0], int) and isinstance(sort[1], str)


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
    ) -> None:
        self._client = client
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
            return self._client().search(index=self.alias, body=body, ignore_unavailable=True, allow_no_indices=True)
        except RequestError as exc:
            raise BadRequest(f"OpenSearch refused the query: {exc.error}") from None
        except Unreachable:
            raise DependencyUnavailable("Log search is unavailable right now") from None

    def search(self, principal: Principal, params: dict[str, str]) -> dict[str, Any]:
        owner = principal.acting_for(params.get("owner"))
        query = LogQuery.from_params(params)
        window = Window.parse(params.get("from"), params.get("to"), self.clock(), DEFAULT_SPAN)
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        interval = window.auto_interval()
        aggs = {
            "histogram": window.histogram(interval),
            "levels": {"terms": {"field": "level", "size": 10}},
            "services": {"terms": {"field": "service", "size": 50}},
        }
        body = {
            **Search(owner, query, window, aggs).body(),
            "size": limit,
            # event_id breaks ties between events of the same millisecond, so pages never overlap.
            "sort": [{"timestamp": {"order": "desc"}}, {"event_id": {"order": "desc"}}],
        }
        if params.get("cursor"):
            body["search_after"] = paging.decode_cursor(params["cursor"], _is_sort)
        result = self._search(body)
        hits = result["hits"]["hits"]
        aggregations = result.get("aggregations", {})
        return {
            "hits": [hit_view(hit) for hit in hits],
            "count": len(hits),
            "total": result["hits"]["total"]["value"],
            "next": paging.encode_cursor(hits[-1]["sort"]) if len(hits) == limit else None,
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
