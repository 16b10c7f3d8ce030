"""The shop seed (DRF, DummyJSON catalog): its paths and bodies as this repository documents
them (README's commerce walkthrough, docs/catalog.md and docs/orders.md seed paths), sent as
JSON and as the DRF form bodies its clients send."""

from __future__ import annotations

from tests.compat.accounts import bearer, fresh

JSON = "-H 'Content-Type: application/json'"


def test_catalog_reads_at_the_seed_paths(curl, catalog):
    listed = curl("curl $B/api/products/")
    assert listed.status_code == 200 and {p["id"] for p in listed.json()["items"]} >= set(catalog)
    assert curl("curl $B/api/products/1/").json() == catalog[1].json()
    found = curl("curl '$B/api/products/search/?q=iphone'").json()
    assert catalog[1].json()["title"] in [p["title"] for p in found["items"]]
    assert curl("curl $B/api/categories/").status_code == 200


def test_a_category_from_its_name_alone(curl, admin):
    name = fresh("Electronics ")
    line = f"""curl -X POST $B/api/categories/ {JSON} -H "Authorization: $A" -d '{{"name": "{name}"}}'"""
    created = curl(line, A=admin["Authorization"])
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == name.lower().replace(" ", "-")
    assert curl(line, A=admin["Authorization"]).status_code == 409
    # A DRF form does the same.
    form = curl(
        f"curl -X POST $B/api/categories/ -H 'Authorization: $A' -d 'name=Home+%26+{name}'", A=admin["Authorization"]
    )
    assert form.status_code == 201 and form.json()["slug"] == f"home-{name.lower().replace(' ', '-')}"


def test_an_admin_creates_a_product_from_a_form(curl, admin, catalog):
    created = curl(
        "curl -X POST $B/api/products/ -H 'Authorization: $A' "
        "-d 'title=Desk lamp&category=smartphones&price=1200.00&stock=5&tags=lamp&tags=desk'",
        A=admin["Authorization"],
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["price"], product["stock"], product["tags"]) == (1200.0, 5, ["lamp", "desk"])


def test_cart_order_and_payment_at_the_seed_paths(curl, catalog):
    auth = bearer(curl, fresh("shopper"))["Authorization"]
    added = curl(
        f"""curl -X POST $B/api/cart/add/ {JSON} -H "Authorization: $A" -d '{{"product_id": 1, "quantity": 1}}'""",
        A=auth,
    )
    assert added.status_code == 200, added.text
    # DRF's test client and HTML forms send the same as form fields.
    form = curl("curl -X POST $B/api/cart/add/ -H 'Authorization: $A' -d 'product_id=2&quantity=2'", A=auth)
    assert form.status_code == 200, form.text
    assert {line["product_id"]: line["quantity"] for line in form.json()["items"]} == {1: 1, 2: 2}
    assert curl('curl $B/api/cart/ -H "Authorization: $A"', A=auth).status_code == 200
    order = curl('curl -X POST $B/api/orders/create/ -H "Authorization: $A"', A=auth)
    assert order.status_code == 201, order.text
    pay = f"""curl -X POST $B/api/payments/process/ {JSON} -H "Authorization: $A" -d '{{"order_id": "$O", "payment_method_id": "pm_card_visa"}}'"""
    # Payments need an Idempotency-Key (deliberate, documented): the seed's line without one is a 400.
    assert curl(pay, A=auth, O=order.json()["id"]).status_code == 400
    keyed = pay.replace(JSON, f"{JSON} -H 'Idempotency-Key: pay-$O'")
    paid = curl(keyed, A=auth, O=order.json()["id"])
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded"
    history = curl('curl $B/api/orders/ -H "Authorization: $A"', A=auth).json()
    assert [o["status"] for o in history["items"]] == ["paid"]
