"""The catalog context's composition root: the service, its store and index, ingestion, and the
stock steps the orders context takes stock through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.clients import Clients
from chalicelib.config import Settings
from chalicelib.roots import Root

# The service and its store import PynamoDB (and botocore): loaded when the context is built,
# not at cold start.
if TYPE_CHECKING:
    from chalicelib.catalog.indexer import ProductIndex
    from chalicelib.catalog.ingest import Ingestor
    from chalicelib.catalog.products import CatalogStorage
    from chalicelib.catalog.service import CatalogService
    from chalicelib.catalog.store import StockSteps


@dataclass(frozen=True)
class Ingestion:
    """Ingestors over the catalog's store and index, each keeping fetched pages in a directory."""

    store: CatalogStorage
    index: ProductIndex
    allow_private: bool

    def __call__(self, cache_dir: str | None = None) -> Ingestor:
        from chalicelib.catalog.ingest import DEFAULT_CACHE_DIR, HttpCache, Ingestor

        cache = HttpCache(Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR, allow_private=self.allow_private)
        return Ingestor(self.store, self.index, cache)


@dataclass(frozen=True)
class Catalog:
    service: CatalogService
    store: CatalogStorage
    index: ProductIndex
    ingestor: Ingestion
    # The port orders' transactions take and give back stock through.
    stock: StockSteps

    def rebuild_index(self) -> dict[str, Any]:
        """The product index again from the table (the local cloud rebuilds it at start)."""
        return self.index.rebuild(self.store.every_product())


def build(settings: Settings, clients: Clients, *, store: CatalogStorage | None = None) -> Catalog:
    from chalicelib.catalog.indexer import ProductIndex
    from chalicelib.catalog.resources import CATALOG_TABLE, PRODUCTS_INDEX
    from chalicelib.catalog.search import ProductSearch
    from chalicelib.catalog.service import CatalogService
    from chalicelib.catalog.store import CatalogItem, CatalogStore, StockSteps
    from chalicelib.catalog.summaries import Summaries
    from chalicelib.dynamo import bind

    if store is None:
        bind(CatalogItem, CATALOG_TABLE, settings)
        store = CatalogStore()
    alias = settings.resource_name(PRODUCTS_INDEX)
    # Totals and facets of the unfiltered listing, kept in Redis until the index changes.
    summaries = Summaries(clients.redis)
    index = ProductIndex(clients.opensearch, alias, summaries.changed)
    ingestor = Ingestion(store, index, settings.webhook_allow_private)
    service = CatalogService(store, ProductSearch(clients.opensearch, alias, summaries), ingestor())
    return Catalog(service=service, store=store, index=index, ingestor=ingestor, stock=StockSteps())


catalog: Root[Catalog] = Root("catalog")
