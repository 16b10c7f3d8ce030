"""Every route that answers 304, enumerated from the app's own route table, compares
If-None-Match weakly (RFC 9110 §13.1.2): the weak form of the current tag is a match, another
tag is not. A new conditional route fails here until it has a resource below."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

import app as application
from chalicelib.http.routing import route_meta
from tests.e2e.conftest import ADMIN, Api
from tests.e2e.shop import fresh_products, ingest
from tests.e2e.users import PASSWORD, login, register
from tests.support.plans import plan

PARAMETER = re.compile(r"\{(\w+)\}")


def conditional_paths() -> list[str]:
    paths = []
    for path, methods in sorted(application.app.routes.items()):
        entry = methods.get("GET")
        meta = route_meta(entry.view_function) if entry else None
        if meta is not None and 304 in meta.responses:
            paths.append(path)
    return paths


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def owned(stack) -> tuple[dict[str, str], dict[str, str]]:
    """(auth headers, a value for every path parameter): one resource of each conditional kind,
    all owned by one new account."""
    with Api(stack.endpoints["api"]) as api:
        username = register(api, "etag")
        user = login(api, username, PASSWORD)
        admin = login(api, ADMIN["username"], ADMIN["password"])
        document = plan()
        _created(api.post("/api/v1/plans", json=document, headers=user))
        service = {"objectId": f"svc-{uuid.uuid4().hex[:8]}", "objectType": "service", "_org": "x.org", "name": "Xray"}
        _created(api.post("/api/v1/services", json=service, headers=user))
        doc_type = f"etag-{uuid.uuid4().hex[:6]}"
        schema = {"type": "object", "required": ["objectId"], "properties": {"objectId": {"type": "string"}}}
        _created(api.post(f"/api/v1/schemas/{doc_type}", json=schema, headers=admin))
        _created(api.post(f"/api/v1/documents/{doc_type}", json={"objectId": "d1"}, headers=user))
        _, products = fresh_products(1, stock=5)
        ingest(api, admin, products)
        added = api.post("/api/v1/cart/add", json={"product_id": products[0]["id"]}, headers=user)
        assert added.status_code == 200, added.text
        order = _created(api.post("/api/v1/orders", headers=user))
        task = _created(api.post("/api/v1/tasks", json={"name": "etag", "run_now": True}, headers=user))
        widget = {"title": "all", "view": {"type": "stat", "stat": "count"}}
        dashboard = _created(api.post("/api/v1/dashboards", json={"name": "d", "widgets": [widget]}, headers=user))
        rule = {
            "name": "r",
            "query": {"level": ["error"]},
            "window": "1m",
            "comparison": ">",
            "threshold": 5,
            "channels": [{"type": "email", "to": f"{username}@example.com"}],
        }
        alert = _created(api.post("/api/v1/alerts", json=rule, headers=user))
    values = {
        "plan_id": document["objectId"],
        "service_id": service["objectId"],
        "doc_type": doc_type,
        "doc_id": "d1",
        "product_id": str(products[0]["id"]),
        "order_id": order["id"],
        "task_id": task["id"],
        "dashboard_id": dashboard["id"],
        "alert_id": alert["id"],
    }
    return user, values


def test_the_table_has_conditional_routes_of_every_kind() -> None:
    paths = conditional_paths()
    for prefix in ("plans", "services", "documents", "products", "orders", "tasks", "dashboards", "alerts"):
        assert any(f"/{prefix}/" in path for path in paths), prefix


@pytest.mark.parametrize("path", conditional_paths())
def test_if_none_match_compares_weakly(api, owned, path: str) -> None:
    headers, values = owned
    missing = set(PARAMETER.findall(path)) - set(values)
    assert not missing, f"{path}: give the module's fixture a resource for {missing}"
    url = PARAMETER.sub(lambda m: values[m.group(1)], path)
    first = api.get(url, headers=headers)
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert not etag.startswith("W/")

    def status(if_none_match: str) -> int:
        response = api.get(url, headers={**headers, "If-None-Match": if_none_match})
        if response.status_code == 304:
            assert response.content == b"" and response.headers["ETag"] == etag
        return response.status_code

    assert status(etag) == 304
    assert status(f"W/{etag}") == 304
    assert status(f'"other", W/{etag}') == 304
    assert status("*") == 304
    assert status('"other"') == 200
    assert status('W/"other"') == 200
