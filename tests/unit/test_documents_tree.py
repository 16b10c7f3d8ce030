"""flatten / object_ids: a plan as parent-child documents for OpenSearch's join field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.documents.tree import JOIN_FIELD, RELATIONS, IndexDoc, flatten, object_ids
from tests.support.plans import SAMPLE_PLAN, SAMPLE_PLAN_ID

PLAN_ID = SAMPLE_PLAN_ID

SECOND_SERVICE: dict[str, Any] = {
    "linkedService": {"_org": "example.com", "objectId": "svc-505", "objectType": "service", "name": "Well baby"},
    "planserviceCostShares": {
        "deductible": 10,
        "_org": "example.com",
        "copay": 175,
        "objectId": "pscs-506",
        "objectType": "membercostshare",
    },
    "_org": "example.com",
    "objectId": "ps-507",
    "objectType": "planservice",
}


def by_id(docs: list[IndexDoc]) -> dict[str, IndexDoc]:
    return {doc.id: doc for doc in docs}


def test_sample_plan_flattens_to_five_documents_with_relations_and_parents() -> None:
    docs = flatten(SAMPLE_PLAN)
    assert [(d.id, d.relation, d.parent) for d in docs] == [
        (PLAN_ID, "plan", None),
        ("1234vxc2324sdf-501", "planCostShares", PLAN_ID),
        ("27283xvx9asdff-504", "linkedPlanServices", PLAN_ID),
        ("1234520xvc30asdf-502", "linkedService", "27283xvx9asdff-504"),
        ("1234512xvc1314asdf-502", "planserviceCostShares", "27283xvx9asdff-504"),
    ]
    assert {d.routing for d in docs} == {PLAN_ID}


def test_sources_drop_child_properties_and_carry_the_join_field() -> None:
    docs = by_id(flatten(SAMPLE_PLAN))
    assert docs[PLAN_ID].source == {
        "_org": "example.com",
        "objectId": PLAN_ID,
        "objectType": "plan",
        "planType": "inNetwork",
        "creationDate": "12-12-2017",
        JOIN_FIELD: {"name": "plan"},
    }
    assert docs["27283xvx9asdff-504"].source == {
        "_org": "example.com",
        "objectId": "27283xvx9asdff-504",
        "objectType": "planservice",
        JOIN_FIELD: {"name": "linkedPlanServices", "parent": PLAN_ID},
    }
    assert docs["1234520xvc30asdf-502"].source == {
        **SAMPLE_PLAN["linkedPlanServices"][0]["linkedService"],
        JOIN_FIELD: {"name": "linkedService", "parent": "27283xvx9asdff-504"},
    }
    assert docs["1234vxc2324sdf-501"].source[JOIN_FIELD] == {"name": "planCostShares", "parent": PLAN_ID}


def test_plan_with_two_planservices() -> None:
    plan = {**SAMPLE_PLAN, "linkedPlanServices": [*SAMPLE_PLAN["linkedPlanServices"], SECOND_SERVICE]}
    docs = by_id(flatten(plan))
    assert len(docs) == 8
    assert docs["ps-507"].parent == PLAN_ID
    assert docs["ps-507"].relation == "linkedPlanServices"
    assert (docs["svc-505"].relation, docs["svc-505"].parent) == ("linkedService", "ps-507")
    assert (docs["pscs-506"].relation, docs["pscs-506"].parent) == ("planserviceCostShares", "ps-507")
    assert {d.routing for d in docs.values()} == {PLAN_ID}


def test_object_ids_are_the_ids_flatten_produces() -> None:
    assert object_ids(SAMPLE_PLAN) == {
        PLAN_ID,
        "1234vxc2324sdf-501",
        "27283xvx9asdff-504",
        "1234520xvc30asdf-502",
        "1234512xvc1314asdf-502",
    }
    assert object_ids(SAMPLE_PLAN) == {d.id for d in flatten(SAMPLE_PLAN)}


def test_flatten_does_not_mutate_the_document_or_share_with_it() -> None:
    plan = {**copy.deepcopy(SAMPLE_PLAN), "tags": ["a"]}
    before = copy.deepcopy(plan)
    docs = flatten(plan)
    assert plan == before
    docs[0].source["tags"].append("b")
    assert plan == before


def test_missing_object_id_under_a_relation_names_the_path() -> None:
    plan = copy.deepcopy(SAMPLE_PLAN)
    plan["linkedPlanServices"].append(copy.deepcopy(SECOND_SERVICE))
    del plan["linkedPlanServices"][1]["linkedService"]["objectId"]
    with pytest.raises(ValueError, match=r"^\$\.linkedPlanServices\[1\]\.linkedService: "):
        flatten(plan)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({**SAMPLE_PLAN, "objectType": "service"}, "$"),
        ({**SAMPLE_PLAN, "objectId": ""}, "$"),
        ({**SAMPLE_PLAN, "planCostShares": "not an object"}, "$.planCostShares"),
        ({**SAMPLE_PLAN, "linkedPlanServices": [SAMPLE_PLAN["linkedPlanServices"][0]] * 2}, "$.linkedPlanServices[1]"),
        ({**SAMPLE_PLAN, JOIN_FIELD: "taken"}, f"$.{JOIN_FIELD}"),
    ],
    ids=["root-not-a-plan", "root-without-id", "child-not-an-object", "duplicate-object-id", "join-field-taken"],
)
def test_malformed_trees_raise_value_error_with_the_path(document: Any, path: str) -> None:
    with pytest.raises(ValueError) as caught:
        flatten(document)
    assert str(caught.value).startswith(f"{path}: ")


def test_null_child_property_holds_no_children_and_is_dropped() -> None:
    docs = flatten({**SAMPLE_PLAN, "planCostShares": None, "linkedPlanServices": []})
    assert [(d.id, d.source) for d in docs] == [
        (PLAN_ID, {k: v for k, v in SAMPLE_PLAN.items() if k not in RELATIONS["plan"]} | {JOIN_FIELD: {"name": "plan"}})
    ]


def test_generic_relations_keep_non_relation_objects_in_the_source() -> None:
    order = {
        "objectId": "o-1",
        "objectType": "order",
        "address": {"city": "Boston"},
        "lines": [{"objectId": "l-1", "sku": "x", "discounts": [{"objectId": "d-1", "pct": 5}]}],
        "notes": [{"text": "no relation, kept as-is"}],
    }
    docs = flatten(order, root_relation="order", relations={"order": ["lines"], "lines": ["discounts"]})
    assert [(d.id, d.relation, d.parent, d.routing) for d in docs] == [
        ("o-1", "order", None, "o-1"),
        ("l-1", "lines", "o-1", "o-1"),
        ("d-1", "discounts", "l-1", "o-1"),
    ]
    assert docs[0].source == {
        "objectId": "o-1",
        "objectType": "order",
        "address": {"city": "Boston"},
        "notes": [{"text": "no relation, kept as-is"}],
        JOIN_FIELD: {"name": "order"},
    }
    assert docs[1].source == {"objectId": "l-1", "sku": "x", JOIN_FIELD: {"name": "lines", "parent": "o-1"}}
