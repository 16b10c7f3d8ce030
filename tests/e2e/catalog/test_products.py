"""Categories and products over HTTP: administrator writes, public reads, and writes reaching the
index through the table's stream."""

from __future__ import annotations

import uuid

from tests.e2e.shop import admin_headers
from tests.e2e.users import new_user
from tests.support.stack import wait_for


def in_index(api, category: str) -> dict[int, dict]:
    page = api.get("/api/v1/products", params={"category": category}).json()
    return {product["id"]: product for product in page["items"]}


def category_count(api, slug: str) -> int | None:
    listed = api.get("/api/v1/categories").json()["items"]
    return next(c["product_count"] for c in listed if c["slug"] == slug)


def test_a_product_lifecycle_reaches_the_index_through_the_stream(api):
    admin = admin_headers(api)
    slug = f"gadgets-{uuid.uuid4().hex[:6]}"
    created = api.post("/api/v1/categories", json={"slug": slug, "name": "Gadgets"}, headers=admin)
    assert created.status_code == 201 and created.headers["Location"] == f"/api/v1/categories/{slug}"
    assert api.post("/api/v1/categories", json={"slug": slug, "name": "Again"}, headers=admin).status_code == 409

    product = {"title": "Pocket Torch", "category": slug, "price": 12.5, "stock": 4, "brand": "Lumen"}
    response = api.post("/api/v1/products", json=product, headers=admin)
    assert response.status_code == 201, response.text
    product_id = response.json()["id"]
    assert response.headers["Location"] == f"/api/v1/products/{product_id}"
    assert wait_for(lambda: in_index(api, slug).get(product_id))["title"] == "Pocket Torch"
    assert category_count(api, slug) == 1

    read = api.get(f"/api/v1/products/{product_id}")
    assert read.json() == {"id": product_id, **product}
    assert api.get(f"/api/v1/products/{product_id}", headers={"If-None-Match": read.headers["ETag"]}).status_code == 304

    patched = api.patch(f"/api/v1/products/{product_id}", json={"price": 9.99, "brand": None}, headers=admin)
    assert patched.status_code == 200 and "brand" not in patched.json()
    assert patched.headers["ETag"] != read.headers["ETag"]
    wait_for(lambda: in_index(api, slug)[product_id]["price"] == 9.99)

    replaced = api.put(f"/api/v1/products/{product_id}", json={**product, "title": "Torch XL"}, headers=admin)
    assert replaced.status_code == 200 and replaced.json()["title"] == "Torch XL"
    wait_for(lambda: in_index(api, slug)[product_id]["title"] == "Torch XL")

    assert api.delete(f"/api/v1/categories/{slug}", headers=admin).status_code == 409
    assert api.delete(f"/api/v1/products/{product_id}", headers=admin).status_code == 204
    assert api.get(f"/api/v1/products/{product_id}").status_code == 404
    assert api.delete(f"/api/v1/products/{product_id}", headers=admin).status_code == 404
    wait_for(lambda: not in_index(api, slug))
    assert api.delete(f"/api/v1/categories/{slug}", headers=admin).status_code == 204


def test_ids_given_on_create_are_kept_and_not_reused(api):
    admin = admin_headers(api)
    slug = f"tools-{uuid.uuid4().hex[:6]}"
    api.post("/api/v1/categories", json={"slug": slug, "name": "Tools"}, headers=admin)
    product_id = 800_000_000 + uuid.uuid4().int % 100_000_000
    body = {"id": product_id, "title": "Hammer", "category": slug, "price": 20}
    assert api.post("/api/v1/products", json=body, headers=admin).json()["id"] == product_id
    assert api.post("/api/v1/products", json=body, headers=admin).status_code == 409
    renamed = api.put(f"/api/v1/categories/{slug}", json={"name": "Hand tools"}, headers=admin)
    assert renamed.json() == {"slug": slug, "name": "Hand tools"}


def test_writes_are_for_administrators_and_validated(api):
    admin, user = admin_headers(api), new_user(api, "browser")
    body = {"title": "Thing", "category": "laptops", "price": 1}
    assert api.post("/api/v1/products", json=body).status_code == 401
    assert api.post("/api/v1/products", json=body, headers=user).status_code == 403
    assert api.post("/api/v1/categories", json={"slug": "x", "name": "X"}, headers=user).status_code == 403

    invalid = api.post("/api/v1/products", json={"title": "", "price": -1, "category": "Not A Slug"}, headers=admin)
    assert invalid.status_code == 400
    assert {e["path"] for e in invalid.json()["errors"]} == {"$.title", "$.price", "$.category"}
    unknown = api.post("/api/v1/products", json={**body, "category": "no-such-category"}, headers=admin)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["path"] == "$.category"

    assert api.get("/api/v1/products/not-a-number").status_code == 404
    assert api.get("/api/v1/products/123456789012345").status_code == 404
    assert api.put("/api/v1/products/5", json={**body, "id": 6}, headers=admin).status_code == 400
    assert api.patch("/api/v1/products/123456789012345", json={}, headers=admin).status_code == 404
    assert api.put("/api/v1/categories/no-such-category", json={"name": "N"}, headers=admin).status_code == 404


def test_categories_list_at_the_seed_path(api):
    slug = f"garden-{uuid.uuid4().hex[:6]}"
    api.post("/api/v1/categories", json={"slug": slug, "name": "Garden"}, headers=admin_headers(api))
    listed = {c["slug"]: c for c in api.get("/api/categories/").json()["items"]}
    url = f"/api/v1/products?category={slug}"
    assert listed[slug] == {"slug": slug, "name": "Garden", "product_count": 0, "url": url}
