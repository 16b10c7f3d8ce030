"""An allow-list for client-supplied OpenSearch search bodies.

Only named clauses, aggregations and parameters pass; anything else is refused with its JSON
path rather than dropped, so a client learns why instead of getting a silently different search.
What is left out is left out on purpose: scripts run code on the cluster, a terms lookup reads
another index, and top-level keys such as `post_filter` or a `global` aggregation would reach
past the mandatory owner filter (chalicelib/documents/isolation.py). What is admitted is
admitted only in forms whose answer is computed from the matching documents alone: a terms
aggregation's `min_doc_count: 0` lists terms of every document in the index, so it is refused.

The tables below (CLAUSES, AGGREGATIONS, TOP_LEVEL) are data: each parameter's check is a
value a test can read, and tests/isolation draws its search bodies from them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from chalicelib.errors import BadRequest

MAX_DEPTH = 20  # queries within queries, aggregations within aggregations
# Above anything MAX_DEPTH admits; it keeps the recursive checks (and deepcopy) far from the recursion limit.
MAX_JSON_DEPTH = 100
MAX_WINDOW = 10_000  # OpenSearch's index.max_result_window default: from + size past it fails anyway
DEFAULT_SIZE = 10
MAX_AGG_NAME = 64
MAX_TERMS_SIZE = 1000
MAX_INNER_HITS = 100


@dataclass(frozen=True)
class _Path:
    """A JSON path such as `$.query.bool.must[1]`, and how many queries or aggregations enclose it."""

    text: str = "$"
    depth: int = 0

    def __str__(self) -> str:
        return self.text

    def key(self, name: str) -> _Path:
        return _Path(f"{self.text}.{name}", self.depth)

    def at(self, index: int) -> _Path:
        return _Path(f"{self.text}[{index}]", self.depth)

    def nested(self) -> _Path:
        if self.depth >= MAX_DEPTH:
            _refuse(self, f"nesting more than {MAX_DEPTH} queries or aggregations is not allowed")
        return _Path(self.text, self.depth + 1)


Check = Callable[[Any, _Path], Any]


def check_search_body(body: dict[str, Any], max_size: int = 100) -> dict[str, Any]:
    """A sanitized copy of `body` (with `size` defaulted), or BadRequest naming the refused part."""
    _check_depth(body)
    checked = _fields({**TOP_LEVEL, "size": _int_between(0, max_size)}, body, _Path())
    if "aggs" in checked and "aggregations" in checked:
        _refuse("$.aggregations", "use either 'aggs' or 'aggregations', not both")
    checked.setdefault("size", DEFAULT_SIZE)
    if checked.get("from", 0) + checked["size"] > MAX_WINDOW:
        _refuse("$.from", f"from + size must not exceed {MAX_WINDOW}")
    return checked


def _refuse(path: _Path | str, message: str) -> NoReturn:
    raise BadRequest(f"{path}: {message}")


def _check_depth(body: Any) -> None:
    # Iterative, so that it cannot itself overflow on the bodies it exists to refuse.
    stack = [(body, "$", 1)]
    while stack:
        value, path, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            _refuse(path, f"nesting deeper than {MAX_JSON_DEPTH} levels is not allowed")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend(
            (item, f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]", depth + 1) for key, item in items
        )


def _object(value: Any, path: _Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        _refuse(path, "must be an object")
    return value


def _fields(spec: Mapping[str, Check], value: Any, path: _Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object whose members are all named in `spec`, each checked by its own function."""
    obj = _object(value, path)
    for name in obj:
        if name not in spec:
            _refuse(path.key(name), f"{name!r} is not allowed")
    for name in required:
        if name not in obj:
            _refuse(path, f"{name!r} is required")
    return {name: spec[name](item, path.key(name)) for name, item in obj.items()}


def _string(value: Any, path: _Path) -> str:
    if not isinstance(value, str):
        _refuse(path, "must be a string")
    return value


def _boolean(value: Any, path: _Path) -> bool:
    if not isinstance(value, bool):
        _refuse(path, "must be true or false")
    return value


def _number(value: Any, path: _Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _refuse(path, "must be a number")
    return value


def _scalar(value: Any, path: _Path) -> Any:
    if not isinstance(value, str | int | float | bool):
        _refuse(path, "must be a string, number or boolean")
    return value


def _int_or_string(value: Any, path: _Path) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        _refuse(path, "must be an integer or a string")
    return value


def field_name(value: Any, path: _Path) -> str:
    """The name of a field of the documents."""
    if not isinstance(value, str) or not value:
        _refuse(path, "must be a field name")
    return value


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int | None = None
    why: str = ""

    def __call__(self, value: Any, path: _Path) -> int:
        too_big = self.high is not None and isinstance(value, int) and value > self.high
        if isinstance(value, bool) or not isinstance(value, int) or value < self.low or too_big:
            expected = f">= {self.low}" if self.high is None else f"from {self.low} to {self.high}"
            _refuse(path, f"must be an integer {expected}" + (f": {self.why}" if self.why else ""))
        return value


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def __call__(self, value: Any, path: _Path) -> str:
        if value not in self.choices:
            _refuse(path, "must be one of " + ", ".join(map(repr, self.choices)))
        chosen: str = value
        return chosen


_int_between = IntRange
_order = OneOf(("asc", "desc"))


def _patterns(value: Any, path: _Path) -> str | list[str]:
    if isinstance(value, list):
        return [_string(item, path.at(i)) for i, item in enumerate(value)]
    return _string(value, path)


def _source_filter(value: Any, path: _Path) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return _fields({"includes": _patterns, "excludes": _patterns}, value, path)
    return _patterns(value, path)


def _sort(value: Any, path: _Path) -> Any:
    if isinstance(value, list):
        return [_sort_item(item, path.at(i)) for i, item in enumerate(value)]
    return _sort_item(value, path)


def _sort_item(value: Any, path: _Path) -> Any:
    if isinstance(value, str):
        return _sort_field(value, path)
    sorted_by = {}
    for field, order in _object(value, path).items():
        sub = path.key(field)
        _sort_field(field, sub)
        sorted_by[field] = _order(order, sub) if isinstance(order, str) else _fields({"order": _order}, order, sub)
    return sorted_by


def _sort_field(field: str, path: _Path) -> str:
    if field == "_script":
        _refuse(path, "'_script' is not allowed")
    if not field:
        _refuse(path, "a sort field name must not be empty")
    return field


# Queries.


def _query(value: Any, path: _Path) -> dict[str, Any]:
    path = path.nested()
    clause = _fields(CLAUSES, value, path)
    if len(clause) != 1:
        _refuse(path, "a query must hold exactly one clause")
    return clause


def _queries(value: Any, path: _Path) -> dict[str, Any] | list[dict[str, Any]]:
    if isinstance(value, list):
        return [_query(item, path.at(i)) for i, item in enumerate(value)]
    return _query(value, path)


def _no_script(value: Any, path: _Path) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "script":
                _refuse(path.key(name), "'script' is not allowed")
            _no_script(item, path.key(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_script(item, path.at(i))


def _leaf(value: Any, path: _Path) -> dict[str, Any]:
    """A leaf clause: its usual parameters pass unchecked, but no script may hide anywhere in them."""
    obj = _object(value, path)
    _no_script(obj, path)
    return copy.deepcopy(obj)


def _terms(value: Any, path: _Path) -> dict[str, Any]:
    obj = _leaf(value, path)
    for field, values in obj.items():
        if field in ("boost", "_name"):
            continue
        if isinstance(values, dict):
            _refuse(path.key(field), "a terms lookup is not allowed")
        if not isinstance(values, list):
            _refuse(path.key(field), "must be a list of values")
    return obj


_INNER_HITS: dict[str, Check] = {"size": _int_between(0, MAX_INNER_HITS), "_source": _source_filter, "name": _string}


def _inner_hits(value: Any, path: _Path) -> dict[str, Any]:
    return _fields(_INNER_HITS, value, path)


_BOOL: dict[str, Check] = {
    "must": _queries,
    "should": _queries,
    "filter": _queries,
    "must_not": _queries,
    "minimum_should_match": _int_or_string,
    "boost": _number,
}
_HAS_CHILD: dict[str, Check] = {
    "type": _string,
    "query": _query,
    "score_mode": OneOf(("none", "avg", "sum", "max", "min")),
    "min_children": _int_between(0),
    "max_children": _int_between(0),
    "inner_hits": _inner_hits,
}
# has_parent's scoring switch is `score` (a boolean); it has no score_mode and no child counts.
_HAS_PARENT: dict[str, Check] = {"parent_type": _string, "query": _query, "score": _boolean, "inner_hits": _inner_hits}
_PARENT_ID: dict[str, Check] = {"type": _string, "id": _string}

CLAUSES: dict[str, Check] = {
    "bool": lambda value, path: _fields(_BOOL, value, path),
    "has_child": lambda value, path: _fields(_HAS_CHILD, value, path, required=("type", "query")),
    "has_parent": lambda value, path: _fields(_HAS_PARENT, value, path, required=("parent_type", "query")),
    "parent_id": lambda value, path: _fields(_PARENT_ID, value, path, required=("type", "id")),
    "terms": _terms,
    **dict.fromkeys(
        (
            "match",
            "match_phrase",
            "multi_match",
            "term",
            "range",
            "wildcard",
            "prefix",
            "query_string",
            "exists",
            "match_all",
            "ids",
        ),
        _leaf,
    ),
}


# Aggregations.


def _bounds(value: Any, path: _Path) -> dict[str, Any]:
    return _fields({"min": _scalar, "max": _scalar}, value, path)


def _bucket_order(value: Any, path: _Path) -> Any:
    if isinstance(value, list):
        return [_bucket_criteria(item, path.at(i)) for i, item in enumerate(value)]
    return _bucket_criteria(value, path)


def _bucket_criteria(value: Any, path: _Path) -> dict[str, str]:
    return {key: _order(order, path.key(key)) for key, order in _object(value, path).items()}


_METRIC = {"field": field_name, "missing": _scalar}
AGGREGATIONS: dict[str, Mapping[str, Check]] = {
    "terms": {
        "field": field_name,
        "size": _int_between(1, MAX_TERMS_SIZE),
        "order": _bucket_order,
        # 0 would list, with a count of 0, every term of every document in the index, whoever
        # owns it: the one terms parameter computed from documents outside the hits.
        "min_doc_count": IntRange(1, why="0 would list terms of documents that are not yours"),
        "missing": _scalar,
    },
    "min": _METRIC,
    "max": _METRIC,
    "avg": _METRIC,
    "sum": _METRIC,
    # Its empty buckets fill the span of the hits and of extended_bounds: nobody else's data.
    "date_histogram": {
        "field": field_name,
        "calendar_interval": _string,
        "fixed_interval": _string,
        "interval": _string,
        "format": _string,
        "min_doc_count": _int_between(0),
        "time_zone": _string,
        "extended_bounds": _bounds,
    },
}


# The aggregations whose buckets may hold sub-aggregations.
BUCKET_AGGREGATIONS = ("terms", "date_histogram")


def _aggs(value: Any, path: _Path) -> dict[str, Any]:
    checked = {}
    for name, aggregation in _object(value, path).items():
        sub = path.key(name)
        if not 1 <= len(name) <= MAX_AGG_NAME:
            _refuse(sub, f"an aggregation name must be 1 to {MAX_AGG_NAME} characters")
        checked[name] = _aggregation(aggregation, sub)
    return checked


def _aggregation(value: Any, path: _Path) -> dict[str, Any]:
    path = path.nested()
    checked = {}
    for key, item in _object(value, path).items():
        sub = path.key(key)
        if key in ("aggs", "aggregations"):
            checked[key] = _aggs(item, sub)
        elif key in AGGREGATIONS:
            checked[key] = _fields(AGGREGATIONS[key], item, sub, required=("field",))
        else:
            _refuse(sub, f"{key!r} is not allowed")
    if "aggs" in checked and "aggregations" in checked:
        _refuse(path.key("aggregations"), "use either 'aggs' or 'aggregations', not both")
    kinds = checked.keys() & AGGREGATIONS.keys()
    if len(kinds) != 1:
        _refuse(path, "an aggregation must have exactly one type")
    (kind,) = kinds
    if kind not in BUCKET_AGGREGATIONS:
        for key in ("aggs", "aggregations") & checked.keys():
            _refuse(path.key(key), f"a {kind!r} aggregation has no buckets to aggregate further")
    return checked


TOP_LEVEL: dict[str, Check] = {
    "query": _query,
    "aggs": _aggs,
    "aggregations": _aggs,
    "from": _int_between(0),
    "sort": _sort,
    "_source": _source_filter,
    "track_total_hits": _boolean,
}
