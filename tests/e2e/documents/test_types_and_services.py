"""Services (standalone and inside plans) and document types registered at run time."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import ADMIN
from tests.e2e.users import login, new_user
from tests.support.plans import plan
from tests.support.stack import wait_for


@pytest.fixture(scope="module")
def carol(stack):
    from tests.e2e.conftest import Api

    with Api(stack.endpoints["api"]) as session:
        return new_user(session, "carol")


@pytest.fixture(scope="module")
def admin(stack):
    from tests.e2e.conftest import Api

    with Api(stack.endpoints["api"]) as session:
        return login(session, ADMIN["username"], ADMIN["password"])


def test_standalone_services_have_the_same_verbs(api, carol):
    service = {"objectId": f"svc-{uuid.uuid4().hex[:8]}", "objectType": "service", "_org": "x.org", "name": "Xray"}
    created = api.post("/api/v1/services", json=service, headers=carol)
    assert created.status_code == 201 and created.headers["Location"] == f"/api/v1/services/{service['objectId']}"
    url = created.headers["Location"]
    patched = api.patch(url, json={"name": "X-ray"}, headers={**carol, "If-Match": created.headers["ETag"]})
    assert patched.status_code == 200 and patched.json()["name"] == "X-ray"
    assert api.post("/api/v1/services", json={**service, "name": ""}, headers=carol).status_code in (400, 409)
    assert api.delete(url, headers={**carol, "If-Match": patched.headers["ETag"]}).status_code == 204
    assert api.get(url, headers=carol).status_code == 404


def test_a_service_inside_a_plan_can_be_read_by_its_id(api, carol):
    document = plan(services=(("Nutrition counselling", 3),))
    assert api.post("/api/v1/plans", json=document, headers=carol).status_code == 201
    service = document["linkedPlanServices"][0]["linkedService"]
    url = f"/api/v1/services/{service['objectId']}"
    response = wait_for(lambda: (r := api.get(url, headers=carol)).status_code == 200 and r)
    assert response.json() == service
    assert response.headers["X-Contained-In"] == f"/api/v1/plans/{document['objectId']}"


def test_an_administrator_registers_a_type_that_then_has_full_crud(api, admin, carol):
    doc_type = f"clinic-{uuid.uuid4().hex[:6]}"
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["objectId", "name", "beds"],
        "properties": {
            "objectId": {"type": "string"},
            "_org": {"type": "string"},
            "name": {"type": "string"},
            "beds": {"type": "integer", "minimum": 0},
            "wards": {"type": "array", "items": {"type": "object"}},
        },
    }
    assert api.post(f"/api/v1/schemas/{doc_type}", json=schema, headers=carol).status_code == 403
    registered = api.post(f"/api/v1/schemas/{doc_type}", json=schema, headers=admin)
    assert registered.status_code == 201, registered.text
    assert api.post(f"/api/v1/schemas/{doc_type}", json=schema, headers=admin).status_code == 409
    assert api.post("/api/v1/schemas/plan", json=schema, headers=admin).status_code == 409
    assert api.get(f"/api/v1/schemas/{doc_type}", headers=carol).json() == schema

    base = f"/api/v1/documents/{doc_type}"
    clinic = {"objectId": "c1", "_org": "care.example", "name": "North", "beds": 10, "wards": [{"objectId": "w1"}]}
    assert api.post(base, json={**clinic, "beds": -1}, headers=carol).status_code == 400
    created = api.post(base, json=clinic, headers=carol)
    assert created.status_code == 201
    item = f"{base}/c1"
    assert api.get(item, headers={**carol, "If-None-Match": created.headers["ETag"]}).status_code == 304
    patch = {"wards": [{"objectId": "w2", "floor": 2}]}
    merged = api.patch(item, json=patch, headers={**carol, "If-Match": created.headers["ETag"]})
    assert merged.status_code == 200
    assert merged.json()["wards"] == [{"objectId": "w1"}, {"objectId": "w2", "floor": 2}]
    assert [d["objectId"] for d in api.get(base, headers=carol).json()["items"]] == ["c1"]
    found = wait_for(
        lambda: api.post(
            f"/api/v1/search?type={doc_type}", json={"query": {"match": {"name": "north"}}}, headers=carol
        ).json()["hits"]["hits"]
    )
    assert [hit["_id"] for hit in found] == ["c1"]
    assert api.delete(item, headers=carol).status_code == 204


def test_unknown_types_and_bad_schemas_are_refused(api, admin, carol):
    assert api.get("/api/v1/documents/nosuchtype", headers=carol).status_code == 404
    assert api.post("/api/v1/schemas/Bad_Name", json={"type": "object"}, headers=admin).status_code == 400
    not_a_schema = {"type": "object", "properties": {"objectId": {"type": 12}}}
    response = api.post(f"/api/v1/schemas/t-{uuid.uuid4().hex[:6]}", json=not_a_schema, headers=admin)
    assert response.status_code == 400 and response.json()["errors"]
