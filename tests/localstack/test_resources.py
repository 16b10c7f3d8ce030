"""Every resource the contexts declare (chalicelib/declarations.py) exists in LocalStack as declared.

Expectations are computed from the specs (and from the app's Settings for names), never written
out, so a resource added to the declaration is checked here without touching this file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings
from chalicelib.resources import EventBusSpec, Key, QueueSpec, SecretSpec, TableSpec
from devstack import bootstrap
from tests.localstack import conftest as suite
from tests.localstack.conftest import HOOK_NAME, SERVICES, Bootstrapped, LocalStack

Aws = Callable[[str], Any]


def test_localstack_serves_every_service_the_platform_uses(localstack: LocalStack) -> None:
    services = localstack.health.get("services", {})
    unusable = {name: services.get(name, "absent") for name in SERVICES}
    unusable = {name: state for name, state in unusable.items() if state in ("absent", "disabled", "error")}
    assert not unusable, f"LocalStack {localstack.health.get('version')} cannot serve {unusable}; check SERVICES"
    assert set(localstack.endpoints.values()) == {localstack.endpoint}, localstack.endpoints


def test_init_hook_ran_the_bootstrap_successfully(localstack: LocalStack) -> None:
    ready = localstack.init_ready()
    states = [script["state"] for script in ready.get("scripts", []) if script.get("name") == HOOK_NAME]
    if not states:
        pytest.skip(f"LocalStack was not started with localstack/docker-compose.yml ({HOOK_NAME} not mounted)")
    assert ready.get("completed"), f"LocalStack's READY hooks have not finished: {ready}"
    assert states == ["SUCCESSFUL"], (
        f"{HOOK_NAME} ended {states}; see `docker compose -f localstack/docker-compose.yml logs localstack`"
    )


def test_the_platform_resources_existed_before_the_suite_bootstrapped(bootstrapped: Bootstrapped) -> None:
    assert not bootstrapped.missing_before, (
        f"missing after start-up: {bootstrapped.missing_before}. The init hook creates them on "
        "`make localstack-up`; `make bootstrap` does it for a LocalStack started otherwise."
    )


def test_the_bootstrap_is_idempotent(bootstrapped: Bootstrapped) -> None:
    assert bootstrapped.second == bootstrapped.first


def _key_schema(hash_key: Key, range_key: Key | None) -> dict[str, str]:
    return {hash_key.name: "HASH", **({range_key.name: "RANGE"} if range_key else {})}


def _wait_for_table(aws: Aws, name: str) -> dict[str, Any]:
    aws("dynamodb").get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return aws("dynamodb").describe_table(TableName=name)["Table"]


@pytest.mark.parametrize("spec", list(suite.DECLARED.tables.values()), ids=lambda spec: spec.key)
def test_table_matches_its_declaration(
    spec: TableSpec, aws: Aws, settings: Settings, bootstrapped: Bootstrapped
) -> None:
    name = settings.resource_name(spec.key)
    table = _wait_for_table(aws, name)

    assert table["TableStatus"] == "ACTIVE"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == _key_schema(spec.hash_key, spec.range_key)
    keys = [spec.hash_key, spec.range_key, *(k for i in spec.indexes for k in (i.hash_key, i.range_key))]
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    assert types == {k.name: k.type for k in keys if k is not None}
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        schema = {k["AttributeName"]: k["KeyType"] for k in indexes[index.name]["KeySchema"]}
        assert schema == _key_schema(index.hash_key, index.range_key), index.name

    described = bootstrapped.first["tables"][spec.key]
    if spec.stream:
        assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert table["LatestStreamArn"] == described["stream_arn"]
        stream = aws("dynamodbstreams").describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]
        assert stream["StreamStatus"] in ("ENABLING", "ENABLED")
        # What the app needs at import (chalicelib/resources.py, stream_arn).
        variable = f"STREAM_ARN_{spec.key.upper().replace('-', '_')}"
        assert bootstrap.stream_env(bootstrapped.first)[variable] == table["LatestStreamArn"]
    else:
        assert not table.get("StreamSpecification", {}).get("StreamEnabled", False)
        assert described["stream_arn"] is None

    ttl = aws("dynamodb").describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if spec.ttl_attribute:
        assert ttl["TimeToLiveStatus"] in ("ENABLING", "ENABLED")
        assert ttl["AttributeName"] == spec.ttl_attribute
    else:
        assert ttl["TimeToLiveStatus"] in ("DISABLED", "DISABLING")

    if spec.stream_failure_queue:
        assert spec.stream_failure_queue in resources.QUEUES, "failure queue must be declared"
        aws("sqs").get_queue_url(QueueName=resources.queue_name(spec.stream_failure_queue, settings))


def _queue_attributes(aws: Aws, name: str) -> dict[str, str]:
    url = aws("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


@pytest.mark.parametrize("spec", list(suite.DECLARED.queues.values()), ids=lambda spec: spec.key)
def test_queue_matches_its_declaration_with_its_dead_letter_queue(
    spec: QueueSpec, aws: Aws, settings: Settings, bootstrapped: Bootstrapped
) -> None:
    attributes = _queue_attributes(aws, resources.queue_name(spec.key, settings))

    assert attributes["VisibilityTimeout"] == str(spec.visibility_timeout_s)
    assert attributes.get("FifoQueue", "false") == ("true" if spec.fifo else "false")
    assert attributes["QueueArn"] == bootstrapped.first["queues"][spec.key]["arn"]
    if not spec.dead_letter:
        assert "RedrivePolicy" not in attributes
        return

    dlq = _queue_attributes(aws, settings.resource_name(spec.dlq_key) + (".fifo" if spec.fifo else ""))
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
    # AWS requires a FIFO queue's DLQ to be FIFO too.
    assert dlq.get("FifoQueue", "false") == attributes.get("FifoQueue", "false")
    # A message must outlive its trip to the DLQ, or there is nothing left to inspect.
    assert int(dlq["MessageRetentionPeriod"]) >= int(attributes["MessageRetentionPeriod"])


@pytest.mark.parametrize("spec", list(suite.DECLARED.event_buses.values()), ids=lambda spec: spec.key)
def test_event_bus_and_its_rules_match_their_declaration(
    spec: EventBusSpec, aws: Aws, settings: Settings, bootstrapped: Bootstrapped
) -> None:
    events = aws("events")
    bus = settings.resource_name(spec.key)
    assert events.describe_event_bus(Name=bus)["Arn"] == bootstrapped.first["event_buses"][spec.key]["arn"]
    for rule_name, prefixes, queue_key in spec.rules:
        rule = events.describe_rule(Name=settings.resource_name(rule_name), EventBusName=bus)
        assert json.loads(rule["EventPattern"]) == {"detail-type": [{"prefix": p} for p in prefixes]}
        targets = events.list_targets_by_rule(Rule=settings.resource_name(rule_name), EventBusName=bus)["Targets"]
        assert [t["Arn"] for t in targets] == [bootstrapped.first["queues"][queue_key]["arn"]]


RULES = [
    pytest.param(bus, rule, id=f"{bus.key}:{rule[0]}")
    for bus in suite.DECLARED.event_buses.values()
    for rule in bus.rules
    if not suite.DECLARED.queues[rule[2]].fifo  # a FIFO target needs a message group per target
]


@pytest.mark.parametrize(("bus", "rule"), RULES)
def test_an_event_matching_a_rule_reaches_its_queue(
    bus: EventBusSpec, rule: tuple[str, tuple[str, ...], str], aws: Aws, settings: Settings, bootstrapped: Bootstrapped
) -> None:
    _, prefixes, queue_key = rule
    marker = f"localstack-suite-{time.time_ns()}"
    aws("events").put_events(
        Entries=[
            {
                "EventBusName": settings.resource_name(bus.key),
                "Source": "tests.localstack",
                "DetailType": f"{prefixes[0]}probe",
                "Detail": json.dumps({"marker": marker}),
            }
        ]
    )
    url = bootstrapped.first["queues"][queue_key]["url"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"]).get("detail", {}).get("marker") == marker:
                return
    pytest.fail(f"no event with marker {marker} reached {url} within 15 s")


@pytest.mark.parametrize("spec", list(suite.DECLARED.secrets.values()), ids=lambda spec: spec.key)
def test_secret_exists_with_a_value_that_a_rerun_keeps(
    spec: SecretSpec, aws: Aws, settings: Settings, bootstrapped: Bootstrapped
) -> None:
    name = settings.resource_name(spec.key)
    assert aws("secretsmanager").describe_secret(SecretId=name)["ARN"] == bootstrapped.first["secrets"][spec.key]["arn"]
    assert bootstrapped.secrets_after_first[spec.key], f"{name} has an empty value"
    assert bootstrapped.secrets_after_second[spec.key] == bootstrapped.secrets_after_first[spec.key]
