"""Catalog ingestion throughput beside its raw backends, in one run on one fresh local cloud.

    .venv/bin/python -m bench.ingest [--products 10000] [--page-size 100]

Generates N DummyJSON-shaped products (devstack/demo_catalog.py) and measures, in items/s:

1. raw batch writes: boto3's `Table.batch_writer()` putting the same items into a scratch
   table shaped like the catalog's, stream on (BatchWriteItem, 25 per call, nothing else);
2. raw bulk indexing: opensearch-py `helpers.bulk` of the same documents into a scratch index;
3. ingestion: `chalicelib.catalog.ingest` of the list, i.e. schema checks, a BatchGetItem per
   page to compare with what is stored, BatchWriteItem of the changed ones, one versioned
   bulk request per page, while the table's stream handler runs beside it as in production;
4. the same ingestion again, where nothing changed (the idempotent re-run).

Prints the numbers and writes bench/ingest.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from devstack.demo_catalog import products
from tests.support.stack import start_stack

RESULT = Path(__file__).with_name("ingest.json")
SCRATCH = "bench-raw-products"


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def raw_batch_writes(items: list[dict[str, Any]]) -> float:
    import boto3

    from chalicelib.catalog.products import Product
    from chalicelib.catalog.resources import CATALOG_TABLE
    from chalicelib.config import get_settings
    from devstack.bootstrap import create_table

    # The catalog table's own shape, stream included: moto records a stream image per write.
    spec = dataclasses.replace(CATALOG_TABLE, key=SCRATCH)
    table = boto3.resource("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1").Table(
        create_table(spec, get_settings())["name"]
    )
    rows = []
    for item in items:
        product = Product.from_json(item["id"], item)
        rows.append(
            {
                "pk": f"PRODUCT#{product.id}",
                "sk": "PRODUCT",
                "product_id": product.id,
                "body": product.body_json(),
                "stock": product.stock,
                "version": 1,
            }
        )
    started = time.perf_counter()
    with table.batch_writer() as batch:
        for row in rows:
            batch.put_item(Item=row)
    return rate(len(rows), time.perf_counter() - started)


def raw_bulk(items: list[dict[str, Any]]) -> float:
    from opensearchpy import helpers

    from chalicelib import clients
    from chalicelib.catalog.products import Product
    from chalicelib.catalog.resources import PRODUCTS_INDEX
    from chalicelib.resources import SEARCH_INDEXES

    client = clients.opensearch()
    client.indices.create(index=SCRATCH, body={"mappings": SEARCH_INDEXES[PRODUCTS_INDEX].mappings})
    actions = [
        {"_index": SCRATCH, "_id": str(item["id"]), "_source": Product.from_json(item["id"], item).index_source()}
        for item in items
    ]
    started = time.perf_counter()
    helpers.bulk(client, actions, refresh=False)
    return rate(len(actions), time.perf_counter() - started)


def ingestion(items: list[dict[str, Any]], page_size: int) -> dict[str, Any]:
    from chalicelib.catalog.container import catalog

    report = catalog().ingestor().run(items, page_size=page_size)
    assert not report.skipped and not report.index_failures, report.to_json()
    return report.to_json()


def measure(count: int, page_size: int) -> dict[str, Any]:
    stack = start_stack()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=stack.endpoints["aws"],
            OPENSEARCH_URL=stack.endpoints["opensearch"],
            REDIS_URL=stack.endpoints["redis"],
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
        from chalicelib import composition

        composition.wire()
        items = products(count, seed=42)
        write_rate = raw_batch_writes(items)
        bulk_rate = raw_bulk(items)
        first = ingestion(items, page_size)
        again = ingestion(items, page_size)
    finally:
        stack.stop()
    return {
        "products": count,
        "page_size": page_size,
        "ingest_items_per_s": first["items_per_s"],
        "raw_batch_write_items_per_s": write_rate,
        "raw_bulk_index_items_per_s": bulk_rate,
        "ingest_rerun_unchanged_items_per_s": again["items_per_s"],
        # What ingestion costs against doing only its two writes, back to back.
        "ingest_over_raw_write_then_bulk": round(first["items_per_s"] * (1 / write_rate + 1 / bulk_rate), 3),
        "first_run": {k: first[k] for k in ("created", "updated", "unchanged", "indexed", "seconds")},
        "rerun": {k: again[k] for k in ("created", "updated", "unchanged", "indexed", "seconds")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    result = measure(args.products, args.page_size)
    print(f"ingest:            {result['ingest_items_per_s']:>9.1f} items/s")
    print(f"raw batch_writer:  {result['raw_batch_write_items_per_s']:>9.1f} items/s")
    print(f"raw helpers.bulk:  {result['raw_bulk_index_items_per_s']:>9.1f} items/s")
    print(f"ingest (unchanged):{result['ingest_rerun_unchanged_items_per_s']:>9.1f} items/s")
    RESULT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
