"""Dashboards: saved log queries with a view each, computed into chart-ready series.

A widget is a query plus a view; computing a dashboard runs one aggregation query per widget
(sent together in one msearch) over the requested window:

- count_over_time {interval}    → labels (bucket starts) and values (counts), gaps as zeros
- top_terms {field, n}          → labels (the n commonest values) and values (their counts), other
- stat {stat, field}            → value (count, min, max, avg or sum of the field) and count
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import BadRequest, FieldError, NotFound, ValidationFailed
from chalicelib.http import paging
from chalicelib.observability.fields import aggregatable
from chalicelib.observability.model import Dashboard, ObservabilityStorage
from chalicelib.observability.query import LogQuery, Window, iso_ms
from chalicelib.observability.service import LogService, Search, utcnow
from chalicelib.principal import Principal

MAX_PAGE = 100
# Fields a terms or stats aggregation cannot use: full text, and the owner every hit shares.
UNAGGREGATABLE = ("message", "owner")
DEFAULT_SPAN = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def paged(items: Any, limit: int, cursor_of: Callable[[Any], str], view: Callable[[Any], dict[str, Any]]) -> Page:
    """The first `limit` of an iterator asked for limit + 1, and the cursor to the rest."""
    taken: list[Any] = []
    more = False
    for item in items:
        if len(taken) == limit:
            more = True
            break
        taken.append(item)
    return Page([view(item) for item in taken], cursor_of(taken[-1]) if more else None)


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")


def check_widgets(widgets: list[dict[str, Any]]) -> None:
    """What the schema cannot say: fields that cannot be aggregated."""
    problems = [
        FieldError(f"$.widgets[{n}].view.field", f"{widget['view']['field']} cannot be aggregated")
        for n, widget in enumerate(widgets)
        if widget["view"].get("field") in UNAGGREGATABLE
    ]
    if problems:
        raise ValidationFailed(problems)


def view_of(item: Dashboard) -> dict[str, Any]:
    return {
        "id": item.dashboard_id,
        **json.loads(item.body),
        "created_at": iso_ms(item.created_at),
        "updated_at": iso_ms(item.updated_at),
    }


def widget_aggs(view: dict[str, Any], window: Window) -> dict[str, Any]:
    kind = view["type"]
    if kind == "count_over_time":
        return {"series": window.histogram(view["interval"])}
    if kind == "top_terms":
        return {"series": {"terms": {"field": aggregatable(view["field"], numeric=False), "size": view.get("n", 10)}}}
    if view.get("field"):
        return {"series": {"stats": {"field": aggregatable(view["field"], numeric=True)}}}
    return {}


def widget_series(view: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    if "error" in answer:
        return {"error": answer["error"]}
    total = answer["hits"]["total"]["value"]
    series = answer.get("aggregations", {}).get("series", {})
    kind = view["type"]
    if kind == "count_over_time":
        buckets = series.get("buckets", [])
        return {
            "total": total,
            "labels": [iso_ms(b["key"]) for b in buckets],
            "values": [b["doc_count"] for b in buckets],
        }
    if kind == "top_terms":
        buckets = series.get("buckets", [])
        return {
            "total": total,
            "labels": [str(b["key"]) for b in buckets],
            "values": [b["doc_count"] for b in buckets],
            "other": series.get("sum_other_doc_count", 0),
        }
    if not view.get("field"):
        return {"total": total, "value": total, "count": total}
    return {"total": total, "value": series.get(view["stat"]), "count": series.get("count", 0)}


class DashboardService:
    def __init__(
        self,
        store: ObservabilityStorage,
        logs: LogService,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.logs = logs
        self.clock = clock
        self.new_id = new_id

    def _own(self, principal: Principal, dashboard_id: str) -> Dashboard:
        item = self.store.dashboard(principal.user_id, dashboard_id)
        if item is None:
            raise NotFound(f"No dashboard {dashboard_id}")
        return item

    def create(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        check_widgets(data["widgets"])
        now = int(self.clock() * 1000)
        dashboard_id = self.new_id()
        item = Dashboard(
            dashboard_id=dashboard_id,
            owner_id=principal.user_id,
            body=json.dumps(data, separators=(",", ":")),
            created_at=now,
            updated_at=now,
        )
        self.store.save_dashboard(item, create=True)
        return view_of(item)

    def get(self, principal: Principal, dashboard_id: str) -> dict[str, Any]:
        return view_of(self._own(principal, dashboard_id))

    def list(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        after = paging.decode_cursor(cursor, paging.is_string) if cursor else None
        items = self.store.dashboards(principal.user_id, after, limit + 1)
        return paged(items, limit, lambda item: paging.encode_cursor(item.position), view_of)

    def replace(self, principal: Principal, dashboard_id: str, data: dict[str, Any]) -> dict[str, Any]:
        check_widgets(data["widgets"])
        current = dataclasses.replace(
            self._own(principal, dashboard_id),
            body=json.dumps(data, separators=(",", ":")),
            updated_at=int(self.clock() * 1000),
        )
        if not self.store.save_dashboard(current, create=False):
            raise NotFound(f"No dashboard {dashboard_id}")
        return view_of(current)

    def delete(self, principal: Principal, dashboard_id: str) -> None:
        if not self.store.delete_dashboard(principal.user_id, dashboard_id):
            raise NotFound(f"No dashboard {dashboard_id}")

    def data(self, principal: Principal, dashboard_id: str, start: str | None, end: str | None) -> dict[str, Any]:
        dashboard = view_of(self._own(principal, dashboard_id))
        window = Window.parse(start, end, utcnow(), DEFAULT_SPAN)
        widgets = dashboard["widgets"]
        planned: list[Search | BadRequest] = []
        for widget in widgets:
            try:
                aggs = widget_aggs(widget["view"], window)
            except BadRequest as exc:
                # One widget whose interval does not suit the window; the others still answer.
                planned.append(exc)
                continue
            planned.append(Search(principal.user_id, LogQuery.of(widget.get("query")), window, aggs))
        answers = iter(self.logs.run_all([p for p in planned if isinstance(p, Search)]))
        series = [
            {"error": p.detail} if isinstance(p, BadRequest) else widget_series(widget["view"], next(answers))
            for widget, p in zip(widgets, planned, strict=True)
        ]
        return {
            "id": dashboard["id"],
            "name": dashboard["name"],
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "widgets": [{**widget, **values} for widget, values in zip(widgets, series, strict=True)],
        }
