"""The resource declaration: declare(), stream ARNs and queue names."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings
from chalicelib.resources import EventBusSpec, Key, QueueSpec, SearchIndexSpec, TableSpec, declare

ORDERS_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/shop-orders/stream/2024-01-01T00:00:00.000"


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Fresh, empty registries so a test's declarations do not leak into the module's."""
    fresh: dict[str, dict[str, Any]] = {}
    for name in ("TABLES", "QUEUES", "SEARCH_INDEXES", "EVENT_BUSES"):
        fresh[name] = {}
        monkeypatch.setattr(resources, name, fresh[name])
    return fresh


def settings(**env: str) -> Settings:
    return Settings.from_env({"STAGE": "test", "AWS_REGION": "eu-west-1", **env})


def test_declare_files_each_spec_under_its_kind_and_key(registries: dict[str, dict[str, Any]]) -> None:
    table = TableSpec(key="orders", hash_key=Key("pk"), range_key=Key("sk", "N"), stream=True)
    queue = QueueSpec(key="jobs")
    index = SearchIndexSpec(key="products", mappings={"properties": {}})
    bus = EventBusSpec(key="domain")

    declare(table, queue, index, bus)

    assert registries == {
        "TABLES": {"orders": table},
        "QUEUES": {"jobs": queue},
        "SEARCH_INDEXES": {"products": index},
        "EVENT_BUSES": {"domain": bus},
    }


def test_the_same_key_may_be_used_by_different_kinds(registries: dict[str, dict[str, Any]]) -> None:
    declare(QueueSpec(key="events"), EventBusSpec(key="events"))

    assert set(registries["QUEUES"]) == {"events"}
    assert set(registries["EVENT_BUSES"]) == {"events"}


def test_an_identical_redeclaration_is_a_no_op(registries: dict[str, dict[str, Any]]) -> None:
    declare(QueueSpec(key="jobs", visibility_timeout_s=60))
    declare(QueueSpec(key="jobs", visibility_timeout_s=60))

    assert registries["QUEUES"] == {"jobs": QueueSpec(key="jobs", visibility_timeout_s=60)}


def test_a_conflicting_redeclaration_raises_and_keeps_the_first(registries: dict[str, dict[str, Any]]) -> None:
    first = TableSpec(key="orders", hash_key=Key("pk"))
    declare(first)

    with pytest.raises(ValueError, match=r"^TableSpec 'orders' declared twice with different settings$"):
        declare(TableSpec(key="orders", hash_key=Key("pk"), stream=True))

    assert registries["TABLES"] == {"orders": first}


def test_the_platform_declares_its_event_plumbing() -> None:
    # The `make events` tap: the local cloud's own queue, fed by a rule of the local cloud alone.
    assert resources.QUEUES["events"] == QueueSpec(
        key="events", visibility_timeout_s=30, max_receive_count=3, local_only=True
    )
    bus = resources.EVENT_BUSES["events"]
    assert bus.key == "events" and bus.local_tap == "events"
    assert "events" not in resources.deployed_queues()
    # Each rule feeds a consumer's own declared queue.
    assert all(queue_key in resources.QUEUES for _, _, queue_key in bus.rules)


def test_queue_spec_names_its_dead_letter_queue() -> None:
    assert QueueSpec(key="jobs").dlq_key == "jobs-dlq"


def test_stream_arn_comes_from_the_settings() -> None:
    assert resources.stream_arn("orders", settings(STREAM_ARN_ORDERS=ORDERS_ARN)) == ORDERS_ARN
    # The table key is matched case-insensitively against the variable's suffix.
    assert resources.stream_arn("Orders", settings(STREAM_ARN_ORDERS=ORDERS_ARN)) == ORDERS_ARN


def test_stream_arn_without_a_setting_is_an_unresolved_placeholder_naming_the_table() -> None:
    arn = resources.stream_arn("orders", settings(STREAM_ARN_OTHER=ORDERS_ARN))

    assert arn == "arn:aws:dynamodb:eu-west-1:000000000000:table/sp-test-orders/stream/unresolved"


def test_stream_arn_uses_the_process_settings_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "get_settings", lambda: settings(RESOURCE_PREFIX="p"))

    assert resources.stream_arn("orders") == "arn:aws:dynamodb:eu-west-1:000000000000:table/p-orders/stream/unresolved"
    assert resources.queue_name("events") == "p-events"


def test_stream_arn_of_a_hyphenated_table_key_is_found_under_the_bootstraps_variable_name() -> None:
    assert resources.stream_arn("order-events", settings(STREAM_ARN_ORDER_EVENTS=ORDERS_ARN)) == ORDERS_ARN


@pytest.mark.usefixtures("registries")
def test_queue_name_adds_fifo_only_for_fifo_queues() -> None:
    declare(QueueSpec(key="orders", fifo=True), QueueSpec(key="jobs"))
    test = settings()

    assert resources.queue_name("orders", test) == "sp-test-orders.fifo"
    assert resources.queue_name("jobs", test) == "sp-test-jobs"
    # An undeclared key is named plainly.
    assert resources.queue_name("ad-hoc", test) == "sp-test-ad-hoc"
