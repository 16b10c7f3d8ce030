"""The catalog's pure parts: search parameters and queries, cursors, stream records into index
writes, the versioned index writer against a fake client, and ingestion's sources and cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.catalog import ingest
from chalicelib.catalog.indexer import IndexWrite, ProductIndex, newest, write_of_record
from chalicelib.catalog.products import Product, category_name
from chalicelib.catalog.search import ProductSearch, SearchParams, decode_cursor, encode_cursor, text_clause
from chalicelib.catalog.summaries import Summaries
from chalicelib.errors import BadRequest, ValidationFailed

# -- search -------------------------------------------------------------------------------------


def test_parameters_parse_with_defaults_and_aliases() -> None:
    params = SearchParams.parse({"q": " iphone ", "category": "a,b,", "skip": "20", "use_wildcard": "TRUE"})
    assert (params.query, params.categories, params.offset, params.use_wildcard) == ("iphone", ("a", "b"), 20, True)
    assert (params.limit, params.sort_name) == (20, "relevance")
    assert SearchParams.parse({}).sort_name == "id"


def test_every_bad_parameter_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        SearchParams.parse({"limit": "500", "offset": "-1", "min_price": "5", "max_price": "1", "in_stock": "maybe"})
    assert {e.path for e in caught.value.errors} == {"$.limit", "$.offset", "$.min_price", "$.in_stock"}
    with pytest.raises(ValidationFailed) as caught:
        SearchParams.parse({"offset": "9990", "limit": "100"})
    assert [e.path for e in caught.value.errors] == ["$.offset"]


def test_every_word_must_match_somewhere_with_typos_forgiven() -> None:
    clause = text_clause("Apple iphnoe", use_wildcard=False)
    per_word = clause["bool"]["must"][0]["bool"]
    assert [c["multi_match"]["query"] for c in per_word["should"]] == ["apple", "iphnoe"]
    assert all(c["multi_match"]["fuzziness"] == "AUTO" for c in per_word["should"])
    assert per_word["minimum_should_match"] == 2
    # Long queries may miss a third of their words.
    assert text_clause("a b c d e f", False)["bool"]["must"][0]["bool"]["minimum_should_match"] == 4


def test_wildcard_words_are_patterns_and_bare_words_match_inside_words() -> None:
    clause = text_clause("Lapt* phone", use_wildcard=True)
    patterns = [c["bool"]["should"][0]["wildcard"]["title"]["value"] for c in clause["bool"]["must"]]
    assert patterns == ["lapt*", "*phone*"]
    with pytest.raises(BadRequest):
        text_clause("!!", use_wildcard=True)


def test_the_body_combines_filters_sort_facets_and_a_cursor() -> None:
    search = ProductSearch(lambda: None, "products")
    cursor = encode_cursor("-price", [10.0, 3], 40)
    body = search.body(
        SearchParams(categories=("a",), brands=("B",), min_price=1, in_stock=True, sort="-price", cursor=cursor)
    )
    assert body["query"]["bool"]["filter"] == [
        {"terms": {"category": ["a"]}},
        {"terms": {"brand": ["B"]}},
        {"range": {"price": {"gte": 1}}},
        {"term": {"in_stock": True}},
    ]
    assert body["sort"] == [{"price": "desc"}, {"id": "asc"}]
    assert body["search_after"] == [10.0, 3] and "from" not in body
    assert set(body["aggs"]) == {"categories", "brands", "price_min", "price_max"}


class FakeProductIndex:
    """An OpenSearch that answers every search with the same two hits, and notes each body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.total = 7

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        hits = [{"_source": {"id": n}, "sort": [n]} for n in (1, 2)]
        answer: dict[str, Any] = {"hits": {"hits": hits if body.get("size") else [], "total": {"value": -1}}}
        if body.get("track_total_hits"):
            answer["hits"]["total"]["value"] = self.total
        if "aggs" in body:
            answer["aggregations"] = {
                "categories": {"buckets": [{"key": "c", "doc_count": self.total}]},
                "brands": {"buckets": [{"key": "b", "doc_count": self.total}]},
                "price_min": {"value": 1.0},
                "price_max": {"value": 9.0},
            }
        return answer


@pytest.fixture
def summarised() -> tuple[ProductSearch, FakeProductIndex, Summaries, list[float]]:
    import fakeredis

    redis, now = fakeredis.FakeRedis(), [1000.0]
    summaries = Summaries(lambda: redis, clock=lambda: now[0])
    index = FakeProductIndex()
    return ProductSearch(lambda: index, "products", summaries), index, summaries, now


def test_total_and_facets_are_computed_once_per_index_change(summarised) -> None:
    search, index, summaries, now = summarised
    first = search.search(SearchParams(query="lamp", limit=2))
    again = search.search(SearchParams(query="lamp", limit=2, sort="price", cursor=encode_cursor("price", [2], 2)))
    assert [("aggs" in b, b["track_total_hits"]) for b in index.bodies] == [(True, True), (False, False)]
    assert (again["total"], again["facets"]) == (first["total"], first["facets"]) == (7, first["facets"])
    assert again["next"] == encode_cursor("price", [2], 4)
    assert first["facets"]["categories"] == [{"value": "c", "count": 7}]
    # Other matches are another question.
    search.search(SearchParams(query="lamp", brands=("b",)))
    assert "aggs" in index.bodies[-1]
    # The index changes: the next answer counts again.
    summaries.changed()
    index.total = 8
    now[0] += 5
    assert search.search(SearchParams(query="lamp"))["total"] == 8
    assert search.search(SearchParams(query="lamp"))["total"] == 8
    assert "aggs" not in index.bodies[-1]


def test_a_summary_computed_just_after_a_change_is_not_kept(summarised) -> None:
    search, index, summaries, now = summarised
    summaries.changed()
    now[0] += 1  # the index may not show the change yet
    search.search(SearchParams())
    search.search(SearchParams())
    assert all("aggs" in b for b in index.bodies)
    now[0] += 2
    search.search(SearchParams())
    search.search(SearchParams())
    assert "aggs" not in index.bodies[-1]


def test_category_counts_are_kept_too_and_redis_down_computes_everything() -> None:
    from redis.exceptions import ConnectionError as Down

    def down() -> Any:
        raise Down("no redis")

    index = FakeProductIndex()
    search = ProductSearch(lambda: index, "products", Summaries(down))
    assert search.search(SearchParams())["total"] == 7
    assert search.search(SearchParams())["total"] == 7
    assert search.category_counts() == {"c": 7}
    assert all("aggs" in b for b in index.bodies)


def test_every_index_change_is_announced_even_a_failed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from opensearchpy import helpers

    changes = []
    client = FakeSearchClient({})
    index = ProductIndex(lambda: client, "products", on_change=lambda: changes.append(1))
    monkeypatch.setattr(helpers, "bulk", lambda *_, **__: (0, []))
    index.apply([IndexWrite(1, 1, {"id": 1})])
    index.apply([])  # nothing to change
    assert changes == [1]

    def unreachable(*_: Any, **__: Any) -> Any:
        raise ConnectionError("down")

    monkeypatch.setattr(helpers, "bulk", unreachable)
    with pytest.raises(ConnectionError):
        index.apply([IndexWrite(2, 1, {"id": 2})])
    assert changes == [1, 1]


def test_cursors_round_trip_and_refuse_forgeries_and_other_sorts() -> None:
    assert decode_cursor(encode_cursor("price", [1.5, 7], 20), "price") == ([1.5, 7], 20)
    for bad in ("nonsense", encode_cursor("price", [1], 1)):
        with pytest.raises(BadRequest):
            decode_cursor(bad, "title")


# -- indexing -----------------------------------------------------------------------------------


def image(product_id: int, version: int, deleted: bool = False, **fields: Any) -> dict[str, Any]:
    return {
        "pk": {"S": f"PRODUCT#{product_id}"},
        "sk": {"S": "PRODUCT"},
        "product_id": {"N": str(product_id)},
        "body": {"S": json.dumps({"title": "Lamp", "category": "home", "price": 9.5, **fields})},
        "stock": {"N": "3"},
        "version": {"N": str(version)},
        "deleted": {"BOOL": deleted},
        "created_at": {"N": "1700000000.5"},
    }


def record(new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    keys = {name: (new or old)[name] for name in ("pk", "sk")}  # type: ignore[index]
    stream: dict[str, Any] = {"Keys": keys, "SequenceNumber": "1"}
    if new:
        stream["NewImage"] = new
    if old:
        stream["OldImage"] = old
    return {"eventName": "MODIFY", "dynamodb": stream}


def test_a_product_record_becomes_its_indexed_document() -> None:
    write = write_of_record(record(image(7, 4, brand="Lumen")))
    assert write is not None and (write.product_id, write.version) == (7, 4)
    assert write.source == {
        "id": 7,
        "title": "Lamp",
        "category": "home",
        "price": 9.5,
        "brand": "Lumen",
        "stock": 3,
        "in_stock": True,
        "created_at": 1700000000.5,
        "title_sort": "lamp",
    }


def test_tombstones_and_removals_delete_and_other_items_are_ignored() -> None:
    assert write_of_record(record(image(7, 5, deleted=True))) == IndexWrite(7, 5, None)
    assert write_of_record(record(None, old=image(7, 5))) == IndexWrite(7, 6, None)
    category = {"pk": {"S": "CATEGORY"}, "sk": {"S": "home"}, "name": {"S": "Home"}}
    assert write_of_record(record(category)) is None
    keys_only = {"pk": {"S": "PRODUCT#7"}, "sk": {"S": "PRODUCT"}}
    assert write_of_record(record(keys_only)) is None


def test_only_the_newest_write_per_product_counts() -> None:
    writes = [IndexWrite(1, 2, {}), IndexWrite(1, 5, None), IndexWrite(2, 1, {}), IndexWrite(1, 3, {})]
    assert sorted(newest(writes), key=lambda w: w.product_id) == [IndexWrite(1, 5, None), IndexWrite(2, 1, {})]


class FakeSearchClient:
    def __init__(self, versions: dict[str, int], failing: dict[str, int] | None = None) -> None:
        self.versions = versions
        self.failing = failing or {}
        self.bulk: list[dict[str, Any]] = []

    def mget(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "docs": [
                {"_id": d["_id"], "found": d["_id"] in self.versions, "_version": self.versions.get(d["_id"])}
                for d in body["docs"]
            ]
        }

    def bulk_response(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.bulk += actions
        return [
            {a["_op_type"]: {"_id": a["_id"], "status": self.failing[a["_id"]]}}
            for a in actions
            if a["_id"] in self.failing
        ]


@pytest.fixture
def fake_bulk(monkeypatch: pytest.MonkeyPatch):
    from opensearchpy import helpers

    monkeypatch.setattr(helpers, "bulk", lambda client, actions, **_: (0, client.bulk_response(list(actions))))


@pytest.mark.usefixtures("fake_bulk")
def test_writes_the_index_already_holds_are_not_sent() -> None:
    client = FakeSearchClient({"1": 4, "2": 1})
    failed = ProductIndex(lambda: client, "products").apply(
        [IndexWrite(1, 4, {"id": 1}), IndexWrite(2, 2, {"id": 2}), IndexWrite(3, 1, None)]
    )
    assert failed == set()
    assert [(a["_id"], a["_op_type"], a["version"], a["version_type"]) for a in client.bulk] == [
        ("2", "index", 2, "external_gte"),
        ("3", "delete", 1, "external"),
    ]


@pytest.mark.usefixtures("fake_bulk")
def test_conflicts_are_harmless_and_other_errors_fail_the_product() -> None:
    client = FakeSearchClient({}, failing={"1": 409, "2": 404, "3": 429})
    writes = [IndexWrite(1, 1, {}), IndexWrite(2, 1, None), IndexWrite(3, 1, {})]
    assert ProductIndex(lambda: client, "products").apply(writes) == {3}


# -- products and ingestion ---------------------------------------------------------------------


def test_content_hash_ignores_key_order_and_sees_stock() -> None:
    a = Product.from_json(1, {"title": "T", "price": 1, "stock": 2})
    b = Product.from_json(1, {"stock": 2, "price": 1, "title": "T"})
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != Product.from_json(1, {"title": "T", "price": 1, "stock": 3}).content_hash()
    assert category_name("home-decoration") == "Home Decoration"


def test_records_are_checked_against_the_product_schema_and_need_an_id() -> None:
    assert ingest.check_record({"id": 1, "title": "T", "category": "c", "price": 1}) == []
    assert ingest.check_record("text") == ["$: a product must be an object"]
    problems = ingest.check_record({"title": "T", "category": "Bad Slug", "price": -1})
    assert problems[0] == "$.id: the source id is required"
    assert {p.split(":")[0] for p in problems[1:]} == {"$.category", "$.price"}


def test_page_urls_keep_other_parameters() -> None:
    url = ingest.page_url("https://dummyjson.com/products?select=title&limit=5", 30, 60)
    assert url == "https://dummyjson.com/products?select=title&limit=30&skip=60"


class CountingCache(ingest.HttpCache):
    def __init__(self, directory: Path, pages: dict[str, Any]) -> None:
        super().__init__(directory)
        self.pages = pages
        self.fetched: list[str] = []

    def _fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return json.dumps(self.pages[url]).encode()


def test_a_url_is_read_page_by_page_through_the_disk_cache(tmp_path: Path) -> None:
    base = "http://shop.test/products"
    pages = {
        ingest.page_url(base, 2, 0): {"products": [1, 2], "total": 3},
        ingest.page_url(base, 2, 2): {"products": [3], "total": 3},
    }
    cache = CountingCache(tmp_path, pages)
    assert list(ingest.pages(base, cache, 2)) == [([1, 2], 3), ([3], 3)]
    assert len(cache.fetched) == 2 and cache.hits == 0
    assert cache.path(ingest.page_url(base, 2, 0)).exists()

    again = CountingCache(tmp_path, {})
    assert list(ingest.pages(base, again, 2)) == [([1, 2], 3), ([3], 3)]
    assert again.fetched == [] and again.hits == 2


def test_files_and_lists_are_sources_too(tmp_path: Path) -> None:
    path = tmp_path / "products.json"
    path.write_text(json.dumps({"products": [1, 2, 3]}))
    cache = CountingCache(tmp_path, {})
    assert list(ingest.pages(str(path), cache, 2)) == [([1, 2], 3), ([3], 3)]
    assert list(ingest.pages([1, 2, 3], cache, 5)) == [([1, 2, 3], 3)]
    path.write_text(json.dumps({"items": []}))
    with pytest.raises(BadRequest, match="not DummyJSON"):
        list(ingest.pages(str(path), cache, 2))
    with pytest.raises(BadRequest, match="cannot be read"):
        list(ingest.pages(str(tmp_path / "missing.json"), cache, 2))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Electronics", "electronics"),
        ("Home & Kitchen", "home-kitchen"),
        ("  Crème brûlée -- 2  ", "creme-brulee-2"),
        ("電子", ""),
        ("word " * 20, ("word-" * 12)[:59]),
    ],
)
def test_a_category_slug_derived_from_its_name(name, slug):
    from chalicelib.catalog.products import slugify

    assert slugify(name) == slug
