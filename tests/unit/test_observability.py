"""Observability without a search engine: ingest checks, the query language, the indexer's
plan, the request-log shipper, widget series, and the alert evaluator's transitions against
DynamoDB's conditional writes (moto in process) with counts from a fake log service."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import Settings
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.observability import indexer, ingest, shipping
from chalicelib.observability.query import LogQuery, Window, duration_s, parse_instant
from chalicelib.observability.service import LogService
from chalicelib.principal import Principal

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
ALICE = Principal("alice-id", "alice", ("user",), via="api_key")


def event(**fields: Any) -> dict[str, Any]:
    return {"timestamp": "2030-01-01T11:59:00Z", "level": "info", "service": "api", "message": "hello", **fields}


# -- ingest ----------------------------------------------------------------------------------


def test_an_array_and_ndjson_parse_to_positioned_events():
    array = ingest.parse_body(json.dumps([event(), event()]).encode())
    assert [(p.position, p.line) for p in array] == [(0, None), (1, None)]
    ndjson = ingest.parse_body(b'{"a": 1}\n\n{broken\n{"b": 2}\n')
    assert [(p.position, p.line, p.error is not None) for p in ndjson] == [(0, 1, False), (1, 3, True), (2, 4, False)]
    for body, reason in (
        (b"", "empty"),
        (b"[1, 2", "Malformed JSON array"),
        (b"\n \n", "no events"),
        (b"\xff", "UTF-8"),
    ):
        with pytest.raises(BadRequest, match=reason):
            ingest.parse_body(body)
    with pytest.raises(BadRequest, match="at most 10000"):
        ingest.parse_body(("{}\n" * 10_001).encode())


def test_each_event_is_judged_alone_and_the_good_ones_normalised():
    bodies = [
        event(level="WARNING", latency_ms=12, tags={"region": "eu"}),
        event(timestamp=int(NOW.timestamp() * 1000) - 5000, level="critical"),
        event(timestamp="2030-01-01T13:59:00+02:00"),
        event(level="loud"),
        event(timestamp="2030-01-01T11:59:00"),
        event(timestamp="2029-12-01T00:00:00Z"),
        event(timestamp="2030-01-03T00:00:00Z"),
        event(owner="mallory", event_id="x"),
        {"level": "info"},
        event(**{"bad.name": 1}),
        event(deep={"a": {"b": {"c": {"d": {"e": 1}}}}}),
        [1, 2],
        event(message="half a pair \ud83d"),
        event(timestamp=-12836979239010144),
    ]
    parsed = [ingest.Parsed(n, None, body) for n, body in enumerate(bodies)]
    outcome = ingest.check_all(parsed, NOW, retention_days=14)
    assert len(outcome.accepted) == 3 and outcome.rejected_count == 11
    first, second, third = outcome.accepted
    assert first["level"] == "warn" and first["latency_ms"] == 12 and first["tags"] == {"region": "eu"}
    assert second["level"] == "fatal" and second["timestamp"] == "2030-01-01T11:59:55.000Z"
    assert third["timestamp"] == "2030-01-01T11:59:00.000Z"
    assert len({e["event_id"] for e in outcome.accepted}) == 3
    reasons = {entry["index"]: {e["path"]: e["message"] for e in entry["errors"]} for entry in outcome.rejected}
    assert "must be one of" in reasons[3]["$.level"]
    assert "needs a timezone" in reasons[4]["$.timestamp"]
    assert "older than the retention period" in reasons[5]["$.timestamp"]
    assert "in the future" in reasons[6]["$.timestamp"]
    assert reasons[7] == {"$.owner": "is set by the platform", "$.event_id": "is set by the platform"}
    assert "'timestamp' is a required property" in json.dumps(next(e for e in outcome.rejected if e["index"] == 8))
    assert "bad.name" in reasons[9]["$"]
    assert "nested deeper" in reasons[10]["$"]
    assert "is not of type 'object'" in reasons[11]["$"]
    assert "not valid Unicode" in reasons[12]["$"]
    assert reasons[13] == {"$.timestamp": "is out of range"}


def test_accepted_events_are_packed_into_messages_under_the_budget():
    from chalicelib.observability.service import MESSAGE_BUDGET, pack

    events = [event(message="x" * 30_000, event_id=str(n)) for n in range(20)]
    bodies = pack("alice-id", events)
    assert len(bodies) > 1 and all(len(body.encode()) < MESSAGE_BUDGET + 31_000 for body in bodies)
    decoded = [json.loads(body) for body in bodies]
    assert {d["owner"] for d in decoded} == {"alice-id"}
    assert [e["event_id"] for d in decoded for e in d["events"]] == [str(n) for n in range(20)]


# -- the query language ----------------------------------------------------------------------


def test_times_are_iso_epoch_or_relative_and_windows_are_checked():
    assert parse_instant("from", "now-15m", NOW) == NOW - datetime.timedelta(minutes=15)
    assert parse_instant("from", "now-2w", NOW) == NOW - datetime.timedelta(days=14)
    assert parse_instant("from", "1893499200000", NOW) == NOW
    assert parse_instant("from", "2030-01-01T13:00:00+01:00", NOW) == NOW
    for text in ("yesterday", "2030-01-01T12:00:00", "now+5m", "99999999999999999999", "now-999999w"):
        with pytest.raises(BadRequest, match="from"):
            parse_instant("from", text, NOW)
    with pytest.raises(BadRequest, match="before"):
        Window.parse("now", "now-1h", NOW, datetime.timedelta(hours=1))
    assert duration_s("90s") == 90 and duration_s("1d") == 86400
    with pytest.raises(ValueError, match="duration"):
        duration_s("0m")


def test_histograms_pick_an_interval_and_refuse_too_many_buckets():
    day = Window(NOW - datetime.timedelta(days=1), NOW)
    assert day.auto_interval() == "30m"
    assert Window(NOW - datetime.timedelta(minutes=10), NOW).auto_interval() == "5s"
    assert Window(NOW - datetime.timedelta(days=3650), NOW).auto_interval() == "31d"
    assert day.histogram("1h")["date_histogram"]["extended_bounds"]["max"] == int(NOW.timestamp() * 1000) - 1
    with pytest.raises(BadRequest, match="more than 1000 buckets"):
        day.histogram("10s")


def test_every_query_is_confined_to_its_owner():
    query = LogQuery.from_params({"q": "timeout OR owner:bob-id", "level": "error,WARNING", "service": "api, worker"})
    assert query == LogQuery("timeout OR owner:bob-id", ("error", "warn"), ("api", "worker"))
    body = query.bool_query("alice-id", Window(NOW - datetime.timedelta(hours=1), NOW))["bool"]
    assert body["filter"][0] == {"term": {"owner": "alice-id"}}
    assert {"terms": {"level": ["error", "warn"]}} in body["filter"]
    assert body["must"][0]["query_string"]["allow_leading_wildcard"] is False
    assert LogQuery.of({"level": ["warning"]}).levels == ("warn",)
    with pytest.raises(BadRequest, match="level"):
        LogQuery.from_params({"level": "loud"})


# -- the indexer's plan ------------------------------------------------------------------------


def test_events_go_to_the_daily_index_of_their_timestamp_with_an_id_of_owner_and_event():
    first = json.dumps({"owner": "o1", "events": [event(timestamp="2030-01-01T23:59:59.999Z", event_id="a")]})
    second = json.dumps({"owner": "o2", "events": [event(timestamp="2030-01-02T00:00:00.000Z", event_id="b")]})
    planned = indexer.plan("sp-logs", [("m1", first), ("m2", "not json"), ("m3", second)])
    a, b = indexer.document_id("o1", "a"), indexer.document_id("o2", "b")
    assert [(action["_index"], action["_id"], action["_source"]["owner"]) for action in planned.actions] == [
        ("sp-logs-2030.01.01", a, "o1"),
        ("sp-logs-2030.01.02", b, "o2"),
    ]
    # The same event id of another owner is another document.
    assert indexer.document_id("o2", "a") != a
    assert planned.malformed == ["m2"]
    errors = [{"index": {"_id": a, "status": 400}}, {"index": {"_id": b, "status": 429}}]
    outcome = indexer.classify(planned, errors)
    assert outcome.dropped == 1 and outcome.retry == {"m3"}
    template = indexer.template_body("sp-logs")
    assert template["index_patterns"] == ["sp-logs-*"] and template["template"]["aliases"] == {"sp-logs": {}}


def test_the_template_is_put_again_only_after_its_ttl():
    puts, now = [], [0.0]
    keeper = indexer.TemplateKeeper(lambda: puts.append(1), clock=lambda: now[0])
    keeper.ensure()
    keeper.ensure()
    now[0] = indexer.TEMPLATE_TTL_S + 1
    keeper.ensure()
    assert len(puts) == 2


# -- the request-log shipper -------------------------------------------------------------------


def test_request_lines_become_platform_events_by_status():
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    shipper = shipping.RequestLogShipper(lambda owner, events: sent.append((owner, events)))
    logger = logging.getLogger("test-shipper")
    logger.addHandler(shipper)
    logger.setLevel(logging.INFO)
    try:
        for status in (200, 404, 503):
            logger.info(
                "request",
                extra={
                    "method": "GET",
                    "path": "/x",
                    "route": "/x",
                    "status": status,
                    "latency_ms": 1.5,
                    "request_id": "r",
                },
            )
        logger.info("something else")
        shipper.flush()
    finally:
        logger.removeHandler(shipper)
    ((owner, events),) = sent
    assert owner == shipping.PLATFORM_OWNER == "platform"
    assert [(e["level"], e["message"], e["service"]) for e in events] == [
        ("info", "GET /x 200", "api"),
        ("warn", "GET /x 404", "api"),
        ("error", "GET /x 503", "api"),
    ]
    assert all(e["request_id"] == "r" and e["latency_ms"] == 1.5 and e["event_id"] for e in events)
    assert shipping.install(False, lambda owner, events: None) is None


# -- widget series -----------------------------------------------------------------------------


def test_widgets_become_chart_ready_series():
    from chalicelib.observability.dashboards import widget_aggs, widget_series

    window = Window(NOW - datetime.timedelta(minutes=3), NOW)
    assert widget_aggs({"type": "top_terms", "field": "service", "n": 3}, window) == {
        "series": {"terms": {"field": "service", "size": 3}}
    }
    assert widget_aggs({"type": "stat", "stat": "count"}, window) == {}
    start = int(window.start.timestamp() * 1000)
    histogram = {
        "hits": {"total": {"value": 7}},
        "aggregations": {
            "series": {"buckets": [{"key": start, "doc_count": 3}, {"key": start + 60_000, "doc_count": 4}]}
        },
    }
    assert widget_series({"type": "count_over_time", "interval": "1m"}, histogram) == {
        "total": 7,
        "labels": ["2030-01-01T11:57:00.000Z", "2030-01-01T11:58:00.000Z"],
        "values": [3, 4],
    }
    stats = {"hits": {"total": {"value": 9}}, "aggregations": {"series": {"count": 4, "avg": 2.5, "max": 4.0}}}
    assert widget_series({"type": "stat", "stat": "avg", "field": "ms"}, stats) == {
        "total": 9,
        "value": 2.5,
        "count": 4,
    }
    assert widget_series({"type": "stat", "stat": "count"}, {"hits": {"total": {"value": 9}}})["value"] == 9
    assert widget_series({"type": "top_terms", "field": "x"}, {"error": "no such field"}) == {"error": "no such field"}


# -- alert evaluation ------------------------------------------------------------------------


class FakeLogs:
    """Answers every count query with the current value for the rule's owner."""

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def run_all(self, searches: list[Any]) -> list[dict[str, Any]]:
        return [{"hits": {"total": {"value": self.counts.get(s.owner, 0)}}} for s in searches]


@pytest.fixture
def observability_store(monkeypatch) -> Iterator[Any]:
    from moto import mock_aws

    from devstack import bootstrap, moto_serial

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    moto_serial.apply()
    clients.reset()
    with mock_aws():
        from chalicelib.dynamo import bind
        from chalicelib.observability.resources import OBSERVABILITY_TABLE
        from chalicelib.observability.store import ObservabilityItem, ObservabilityStore

        settings = dataclasses.replace(Settings.from_env(), resource_prefix="unit")
        bootstrap.create_table(OBSERVABILITY_TABLE, settings)
        bind(ObservabilityItem, OBSERVABILITY_TABLE, settings)
        yield ObservabilityStore()
    clients.reset()


RULE = {
    "name": "errors",
    "query": {"level": ["error"]},
    "window": "1m",
    "comparison": ">",
    "threshold": 5,
    "channels": [{"type": "email", "to": "ops@example.com"}, {"type": "webhook", "url": "https://hooks.example/a"}],
}


def alerts(store: Any, logs: FakeLogs, sent: list[tuple[str, dict[str, Any]]], clock: list[datetime.datetime]) -> Any:
    from chalicelib.observability.alerts import AlertService

    def notify(channel: dict[str, Any], message: dict[str, Any]) -> None:
        if channel["type"] == "webhook":
            raise ConnectionError("receiver down")
        sent.append((channel["to"], message))

    return AlertService(
        store,
        logs,
        notify,
        check_url=lambda url: None,
        owner_email=lambda owner_id: "ops@example.com",
        send_email=lambda *mail: None,
        clock=lambda: clock[0],
    )


def test_a_rule_fires_once_stays_quiet_and_resolves_once(observability_store):
    logs, sent, clock = FakeLogs(), [], [NOW]
    service = alerts(observability_store, logs, sent, clock)
    rule = service.create(ALICE, RULE)

    logs.counts["alice-id"] = 5
    assert service.evaluate()["unchanged"] == 1
    logs.counts["alice-id"] = 6
    assert service.evaluate()["opened"] == 1
    for _ in range(3):
        clock[0] += datetime.timedelta(minutes=1)
        assert service.evaluate() == {"rules": 1, "opened": 0, "resolved": 0, "unchanged": 1, "errors": 0}
    assert service.get(ALICE, rule["id"])["state"] == "firing"
    logs.counts["alice-id"] = 0
    assert service.evaluate()["resolved"] == 1
    assert service.evaluate()["unchanged"] == 1

    assert [(to, m["payload"]["status"], m["payload"]["value"]) for to, m in sent] == [
        ("ops@example.com", "firing", 6.0),
        ("ops@example.com", "resolved", 0.0),
    ]
    assert sent[0][1]["subject"] == "[FIRING] errors: 6 events (> 5 in 1m)"
    (history,) = service.events(ALICE, rule["id"], 10, None).items
    assert history["status"] == "resolved" and history["open_value"] == 6 and history["resolve_value"] == 0
    assert [(n["transition"], n["channel"], n["ok"]) for n in history["notifications"]] == [
        ("firing", "email:ops@example.com", True),
        ("firing", "webhook:https://hooks.example/a", False),
        ("resolved", "email:ops@example.com", True),
        ("resolved", "webhook:https://hooks.example/a", False),
    ]
    assert history["notifications"][1]["error"] == "ConnectionError: receiver down"


def test_two_evaluators_at_once_open_one_event(observability_store):
    logs, sent, clock = FakeLogs(), [], [NOW]
    first = alerts(observability_store, logs, sent, clock)
    second = alerts(observability_store, logs, sent, clock)
    rule = first.create(ALICE, RULE)
    logs.counts["alice-id"] = 10
    # Both read the rule while it was ok; only one move from ok to firing can succeed.
    stale = list(observability_store.all_rules())
    assert first.evaluate()["opened"] == 1
    assert second._judge(stale[0], 10.0, NOW) == "unchanged"
    assert len(sent) == 1 and len(first.events(ALICE, rule["id"], 10, None).items) == 1


def test_rules_are_checked_owned_and_deleted_with_their_history(observability_store):
    logs, sent, clock = FakeLogs(), [], [NOW]
    service = alerts(observability_store, logs, sent, clock)
    with pytest.raises(ValidationFailed) as refused:
        service.create(ALICE, {**RULE, "window": "2d"})
    assert refused.value.errors[0].path == "$.window"
    rule = service.create(ALICE, {**RULE, "enabled": False})
    logs.counts["alice-id"] = 100
    assert service.evaluate()["rules"] == 0
    updated = service.replace(ALICE, rule["id"], {**RULE, "threshold": 50})
    assert updated["threshold"] == 50 and updated["enabled"] is True
    assert service.evaluate()["opened"] == 1
    bob = Principal("bob-id", "bob", ("user",), via="jwt")
    with pytest.raises(Exception, match="No alert rule"):
        service.get(bob, rule["id"])
    service.delete(ALICE, rule["id"])
    assert list(observability_store.events(rule["id"], None, 10)) == []


class FakeLogIndex:
    """An OpenSearch that answers each log search with `size` hits, and notes each body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def search(self, index: str, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.bodies.append(body)
        start = body.get("search_after", [10_000, ""])[0]
        hits = [
            {"_id": f"e{n}", "_source": {"event_id": f"e{n}", "message": "m"}, "sort": [start - n - 1, f"e{n}"]}
            for n in range(body["size"])
        ]
        answer: dict[str, Any] = {
            "hits": {"hits": hits, "total": {"value": -1 if not body["track_total_hits"] else 99}}
        }
        if "aggs" in body:
            answer["aggregations"] = {
                "histogram": {"buckets": [{"key_as_string": "2026-01-01T00:00:00.000Z", "doc_count": 99}]},
                "levels": {"buckets": [{"key": "error", "doc_count": 99}]},
                "services": {"buckets": [{"key": "api", "doc_count": 99}]},
            }
        return answer


@pytest.fixture
def walked() -> tuple[LogService, FakeLogIndex, list[datetime.datetime]]:
    import fakeredis

    from chalicelib.observability.service import Walks

    redis, index = fakeredis.FakeRedis(), FakeLogIndex()
    now = [datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)]
    service = LogService(lambda: index, lambda body: None, "logs", 7, clock=lambda: now[0], walks=Walks(lambda: redis))
    return service, index, now


def test_a_cursor_walk_keeps_its_first_pages_window_and_summary(walked) -> None:
    service, index, now = walked
    first = service.search(ALICE, {"level": "error", "limit": "2"})
    now[0] += datetime.timedelta(minutes=5)
    second = service.search(ALICE, {"level": "error", "limit": "2", "cursor": first["next"]})
    assert [("aggs" in b, b["track_total_hits"]) for b in index.bodies] == [(True, True), (False, False)]
    summary = ("total", "from", "to", "histogram", "levels", "services")
    assert {k: second[k] for k in summary} == {k: first[k] for k in summary}
    assert index.bodies[1]["query"] == index.bodies[0]["query"], "the same window, not one five minutes later"
    assert index.bodies[1]["search_after"] == [9_998, "e1"]
    assert second["next"] and second["hits"][0]["id"] == "e0"


def test_a_walk_is_not_found_by_another_owner_or_with_other_filters(walked) -> None:
    service, index, _ = walked
    cursor = service.search(ALICE, {"level": "error", "limit": "2"})["next"]
    bob = Principal("bob-id", "bob", ("user",), via="jwt")
    service.search(bob, {"level": "error", "limit": "2", "cursor": cursor})
    service.search(ALICE, {"level": "warn", "limit": "2", "cursor": cursor})
    assert all("aggs" in b for b in index.bodies)
    assert "bob-id" in json.dumps(index.bodies[1]["query"]) and "alice-id" not in json.dumps(index.bodies[1]["query"])


def test_cursors_without_a_walk_and_redis_down_are_computed_whole() -> None:
    from redis.exceptions import ConnectionError as Down

    from chalicelib.observability.service import Walks, _encode_cursor

    def down() -> Any:
        raise Down("no redis")

    index = FakeLogIndex()
    service = LogService(lambda: index, lambda body: None, "logs", 7, walks=Walks(down))
    page = service.search(ALICE, {"limit": "2", "cursor": _encode_cursor([5_000, "x"], None)})
    assert page["total"] == 99 and page["next"]
    service.search(ALICE, {"limit": "2", "cursor": page["next"]})
    assert all("aggs" in b for b in index.bodies)
    with pytest.raises(BadRequest):
        service.search(ALICE, {"cursor": _encode_cursor([5_000, "x"], None)[:-3] + "!!!"})
