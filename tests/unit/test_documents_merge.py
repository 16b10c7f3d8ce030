"""merge_patch (RFC 7396 exactly) and merge_by_object_id (the application/json PATCH merge)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.documents.merge import merge_by_object_id
from chalicelib.merge_patch import merge_patch

# RFC 7396 appendix A, verbatim: (original, patch, result).
RFC_7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC_7396_EXAMPLES)
def test_merge_patch_matches_rfc_7396_appendix_a(original: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(original, patch) == expected


def test_merge_patch_rfc_7396_section_3_example() -> None:
    original = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]}
    assert merge_patch(original, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_merge_patch_mutates_neither_input_nor_shares_with_them() -> None:
    original = {"a": {"b": [1, 2]}, "keep": {"x": [1]}}
    patch = {"a": {"c": {"d": [3]}}, "drop": None}
    before = copy.deepcopy((original, patch))
    merged = merge_patch(original, patch)
    assert (original, patch) == before
    merged["keep"]["x"].append(9)
    merged["a"]["c"]["d"].append(9)
    assert (original, patch) == before


PLAN: dict[str, Any] = {
    "planCostShares": {"deductible": 2000, "copay": 23, "objectId": "pcs-1", "objectType": "membercostshare"},
    "linkedPlanServices": [
        {
            "linkedService": {"objectId": "svc-1", "objectType": "service", "name": "Yearly physical"},
            "planserviceCostShares": {"deductible": 10, "copay": 0, "objectId": "pscs-1"},
            "objectId": "ps-1",
            "objectType": "planservice",
        },
        {"objectId": "ps-2", "objectType": "planservice", "linkedService": {"objectId": "svc-2", "name": "Well baby"}},
    ],
    "objectId": "plan-1",
    "objectType": "plan",
    "planType": "inNetwork",
}


def test_merge_by_object_id_merges_matching_items_in_place_and_appends_new_ones() -> None:
    patch = {
        "linkedPlanServices": [
            {"objectId": "ps-3", "objectType": "planservice"},
            {"objectId": "ps-1", "planserviceCostShares": {"copay": 5}},
        ]
    }
    merged = merge_by_object_id(PLAN, patch)
    services = merged["linkedPlanServices"]
    assert [s["objectId"] for s in services] == ["ps-1", "ps-2", "ps-3"]
    assert services[0]["planserviceCostShares"] == {"deductible": 10, "copay": 5, "objectId": "pscs-1"}
    assert services[0]["linkedService"] == PLAN["linkedPlanServices"][0]["linkedService"]
    assert services[1] == PLAN["linkedPlanServices"][1]
    assert services[2] == {"objectId": "ps-3", "objectType": "planservice"}


def test_merge_by_object_id_keeps_target_order_and_appends_in_patch_order() -> None:
    target = {"items": [{"objectId": "a"}, {"objectId": "b"}, {"objectId": "c"}]}
    patch = {"items": [{"objectId": "e"}, {"objectId": "c", "v": 3}, {"objectId": "d"}, {"objectId": "a", "v": 1}]}
    assert merge_by_object_id(target, patch)["items"] == [
        {"objectId": "a", "v": 1},
        {"objectId": "b"},
        {"objectId": "c", "v": 3},
        {"objectId": "e"},
        {"objectId": "d"},
    ]


def test_merge_by_object_id_merges_nested_objects_and_overrides_scalars() -> None:
    merged = merge_by_object_id(PLAN, {"planType": "outOfNetwork", "planCostShares": {"copay": 30}})
    assert merged["planType"] == "outOfNetwork"
    assert merged["planCostShares"] == {**PLAN["planCostShares"], "copay": 30}
    assert merged["linkedPlanServices"] == PLAN["linkedPlanServices"]


@pytest.mark.parametrize(
    ("target", "patch"),
    [
        ({"tags": [1, 2, 3]}, {"tags": [4]}),
        ({"tags": [{"objectId": "a"}]}, {"tags": [{"name": "no id"}]}),
        ({"tags": [{"objectId": "a"}]}, {"tags": [{"objectId": "b"}, "mixed"]}),
        ({"tags": [{"objectId": "a"}]}, {"tags": []}),
        ({"tags": "scalar"}, {"tags": [{"objectId": "a"}]}),
    ],
)
def test_merge_by_object_id_replaces_arrays_it_cannot_merge_by_id(target: Any, patch: Any) -> None:
    assert merge_by_object_id(target, patch) == patch


def test_merge_by_object_id_null_sets_null_instead_of_deleting() -> None:
    merged = merge_by_object_id({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"c": None}, "n": None})
    assert merged == {"a": None, "b": {"c": None}, "n": None}


def test_merge_by_object_id_mutates_neither_input_nor_shares_with_them() -> None:
    patch = {"linkedPlanServices": [{"objectId": "ps-9", "tags": ["x"]}, {"objectId": "ps-2", "extra": {"k": 1}}]}
    before = copy.deepcopy((PLAN, patch))
    merged = merge_by_object_id(PLAN, patch)
    assert (PLAN, patch) == before
    merged["planCostShares"]["copay"] = -1
    merged["linkedPlanServices"][0]["linkedService"]["name"] = "changed"
    merged["linkedPlanServices"][1]["extra"]["k"] = 2
    merged["linkedPlanServices"][2]["tags"].append("y")
    assert (PLAN, patch) == before
