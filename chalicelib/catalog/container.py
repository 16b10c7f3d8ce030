"""Builds the catalog's services from settings, once per process and on first use."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chalicelib import clients
from chalicelib.catalog.resources import PRODUCTS_INDEX
from chalicelib.config import get_settings

# The service and its store import PynamoDB (and botocore): loaded on first use, not at cold start.
if TYPE_CHECKING:
    from chalicelib.catalog.indexer import ProductIndex
    from chalicelib.catalog.ingest import Ingestor
    from chalicelib.catalog.service import CatalogService
    from chalicelib.catalog.store import CatalogStore
    from chalicelib.catalog.summaries import Summaries


@functools.cache
def summaries() -> Summaries:
    from chalicelib.catalog.summaries import Summaries

    return Summaries(clients.redis)


@functools.cache
def product_index() -> ProductIndex:
    from chalicelib.catalog.indexer import ProductIndex

    return ProductIndex(clients.opensearch, get_settings().resource_name(PRODUCTS_INDEX), summaries().changed)


@functools.cache
def catalog_store() -> CatalogStore:
    from chalicelib.catalog.store import CatalogStore

    return CatalogStore()


def ingestor(cache_dir: str | None = None) -> Ingestor:
    from chalicelib.catalog.ingest import DEFAULT_CACHE_DIR, HttpCache, Ingestor
    from chalicelib.config import get_settings

    cache = HttpCache(cache_dir or DEFAULT_CACHE_DIR, allow_private=get_settings().webhook_allow_private)
    return Ingestor(catalog_store(), product_index(), cache)


@functools.cache
def catalog_service() -> CatalogService:
    from chalicelib.catalog.search import ProductSearch
    from chalicelib.catalog.service import CatalogService

    search = ProductSearch(clients.opensearch, get_settings().resource_name(PRODUCTS_INDEX), summaries())
    return CatalogService(catalog_store(), search, ingestor())
