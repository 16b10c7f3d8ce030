"""Products into the `catalog-products` index: idempotent, ordered by the item's version.

Three writers feed the index: the table's stream (every catalog write), ingestion (its
batches, so a finished ingest is searchable), and the stock refresh after orders. Each
write carries the item's version as an external version, and a write whose version the
index already holds is not sent at all (one `mget` per batch): late or repeated writers are
harmless, and the stream does no work twice for what ingestion just indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib import batch, search
from chalicelib.catalog.products import Product, StoredProduct

PRODUCT_PREFIX = "PRODUCT#"
# A conflict means the index already holds a newer version; not-found, that a delete has nothing to do.
HARMLESS_STATUSES = {404, 409}


@dataclass(frozen=True)
class IndexWrite:
    product_id: int
    version: int
    # None removes the product from the index.
    source: dict[str, Any] | None


def write_of_product(product: Product, deleted: bool) -> IndexWrite:
    return IndexWrite(product.id, product.version, None if deleted else product.index_source())


def write_of_record(record: dict[str, Any]) -> IndexWrite | None:
    """The index write for one stream record of the catalog table (Lambda's shape); None for
    items that are not products (categories, the id counter)."""
    stream = record["dynamodb"]
    if not batch.image(stream["Keys"])["pk"].startswith(PRODUCT_PREFIX):
        return None
    new, old = batch.image(stream.get("NewImage")), batch.image(stream.get("OldImage"))
    if not new:
        # Removed outright (products are normally tombstoned): supersedes the last version.
        return IndexWrite(int(old["product_id"]), int(old["version"]) + 1, None)
    if "body" not in new:
        # Not a product's image: moto reports an UpdateItem that creates an item as a keys-only
        # INSERT followed by the full one (DynamoDB sends only the full one).
        return None
    product = Product.from_stored(
        int(new["product_id"]),
        new["body"],
        int(new["stock"]),
        int(new["version"]),
        float(new.get("created_at") or 0),
    )
    return write_of_product(product, bool(new.get("deleted")))


def newest(writes: Iterable[IndexWrite]) -> list[IndexWrite]:
    """One write per product: the one with the highest version."""
    latest: dict[int, IndexWrite] = {}
    for write in writes:
        if write.product_id not in latest or write.version >= latest[write.product_id].version:
            latest[write.product_id] = write
    return list(latest.values())


REBUILD_CHUNK = 500


class ProductIndex:
    def __init__(self, client: Callable[[], Any], alias: str, on_change: Callable[[], None] = lambda: None) -> None:
        self._client = client
        self.alias = alias
        # Told after every change the index took (the search's summaries start over).
        self._on_change = on_change

    def indexed_versions(self, product_ids: list[int]) -> dict[int, int]:
        if not product_ids:
            return {}
        docs = [{"_index": self.alias, "_id": str(product_id), "_source": False} for product_id in product_ids]
        found = self._client().mget(body={"docs": docs}).get("docs", [])
        return {int(doc["_id"]): int(doc["_version"]) for doc in found if doc.get("found")}

    def apply(self, writes: Iterable[IndexWrite]) -> set[int]:
        """Bring the index up to these writes; the ids of products whose write failed."""
        pending = newest(writes)
        indexed = self.indexed_versions([w.product_id for w in pending])
        actions = [self._action(w) for w in pending if indexed.get(w.product_id, 0) < w.version]
        if not actions:
            return set()
        try:
            errors = search.bulk(actions, self._client())
        finally:
            self._on_change()
        failed = set()
        for error in errors:
            ((_, detail),) = error.items()
            if detail.get("status") not in HARMLESS_STATUSES:
                failed.add(int(detail["_id"]))
        return failed

    def rebuild(self, stored: Iterable[StoredProduct]) -> dict[str, Any]:
        """Every stored product indexed at its stored version (a tombstone removes its product),
        in chunks; RuntimeError names how many could not be indexed."""
        pending: list[IndexWrite] = []
        products, failed = 0, set()
        for item in stored:
            pending.append(write_of_product(item.product, item.deleted))
            if len(pending) == REBUILD_CHUNK:
                failed |= self.apply(pending)
                products, pending = products + len(pending), []
        failed |= self.apply(pending)
        products += len(pending)
        if failed:
            raise RuntimeError(f"{len(failed)} of {products} products could not be indexed")
        return {"index": self.alias, "products": products}

    def _action(self, write: IndexWrite) -> dict[str, Any]:
        base = {"_index": self.alias, "_id": str(write.product_id), "version": write.version}
        if write.source is None:
            return {**base, "_op_type": "delete", "version_type": "external"}
        # gte: two writers racing with the same version (ingestion and the stream) rewrite harmlessly.
        return {**base, "_op_type": "index", "version_type": "external_gte", "_source": write.source}
