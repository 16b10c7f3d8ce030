"""The embedded DynamoDB's Query, moto's own beside the seek (devstack/moto_query.py), in one run.

    .venv/bin/python -m bench.moto_query [--sizes 1000,5000,20000,50000] [--queries 50]

In-process (mock_aws), so only the Query itself is timed: a documents-shaped table (pk, sort key,
a GSI) holding one partition of N items, and `Query Limit=21` on the table, on the GSI, and from
an ExclusiveStartKey near the end. Prints p50 per size and writes bench/moto_query.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.models.table import Table

from bench.event_latency import percentile
from devstack import moto_query

RESULT = Path(__file__).with_name("moto_query.json")


def _table(client: Any, name: str, size: int) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for n in range(size):
        client.put_item(
            TableName=name,
            Item={
                "pk": {"S": "owner#plan"},
                "sk": {"S": f"plan-{n:08d}"},
                "gsi1pk": {"S": "owner"},
                "gsi1sk": {"S": f"{n:013d}"},
                "body": {"S": "x" * 500},
            },
        )


def _time(call: Any, queries: int) -> float:
    call()
    samples = []
    for _ in range(queries):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return round(percentile(samples, 50) * 1000, 2)


def measure(sizes: list[int], queries: int) -> list[dict[str, Any]]:
    moto_query.apply()
    moto_own = moto_query.original
    if moto_own is None:
        raise RuntimeError("devstack.moto_query.apply() did not keep moto's own Query")
    rows = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for size in sizes:
            name = f"bench-{size}"
            _table(client, name, size)
            calls = {
                "table": {
                    "KeyConditionExpression": "pk = :h",
                    "ExpressionAttributeValues": {":h": {"S": "owner#plan"}},
                },
                "gsi": {
                    "IndexName": "gsi1",
                    "KeyConditionExpression": "gsi1pk = :h",
                    "ExpressionAttributeValues": {":h": {"S": "owner"}},
                },
                "table, from near the end": {
                    "KeyConditionExpression": "pk = :h",
                    "ExpressionAttributeValues": {":h": {"S": "owner#plan"}},
                    "ExclusiveStartKey": {"pk": {"S": "owner#plan"}, "sk": {"S": f"plan-{size - 30:08d}"}},
                },
            }
            row: dict[str, Any] = {"items": size}
            for label, request in calls.items():
                query = {"TableName": name, "Limit": 21, **request}
                seek_ms = _time(lambda q=query: client.query(**q), queries)
                Table.query, patched = moto_own, Table.query
                try:
                    moto_ms = _time(lambda q=query: client.query(**q), max(5, queries // 5))
                finally:
                    Table.query = patched
                row[label] = {"moto_ms": moto_ms, "seek_ms": seek_ms}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,20000,50000")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rows = measure([int(s) for s in args.sizes.split(",")], args.queries)
    RESULT.write_text(json.dumps({"query_limit": 21, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
