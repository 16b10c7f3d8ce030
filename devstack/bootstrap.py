"""Create every declared resource (chalicelib/declarations.py) against an AWS-compatible endpoint.

Idempotent: what exists is left alone (and its ARNs reported), what is missing is created.
Used by the embedded local cloud and by LocalStack's init hook:

    python -m devstack.bootstrap            # JSON description of the resources
    python -m devstack.bootstrap --env      # STREAM_ARN_<KEY>=... lines for the app's config
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib import clients, declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import Settings
from chalicelib.resources import QueueSpec, TableSpec
from chalicelib.search import ensure_index


def _attribute_definitions(spec: TableSpec) -> list[dict[str, str]]:
    keys = {spec.hash_key, *([spec.range_key] if spec.range_key else [])}
    for index in spec.indexes:
        keys |= {index.hash_key, *([index.range_key] if index.range_key else [])}
    return [{"AttributeName": k.name, "AttributeType": k.type} for k in sorted(keys, key=lambda k: k.name)]


def _key_schema(hash_key: resources.Key, range_key: resources.Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return schema


def create_table(spec: TableSpec, settings: Settings) -> dict[str, Any]:
    dynamodb = clients.aws("dynamodb", settings)
    name = spec.table_name(settings)
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": _attribute_definitions(spec),
            "KeySchema": _key_schema(spec.hash_key, spec.range_key),
        }
        if spec.indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": _key_schema(index.hash_key, index.range_key),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in spec.indexes
            ]
        if spec.stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        table = dynamodb.create_table(**request)["TableDescription"]
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
    return {"name": name, "arn": table["TableArn"], "stream_arn": table.get("LatestStreamArn")}


def create_queue(spec: QueueSpec, settings: Settings) -> dict[str, Any]:
    sqs = clients.aws("sqs", settings)
    suffix = ".fifo" if spec.fifo else ""
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if spec.fifo else {}
    described: dict[str, Any] = {}
    attributes: dict[str, str] = {"VisibilityTimeout": str(spec.visibility_timeout_s), **fifo_attributes}
    if spec.dead_letter:
        dlq_url = sqs.create_queue(
            QueueName=settings.resource_name(spec.dlq_key) + suffix,
            Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600), **fifo_attributes},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
        )
        described.update(dlq_url=dlq_url, dlq_arn=dlq_arn)
    name = settings.resource_name(spec.key) + suffix
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"name": name, "url": url, "arn": arn, **described}


def create_event_bus(spec: resources.EventBusSpec, queues: dict[str, dict[str, Any]], settings: Settings) -> dict:
    events = clients.aws("events", settings)
    name = settings.resource_name(spec.key)
    try:
        arn = events.describe_event_bus(Name=name)["Arn"]
    except events.exceptions.ResourceNotFoundException:
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    for rule_name, detail_types, queue_key in spec.rules:
        events.put_rule(
            Name=settings.resource_name(rule_name),
            EventBusName=name,
            EventPattern=json.dumps({"detail-type": [{"prefix": p} for p in detail_types]}),
        )
        events.put_targets(
            Rule=settings.resource_name(rule_name),
            EventBusName=name,
            Targets=[{"Id": queue_key, "Arn": queues[queue_key]["arn"]}],
        )
    if spec.local_tap:
        create_tap(spec, queues[spec.local_tap], settings)
    return {"name": name, "arn": arn}


def create_tap(spec: resources.EventBusSpec, queue: dict[str, Any], settings: Settings) -> None:
    """The local cloud's own rule (the stack has none): every event the platform publishes, as
    its bare envelope (the `detail`), into the tap queue `make events` reads."""
    from chalicelib.events import SOURCE

    events = clients.aws("events", settings)
    rule, bus = settings.resource_name(spec.tap_rule), settings.resource_name(spec.key)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
    target = {
        "Id": spec.local_tap,
        "Arn": queue["arn"],
        "InputTransformer": {"InputPathsMap": {"detail": "$.detail"}, "InputTemplate": "<detail>"},
    }
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])


def create_secret(spec: resources.SecretSpec, settings: Settings) -> dict[str, Any]:
    """Create the secret with a generated first value, unless it exists (never overwrite)."""
    import importlib

    secrets = clients.aws("secretsmanager", settings)
    name = settings.resource_name(spec.key)
    try:
        arn = secrets.describe_secret(SecretId=name)["ARN"]
    except secrets.exceptions.ResourceNotFoundException:
        module, _, function = spec.generator.partition(":")
        value = getattr(importlib.import_module(module), function)()
        arn = secrets.create_secret(Name=name, SecretString=value)["ARN"]
    return {"name": name, "arn": arn}


def bootstrap_search(settings: Settings) -> dict[str, Any]:
    return {key: ensure_index(spec, settings) for key, spec in resources.SEARCH_INDEXES.items()}


def bootstrap(settings: Settings, search: bool = True) -> dict[str, Any]:
    """Create everything declared; return names, ARNs and URLs by kind and key."""
    tables = {key: create_table(spec, settings) for key, spec in resources.TABLES.items()}
    queues = {key: create_queue(spec, settings) for key, spec in resources.QUEUES.items()}
    buses = {key: create_event_bus(spec, queues, settings) for key, spec in resources.EVENT_BUSES.items()}
    secrets = {key: create_secret(spec, settings) for key, spec in resources.SECRETS.items()}
    # The sender must be a verified SES identity; in AWS the stack creates it (infrastructure/).
    clients.aws("ses", settings).verify_email_identity(EmailAddress=settings.mail_from)
    indexes = bootstrap_search(settings) if search else {}
    return {"tables": tables, "queues": queues, "event_buses": buses, "secrets": secrets, "search_indexes": indexes}


def stream_env(described: dict[str, Any]) -> dict[str, str]:
    """The STREAM_ARN_<KEY> variables the app reads at import (see chalicelib/resources.py)."""
    return {
        f"STREAM_ARN_{resources.stream_env_suffix(key)}": table["stream_arn"]
        for key, table in described["tables"].items()
        if table.get("stream_arn")
    }


def load_declarations(modules: list[str]) -> None:
    """Import extra modules whose `declare(...)` calls add resources (a test app's, say).

    The platform's own resources are all in chalicelib/declarations.py, already imported.
    These must not import app.py: it needs the stream ARNs the bootstrap produces.
    """
    import importlib

    for module in modules:
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="store_true", help="print STREAM_ARN_<KEY>=<arn> lines")
    parser.add_argument("--no-search", action="store_true", help="skip OpenSearch indexes")
    parser.add_argument("--declarations", nargs="*", default=[], help="extra modules that declare resources")
    args = parser.parse_args(argv)
    load_declarations(args.declarations)
    described = bootstrap(Settings.from_env(), search=not args.no_search)
    if args.env:
        for name, value in stream_env(described).items():
            print(f"{name}={value}")
    else:
        json.dump(described, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
