"""The seeking Query (devstack/moto_query.py) answers exactly as moto's own Query does.

Differential: random tables (string or number range keys, or none; a GSI with or without a
range key), random items written, updated and deleted between queries, and random queries over
the table and the GSI (every key-condition operator, Limit, ScanIndexForward, ExclusiveStartKey
from a previous page or made up, FilterExpression, ProjectionExpression, Select=COUNT) are
answered twice on the same data, by the seek and by moto, and every page of every answer must be
equal: items, their order, Count, ScannedCount and LastEvaluatedKey.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table

from devstack import moto_query

REGION = "us-east-1"
MAX_PAGES = 30
STRINGS = st.text(alphabet="abc", min_size=1, max_size=3)
NUMBERS = st.one_of(st.integers(-3, 8), st.decimals(-3, 8, places=1, allow_nan=False))


@pytest.fixture(scope="module")
def dynamodb() -> Any:
    moto_query.apply()
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def _value(kind: str, raw: Any) -> dict[str, str]:
    return {"S": raw} if kind == "S" else {"N": str(raw)}


@st.composite
def shapes(draw: Any) -> dict[str, Any]:
    return {
        "range": draw(st.sampled_from(["S", "N", None])),
        "gsi_hash": draw(st.sampled_from(["S", "N"])),
        "gsi_range": draw(st.sampled_from(["S", "N", None])),
    }


def _raw(draw: Any, kind: str) -> Any:
    return draw(STRINGS if kind == "S" else NUMBERS)


@st.composite
def items(draw: Any, shape: dict[str, Any]) -> dict[str, Any]:
    item = {"pk": {"S": draw(st.sampled_from(["p", "q", "r"]))}, "v": {"N": str(draw(st.integers(0, 9)))}}
    if shape["range"]:
        item["sk"] = _value(shape["range"], _raw(draw, shape["range"]))
    # Some items are not in the index: no hash attribute, or no range attribute.
    if draw(st.integers(0, 4)):
        item["gh"] = _value(
            shape["gsi_hash"], draw(st.sampled_from(["x", "y"]) if shape["gsi_hash"] == "S" else st.integers(1, 2))
        )
    if shape["gsi_range"] and draw(st.integers(0, 4)):
        item["gr"] = _value(shape["gsi_range"], _raw(draw, shape["gsi_range"]))
    if draw(st.booleans()):
        item["tag"] = {"S": draw(STRINGS)}
    return item


OPERATORS = ["none", "=", "<", "<=", ">", ">=", "between", "begins_with"]


@st.composite
def queries(draw: Any, shape: dict[str, Any]) -> dict[str, Any]:
    on_index = draw(st.booleans())
    range_kind = shape["gsi_range"] if on_index else shape["range"]
    hash_name, hash_kind = ("gh", shape["gsi_hash"]) if on_index else ("pk", "S")
    hash_raw = draw(
        st.sampled_from(["x", "y", "z"]) if hash_kind == "S" and on_index else st.sampled_from(["p", "q", "s"])
    )
    if hash_kind == "N":
        hash_raw = draw(st.integers(1, 3))
    values = {":h": _value(hash_kind, hash_raw)}
    condition = f"{hash_name} = :h"
    operator = draw(st.sampled_from(OPERATORS)) if range_kind else "none"
    if operator == "begins_with" and range_kind != "S":
        operator = "none"
    range_name = "gr" if on_index else "sk"
    if operator == "between":
        low, high = sorted([_raw(draw, range_kind), _raw(draw, range_kind)], key=Decimal if range_kind == "N" else str)
        values.update({":a": _value(range_kind, low), ":b": _value(range_kind, high)})
        condition += f" AND {range_name} BETWEEN :a AND :b"
    elif operator == "begins_with":
        values[":a"] = _value("S", draw(STRINGS))
        condition += f" AND begins_with({range_name}, :a)"
    elif operator != "none":
        values[":a"] = _value(range_kind, _raw(draw, range_kind))
        condition += f" AND {range_name} {operator} :a"
    request: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": draw(st.booleans()),
    }
    if on_index:
        request["IndexName"] = "gsi"
    if draw(st.booleans()):
        request["Limit"] = draw(st.integers(1, 4))
    if draw(st.integers(0, 3)) == 0:
        request["FilterExpression"] = "v > :f"
        values[":f"] = {"N": str(draw(st.integers(0, 9)))}
    choice = draw(st.integers(0, 5))
    if choice == 0:
        request["ProjectionExpression"] = "pk, v"
    elif choice == 1:
        request["Select"] = "COUNT"
    if draw(st.integers(0, 4)) == 0:
        # A start key that no page gave: anywhere in (or outside) the partition.
        start = {"pk": {"S": draw(st.sampled_from(["p", "q", "r"]))}}
        if shape["range"]:
            start["sk"] = _value(shape["range"], _raw(draw, shape["range"]))
        if on_index:
            start["gh"] = values[":h"]
            if shape["gsi_range"]:
                start["gr"] = _value(shape["gsi_range"], _raw(draw, shape["gsi_range"]))
        request["ExclusiveStartKey"] = start
    return request


@st.composite
def scenarios(draw: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    shape = draw(shapes())
    steps: list[tuple[str, Any]] = [("put", draw(items(shape))) for _ in range(draw(st.integers(0, 25)))]
    for _ in range(draw(st.integers(1, 6))):
        steps.append(("query", draw(queries(shape))))
        for _ in range(draw(st.integers(0, 4))):
            action = draw(st.sampled_from(["put", "update", "delete"]))
            steps.append((action, draw(items(shape))))
    return shape, steps


_names = itertools.count()


def _create(dynamodb: Any, shape: dict[str, Any]) -> str:
    name = f"differential-{next(_names)}"
    definitions = {"pk": "S", "gh": shape["gsi_hash"]}
    key_schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if shape["range"]:
        definitions["sk"] = shape["range"]
        key_schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    index_schema = [{"AttributeName": "gh", "KeyType": "HASH"}]
    if shape["gsi_range"]:
        definitions["gr"] = shape["gsi_range"]
        index_schema.append({"AttributeName": "gr", "KeyType": "RANGE"})
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
        KeySchema=key_schema,
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi", "KeySchema": index_schema, "Projection": {"ProjectionType": "ALL"}}
        ],
    )
    return name


def _key(shape: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in ("pk", "sk") if name in item and (name == "pk" or shape["range"])}


def _write(dynamodb: Any, table: str, shape: dict[str, Any], action: str, item: dict[str, Any]) -> None:
    if action == "put":
        dynamodb.put_item(TableName=table, Item=item)
    elif action == "delete":
        dynamodb.delete_item(TableName=table, Key=_key(shape, item))
    else:
        # An update that moves the item within (or out of, or into) the index.
        names, values, sets = {}, {}, []
        for attribute in ("gh", "gr", "v"):
            if attribute in item:
                names[f"#{attribute}"], values[f":{attribute}"] = attribute, item[attribute]
                sets.append(f"#{attribute} = :{attribute}")
        expression = f"SET {', '.join(sets)}" if sets else "REMOVE tag"
        kwargs = {"ExpressionAttributeNames": names, "ExpressionAttributeValues": values} if sets else {}
        dynamodb.update_item(TableName=table, Key=_key(shape, item), UpdateExpression=expression, **kwargs)


def _pages(dynamodb: Any, table: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a query, following LastEvaluatedKey (without ResponseMetadata)."""
    pages, request = [], {"TableName": table, **request}
    for _ in range(MAX_PAGES):
        page = dynamodb.query(**request)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            break
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    return pages


def _answers(dynamodb: Any, table: str, request: dict[str, Any], monkeypatch: Any) -> tuple[Any, Any]:
    seek = _pages(dynamodb, table, request)
    with monkeypatch.context() as moto_only:
        moto_only.setattr(Table, "query", moto_query.original)
        moto = _pages(dynamodb, table, request)
    return seek, moto


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_the_seek_answers_every_query_as_moto_does(dynamodb: Any, monkeypatch: Any, scenario: Any) -> None:
    shape, steps = scenario
    table = _create(dynamodb, shape)
    for action, argument in steps:
        if action == "query":
            seek, moto = _answers(dynamodb, table, argument, monkeypatch)
            assert seek == moto, argument
        else:
            _write(dynamodb, table, shape, action, argument)


def test_a_page_ends_at_a_megabyte_as_moto_ends_it(dynamodb: Any, monkeypatch: Any) -> None:
    shape = {"range": "N", "gsi_hash": "S", "gsi_range": "N"}
    table = _create(dynamodb, shape)
    for n in range(12):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(n)},
                "gh": {"S": "x"},
                "gr": {"N": str(n % 4)},
                "big": {"S": "x" * (90_000 * (1 + n % 4))},
            },
        )
    for request in (
        {"KeyConditionExpression": "pk = :h", "ExpressionAttributeValues": {":h": {"S": "p"}}},
        {
            "KeyConditionExpression": "pk = :h AND sk < :a",
            "ExpressionAttributeValues": {":h": {"S": "p"}, ":a": {"N": "6"}},
        },
        {
            "KeyConditionExpression": "pk = :h AND sk > :a",
            "ExpressionAttributeValues": {":h": {"S": "p"}, ":a": {"N": "2"}},
            "ScanIndexForward": False,
        },
        {"IndexName": "gsi", "KeyConditionExpression": "gh = :h", "ExpressionAttributeValues": {":h": {"S": "x"}}},
    ):
        seek, moto = _answers(dynamodb, table, request, monkeypatch)
        assert seek == moto
        assert len(seek) > 1, "the size limit split the answer into pages"


def test_a_long_partition_is_read_from_where_the_page_starts(dynamodb: Any) -> None:
    """The point of the seek: a page costs the same wherever it starts (checked by what it reads)."""
    shape = {"range": "S", "gsi_hash": "S", "gsi_range": None}
    table = _create(dynamodb, shape)
    for n in range(2000):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"{n:05d}"}})
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :h",
        "ExpressionAttributeValues": {":h": {"S": "p"}},
        "ExclusiveStartKey": {"pk": {"S": "p"}, "sk": {"S": "01500"}},
        "Limit": 20,
    }
    dynamodb.query(**request)  # the first query of a table sorts it once
    reads = []
    original_read = moto_query._read
    try:
        moto_query._read = lambda table, ref: reads.append(ref) or original_read(table, ref)
        page = dynamodb.query(**request)
    finally:
        moto_query._read = original_read
    assert [item["sk"]["S"] for item in page["Items"]] == [f"{n:05d}" for n in range(1501, 1521)]
    assert page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"S": "01520"}}
    assert len(reads) <= 21
