"""Hypothesis strategies for the noninterference tests: requests a client may send, drawn from
the vocabulary both users' data share, so that A's data can only matter through a leak."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from chalicelib.documents import query_guard
from tests.isolation import data

PLAN_FIELDS = (
    "objectId",
    "objectType",
    "_org",
    "planType",
    "creationDate",
    "name",
    "name.raw",
    "deductible",
    "copay",
    "nosuch",
)
PLAN_VALUES = (
    "12xvxc345ssdsds-508",
    "b-second-plan",
    "a-third-plan",
    "1234520xvc30asdf-502",
    "1234520xvc30asdf-503",
    "27283xvx9asdff-504",
    "1234vxc2324sdf-501",
    "example.com",
    "rival.example",
    "inNetwork",
    "outOfNetwork",
    "hmo",
    "plan",
    "service",
    "planservice",
    "membercostshare",
    "Well baby",
    "well",
    "baby",
    "dental",
    "acupuncture",
    "yearly",
    "12-12-2017",
    0,
    10,
    23,
    175,
    500,
    2000,
    99999,
)
PERSON_FIELDS = (
    "objectId",
    "_org",
    "name",
    "name.keyword",
    "ssn",
    "ssn.keyword",
    "salary",
    "dept",
    "dept.keyword",
    "active",
    "nosuch",
)
PERSON_VALUES = (
    "p1",
    "p2",
    "p3",
    "Ada North",
    "ada",
    "north",
    "111-22-3333",
    "999-99-9999",
    "ops",
    "sales",
    "example.com",
    True,
    100,
    250,
    900000,
)
CHILD_RELATIONS = ("planCostShares", "linkedPlanServices", "linkedService", "planserviceCostShares")
PARENT_RELATIONS = ("plan", "linkedPlanServices")


def _text(values: tuple[Any, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from([v for v in values if isinstance(v, str)])


def _numbers(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from([v for v in values if isinstance(v, int | float) and not isinstance(v, bool)])


def _leaves(fields: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """A strategy per leaf clause of the guard's CLAUSES."""
    field, value, text = st.sampled_from(fields), st.sampled_from(values), _text(values)
    bound = st.sampled_from(("gt", "gte", "lt", "lte"))
    fuzziness = st.sampled_from(("AUTO", 1, 2))
    return {
        "term": st.builds(lambda f, v: {f: v}, field, value),
        "terms": st.builds(lambda f, vs: {f: vs}, field, st.lists(value, min_size=1, max_size=3)),
        "match": st.one_of(
            st.builds(lambda f, t: {f: t}, field, text),
            st.builds(lambda f, t, z: {f: {"query": t, "fuzziness": z}}, field, text, fuzziness),
        ),
        "match_phrase": st.builds(lambda f, t: {f: t}, field, text),
        "multi_match": st.builds(
            lambda t, fs, z: {"query": t, "fields": fs, **z},
            text,
            st.lists(field, min_size=1, max_size=3),
            st.sampled_from([{}, {"fuzziness": "AUTO"}]),
        ),
        "range": st.builds(lambda f, b, n: {f: {b: n}}, field, bound, _numbers(values)),
        "wildcard": st.builds(lambda f, t: {f: t[:3] + "*"}, field, text),
        "prefix": st.builds(lambda f, t: {f: t[:3]}, field, text),
        "query_string": st.one_of(
            st.builds(lambda t: {"query": t}, text),
            st.builds(lambda t: {"query": t.split()[0] + "~"}, text),
            st.builds(lambda f, t: {"query": f"{f}:{t.split()[0]}*"}, field, text),
        ),
        "exists": st.builds(lambda f: {"field": f}, field),
        "match_all": st.just({}),
        "ids": st.builds(lambda vs: {"values": vs}, st.lists(text, min_size=1, max_size=3)),
    }


def _compounds(
    inner: st.SearchStrategy[dict[str, Any]], values: tuple[Any, ...], relations: bool
) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """A strategy per compound clause of the guard's CLAUSES (parent-child only where the index has a join)."""
    some = st.lists(inner, min_size=1, max_size=2)
    compounds = {
        "bool": st.one_of(
            st.builds(
                lambda must, should, must_not: {"must": must, "should": should, "must_not": must_not},
                some,
                st.lists(inner, max_size=2),
                st.lists(inner, max_size=1),
            ),
            st.builds(lambda f: {"filter": f}, some),
            st.builds(lambda s: {"should": s, "minimum_should_match": 1}, some),
        ),
    }
    child, parent = st.sampled_from(CHILD_RELATIONS), st.sampled_from(PARENT_RELATIONS)
    if relations:
        compounds |= {
            "has_child": st.builds(
                lambda t, q, m: {"type": t, "query": q, **m},
                child,
                inner,
                st.sampled_from([{}, {"min_children": 2}, {"max_children": 1}, {"score_mode": "sum"}]),
            ),
            "has_parent": st.builds(lambda t, q: {"parent_type": t, "query": q}, parent, inner),
            "parent_id": st.builds(lambda t, i: {"type": t, "id": i}, child, _text(values)),
        }
    return compounds


def queries(fields: tuple[str, ...], values: tuple[Any, ...], relations: bool) -> st.SearchStrategy[dict[str, Any]]:
    def as_query(clauses: dict[str, st.SearchStrategy[dict[str, Any]]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(*(strategy.map(lambda spec, name=name: {name: spec}) for name, strategy in clauses.items()))

    return st.recursive(
        as_query(_leaves(fields, values)),
        lambda inner: as_query(_compounds(inner, values, relations)),
        max_leaves=5,
    )


# A string parameter's plausible values, by name; a field name, an integer range or a choice
# is drawn from what the check itself says (query_guard.field_name, IntRange, OneOf).
_STRING_PARAMETERS = {
    "calendar_interval": ("month", "day", "1w"),
    "fixed_interval": ("30d", "1h"),
    "interval": ("month", "1d"),
    "format": ("yyyy-MM", "epoch_millis"),
    "time_zone": ("UTC", "+01:00"),
}


def parameter(name: str, check: Any, fields: tuple[str, ...], values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Values the guard admits for one aggregation parameter; refuses a check it cannot draw
    from, so a parameter added to the allow-list cannot go untested."""
    if check is query_guard.field_name:
        return st.sampled_from(fields)
    if isinstance(check, query_guard.IntRange):
        # The lowest admitted value half the time: where an allow-list's edge sits.
        high = min(check.high if check.high is not None else check.low + 20, check.low + 20)
        return st.one_of(st.just(check.low), st.integers(check.low, high))
    if isinstance(check, query_guard.OneOf):
        return st.sampled_from(check.choices)
    if check is query_guard._scalar:
        return st.sampled_from(values)
    if check is query_guard._string and name in _STRING_PARAMETERS:
        return st.sampled_from(_STRING_PARAMETERS[name])
    if check is query_guard._bucket_order:
        return st.sampled_from([{"_key": "asc"}, {"_count": "desc"}, [{"_count": "asc"}, {"_key": "desc"}]])
    if check is query_guard._bounds:
        return st.builds(lambda low, high: {"min": low, "max": high}, _numbers(values), _numbers(values))
    raise LookupError(f"no strategy for the aggregation parameter {name!r} ({check!r})")


# Fields the mappings make numbers: metrics and histograms over them answer rather than fail,
# and only an answer can carry a leak.
NUMERIC_FIELDS = frozenset({"deductible", "copay", "salary"})


def aggregation(kind: str, fields: tuple[str, ...], values: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    checks = query_guard.AGGREGATIONS[kind]
    drawn = {name: parameter(name, check, fields, values) for name, check in checks.items()}
    numeric = tuple(field for field in fields if field in NUMERIC_FIELDS)
    if kind != "terms" and numeric:
        # Half the time a numeric field; the other half any field, for the errors' sake.
        drawn["field"] = st.one_of(st.sampled_from(numeric), drawn["field"])
    required = {"field": drawn.pop("field")}
    return st.fixed_dictionaries(required, optional=drawn).map(lambda spec: {kind: spec})


def aggregations(fields: tuple[str, ...], values: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    one = st.one_of(*(aggregation(kind, fields, values) for kind in query_guard.AGGREGATIONS))
    nested = st.builds(lambda outer, inner: {**outer, "aggs": {"inner": inner}}, one, one)
    return st.dictionaries(st.sampled_from(("a", "b")), st.one_of(one, nested), min_size=1, max_size=2)


def top_level(fields: tuple[str, ...], values: tuple[Any, ...], relations: bool) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per top-level member of the guard's TOP_LEVEL."""
    sort_item = st.one_of(
        st.just("_score"),
        st.sampled_from(fields),
        st.just("_id"),
        st.builds(lambda f, o: {f: o}, st.sampled_from(fields), st.sampled_from(("asc", "desc"))),
    )
    aggs = aggregations(fields, values)
    return {
        "query": queries(fields, values, relations),
        "aggs": aggs,
        "aggregations": aggs,
        "from": st.integers(0, 3),
        "sort": st.lists(sort_item, max_size=2),
        "_source": st.sampled_from([True, False, ["objectId"], {"excludes": ["name"]}, "name*"]),
        "track_total_hits": st.booleans(),
    }


def search_bodies(
    fields: tuple[str, ...], values: tuple[Any, ...], relations: bool
) -> st.SearchStrategy[dict[str, Any]]:
    members = top_level(fields, values, relations)
    # Most bodies both query and aggregate, where a leak would show; the rest vary the others.
    size = {"size": st.integers(1, 20)}
    core = st.one_of(
        st.fixed_dictionaries({"query": members["query"], "aggs": members["aggs"]}, optional=size),
        st.fixed_dictionaries({"query": members["query"]}, optional=size),
    )
    extras = {name: strategy for name, strategy in members.items() if name not in ("query", "aggs")}
    return st.builds(lambda a, b: {**b, **a}, core, st.fixed_dictionaries({}, optional=extras)).filter(
        lambda body: not ("aggs" in body and "aggregations" in body)
    )


# -- full-text plan search, logs, dashboards, alerts -------------------------------------------

_PLAN_WORDS = (
    "well",
    "baby",
    "dental",
    "yearly",
    "physical",
    "acupuncture",
    "inNetwork",
    "example.com",
    "vision",
    "2000",
)


def plan_text_queries() -> st.SearchStrategy[str]:
    word = st.sampled_from(_PLAN_WORDS)
    return st.one_of(
        word,
        st.builds(lambda a, b: f"{a} {b}", word, word),
        st.builds(lambda a, b: f"{a} OR {b}", word, word),
        st.builds(lambda w: f"{w[:3]}*", word),
        st.builds(lambda w: f"{w}~", word),
        st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(("name", "_org", "planType", "objectType")), word),
    )


LOG_FIELDS = ("service", "level", "code", "latency_ms", "region", "secret_a", "host", "timestamp")
_LOG_TERMS = (
    "timeout",
    "served",
    "retry",
    "database",
    "cache",
    "login",
    "interloper",
    "request",
    "code:E1",
    "code:5",
    "region:eu",
    "latency_ms:10",
    "latency_ms:[10 TO 40]",
    "secret_a:only-a",
    "region.zone:eu-1",
    "time*",
    "timeot~",
)


def log_window() -> dict[str, str]:
    return {"from": data.LOG_BASE.isoformat(), "to": (data.LOG_BASE + datetime.timedelta(hours=1)).isoformat()}


def _log_query() -> st.SearchStrategy[dict[str, Any]]:
    term = st.sampled_from(_LOG_TERMS)
    return st.fixed_dictionaries(
        {},
        optional={
            "q": st.one_of(term, st.builds(lambda a, b: f"{a} OR {b}", term, term)),
            "level": st.lists(
                st.sampled_from(("error", "info", "warn", "fatal", "debug")), min_size=1, max_size=2, unique=True
            ),
            "service": st.lists(st.sampled_from(("api", "worker", "billing")), min_size=1, max_size=2, unique=True),
        },
    )


def log_search_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda query, limit: {
            **log_window(),
            "limit": limit,
            **{k: (",".join(v) if isinstance(v, list) else v) for k, v in query.items()},
        },
        _log_query(),
        st.integers(1, 30),
    )


def _view() -> st.SearchStrategy[dict[str, Any]]:
    field = st.sampled_from(LOG_FIELDS)
    return st.one_of(
        st.builds(lambda i: {"type": "count_over_time", "interval": i}, st.sampled_from(("1m", "5m", "10m"))),
        st.builds(lambda f, n: {"type": "top_terms", "field": f, "n": n}, field, st.integers(1, 10)),
        st.builds(
            lambda s, f: {"type": "stat", "stat": s, "field": f}, st.sampled_from(("min", "max", "avg", "sum")), field
        ),
        st.just({"type": "stat", "stat": "count"}),
    )


def dashboard_widgets() -> st.SearchStrategy[list[dict[str, Any]]]:
    widget = st.builds(lambda q, v: {"title": "w", "query": q, "view": v}, _log_query(), _view())
    return st.lists(widget, min_size=1, max_size=4)


def alert_rules() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda query, window, comparison, threshold: {
            "name": "probe",
            "query": query,
            "window": window,
            "comparison": comparison,
            "threshold": threshold,
        },
        _log_query(),
        st.sampled_from(("1h", "2h", "1d")),
        st.sampled_from((">", ">=", "<", "<=")),
        st.integers(0, 30),
    )
