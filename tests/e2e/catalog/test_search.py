"""Search and listing over a small catalog of this module's own: relevance with typos, wildcards,
facets, filters, sorting and paging. Assertions are on sets, counts and facets, never scores."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.shop import admin_headers, ingest, searchable

TAG = uuid.uuid4().hex[:6]
PHONES, LAPTOPS, ACCESSORIES = f"smartphones-{TAG}", f"laptops-{TAG}", f"accessories-{TAG}"
BASE = 900_000_000 + uuid.uuid4().int % 1_000_000 * 10


def product(n: int, title: str, brand: str, category: str, price: float, stock: int) -> dict:
    return {"id": BASE + n, "title": title, "brand": brand, "category": category, "price": price, "stock": stock}


CATALOG = [
    product(1, "iPhone 15 Pro", "Apple", PHONES, 999.0, 5),
    product(2, "Galaxy S24", "Samsung", PHONES, 799.0, 9),
    product(3, "MacBook Pro", "Apple", LAPTOPS, 1999.0, 2),
    product(4, "ThinkPad X1 Laptop", "Lenovo", LAPTOPS, 1499.0, 4),
    product(5, "Wireless Headphones", "JBL", ACCESSORIES, 129.0, 7),
    product(6, "Leather Case", "Apple", ACCESSORIES, 19.5, 0),
]
for product in CATALOG:
    product.update(description=f"{product['title']} by {product['brand']}", tags=[product["category"]], rating=4.0)
ALL = f"{PHONES},{LAPTOPS},{ACCESSORIES}"


def ids(page) -> set[int]:
    return {product["id"] - BASE for product in page["items"]}


@pytest.fixture(scope="module", autouse=True)
def catalog(stack):
    from tests.e2e.conftest import Api

    with Api(stack.endpoints["api"]) as session:
        ingest(session, admin_headers(session), CATALOG)
        searchable(session, CATALOG)


def search(api, query: str, **params):
    response = api.get("/api/v1/products/search", params={"query": query, "category": ALL, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_one_typo_still_finds_the_product(api):
    assert ids(search(api, "iphnoe")) == {1}
    assert ids(search(api, "macbok")) == {3}


def test_words_may_match_different_fields(api):
    assert ids(search(api, "apple laptop")) == {3}
    assert ids(search(api, "lenovo")) == {4}
    assert ids(search(api, "smartphones")) == {1, 2}


def test_wildcards_match_partial_words(api):
    assert ids(search(api, "lapt*", use_wildcard="true")) == {3, 4}
    # A bare word matches inside words; the category name "smartphones" counts.
    assert ids(search(api, "*phone*", use_wildcard="true")) == {1, 2, 5}
    assert ids(search(api, "phone", use_wildcard="true")) == {1, 2, 5}
    assert ids(search(api, "lapt")) == set(), "without use_wildcard a fragment is not a word"


def test_facets_count_what_matched(api):
    page = search(api, "apple")
    assert ids(page) == {1, 3, 6} and page["total"] == 3
    assert page["facets"]["brands"] == [{"value": "Apple", "count": 3}]
    assert sorted((f["value"], f["count"]) for f in page["facets"]["categories"]) == [
        (ACCESSORIES, 1),
        (LAPTOPS, 1),
        (PHONES, 1),
    ]
    assert page["facets"]["price"] == {"min": 19.5, "max": 1999.0}


def test_filters_combine(api):
    assert ids(search(api, "apple", min_price=100)) == {1, 3}
    assert ids(search(api, "apple", max_price=100)) == {6}
    assert ids(search(api, "apple", in_stock="false")) == {6}
    listed = api.get("/api/v1/products", params={"category": ALL, "brand": "Apple,JBL", "min_price": 100}).json()
    assert ids(listed) == {1, 3, 5}


def test_sorting(api):
    def order(sort: str) -> list[int]:
        page = api.get("/api/v1/products", params={"category": ALL, "sort": sort}).json()
        return [product["id"] - BASE for product in page["items"]]

    assert order("price") == [6, 5, 2, 1, 4, 3]
    assert order("-price") == [3, 4, 1, 2, 5, 6]
    assert order("title") == [2, 1, 6, 3, 4, 5]
    assert order("id") == [1, 2, 3, 4, 5, 6]


def test_cursor_paging_visits_every_product_once(api):
    seen: list[int] = []
    params = {"category": ALL, "sort": "-price", "limit": 4}
    page = api.get("/api/v1/products", params=params).json()
    while True:
        seen += [product["id"] - BASE for product in page["items"]]
        if page["next"] is None:
            break
        page = api.get("/api/v1/products", params={**params, "cursor": page["next"]}).json()
    assert seen == [3, 4, 1, 2, 5, 6]
    offset = api.get("/api/v1/products", params={**params, "offset": 4}).json()
    assert [p["id"] - BASE for p in offset["items"]] == [5, 6] and offset["next"] is None
    first = api.get("/api/v1/products", params=params).json()
    other_sort = api.get("/api/v1/products", params={**params, "sort": "price", "cursor": first["next"]})
    assert other_sort.status_code == 400 and "another sort" in other_sort.json()["detail"]


def test_seed_paths_answer_the_same(api):
    assert ids(api.get("/api/products/search/", params={"q": "iphnoe", "category": ALL}).json()) == {1}
    assert ids(api.get("/api/products/", params={"category": PHONES}).json()) == {1, 2}
    assert api.get(f"/api/products/{BASE + 1}/").json()["title"] == "iPhone 15 Pro"


def test_bad_parameters_are_listed(api):
    bad = {"sort": "cheapest", "limit": "0", "min_price": "9", "max_price": "1"}
    response = api.get("/api/v1/products", params=bad)
    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"$.sort", "$.limit", "$.min_price"}
    assert api.get("/api/v1/products/search").status_code == 400
    assert api.get("/api/v1/products", params={"cursor": "garbage"}).status_code == 400
