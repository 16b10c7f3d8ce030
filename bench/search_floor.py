"""The embedded search server's own cost of what the API asks it, as the data grows.

    .venv/bin/python -m bench.search_floor [--products 1000,10000,50000] [--plans 1000,10000]

`make bench-scale` times requests through the API; this sends the same bodies straight to
osmem-server (no API, no DynamoDB, no stream) on indexes bulk-loaded to each size, so the two
curves can be laid side by side. Catalog: the first page of the listing and the `laptop`
search, as ProductSearch builds them once totals and facets are cached. Plans (bench.scale's,
indexed by the stream indexer's own actions, chalicelib/documents/indexer.py): the has_child
search and the `copay` terms aggregation of bench.scale, each raw, with the owner filter
alone, and as chalicelib/documents/isolation.py sends it (filter context, the owner filter,
the tiebreak). Prints p50/p95 and writes bench/search_floor.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.event_latency import percentile
from bench.report import commit, machine
from bench.scale import HAS_CHILD, nth_plan
from tests.support.stack import start_stack

RESULT = Path(__file__).with_name("search_floor.json")
OWNER = "a" * 32
COPAYS = {"size": 0, "aggs": {"copays": {"terms": {"field": "copay", "size": 50}}}}


def timed(search: Callable[[], Any], samples: int) -> dict[str, float]:
    search()
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        search()
        seconds.append(time.perf_counter() - started)
    return {"p50_ms": round(percentile(seconds, 50) * 1000, 1), "p95_ms": round(percentile(seconds, 95) * 1000, 1)}


def _index(client: Any, key: str, mappings_of: str) -> str:
    from chalicelib.resources import SEARCH_INDEXES, SearchIndexSpec
    from chalicelib.search import ensure_index

    alias: str = ensure_index(SearchIndexSpec(key=key, mappings=SEARCH_INDEXES[mappings_of].mappings))["alias"]
    return alias


def _load(client: Any, alias: str, actions: list[dict[str, Any]]) -> None:
    from opensearchpy import helpers

    helpers.bulk(client, actions, chunk_size=2000, request_timeout=300)
    client.indices.refresh(index=alias)


def products(client: Any, sizes: list[int], samples: int) -> list[dict[str, Any]]:
    from chalicelib.catalog.products import Product
    from chalicelib.catalog.search import ProductSearch, SearchParams
    from devstack.demo_catalog import products as demo_products

    alias = _index(client, "floor-products", "catalog-products")
    bodies = {
        "first page": ProductSearch(lambda: None, alias).body(SearchParams.parse({"limit": "20"}), summary=False),
        "search laptop": ProductSearch(lambda: None, alias).body(
            SearchParams.parse({"query": "laptop", "limit": "20"}), summary=False
        ),
    }
    items, loaded, rows = demo_products(max(sizes), seed=7), 0, []
    for size in sizes:
        sources = [Product.from_json(item["id"], item).index_source() for item in items[loaded:size]]
        _load(client, alias, [{"_index": alias, "_id": str(s["id"]), "_source": s} for s in sources])
        loaded = size
        for name, body in bodies.items():
            rows.append(
                {
                    "kind": "products",
                    "items": size,
                    "what": name,
                    **timed(functools.partial(client.search, index=alias, body=body), samples),
                }
            )
            print(rows[-1], flush=True)
    return rows


def _plan_actions(alias: str, first: int, last: int) -> list[dict[str, Any]]:
    """The stream indexer's own actions for bench.scale's plans, sent to `alias`."""
    from chalicelib.documents.indexer import record_actions
    from tests.integration.test_document_indexer import image, record

    actions = []
    for n in range(first, last):
        document = nth_plan(n)
        planned = record_actions(record("INSERT", document["objectId"], new=image(document, 1, owner=OWNER)))
        assert planned is not None
        actions += [{**action, "_index": alias} for action in planned.actions]
    return actions


def plans(client: Any, sizes: list[int], samples: int) -> list[dict[str, Any]]:
    from chalicelib.documents.isolation import isolate, owner_filter

    alias = _index(client, "floor-plans", "documents-plan")
    loaded, rows = 0, []
    for size in sizes:
        _load(client, alias, _plan_actions(alias, loaded, size))
        loaded = size
        for name, body in (("has_child", HAS_CHILD), ("copay terms", COPAYS)):
            owner_only = {
                **body,
                "query": {"bool": {"filter": [body.get("query", {"match_all": {}}), owner_filter(OWNER)]}},
            }
            for variant, sent in (
                ("raw", body),
                ("owner filter", owner_only),
                ("as the API sends it", isolate(body, OWNER)),
            ):
                row = {"kind": "plans", "items": size, "what": f"{name}, {variant}"}
                rows.append({**row, **timed(functools.partial(client.search, index=alias, body=sent), samples)})
                print(rows[-1], flush=True)
    return rows


def _sizes(text: str) -> list[int]:
    return [int(size) for size in text.split(",") if size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", default="1000,10000,50000")
    parser.add_argument("--plans", default="1000,10000")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    measured_commit = commit()
    stack = start_stack()
    try:
        os.environ["OPENSEARCH_URL"] = stack.endpoints["opensearch"]
        from opensearchpy import OpenSearch

        import chalicelib.declarations  # noqa: F401  (fills the index declarations)

        client = OpenSearch(hosts=[stack.endpoints["opensearch"]], timeout=120)
        rows = products(client, _sizes(args.products), args.samples) + plans(client, _sizes(args.plans), args.samples)
    finally:
        stack.stop()
    report = {"machine": machine(), "commit": measured_commit, "rows": rows}
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {RESULT.name}")


if __name__ == "__main__":
    main()
