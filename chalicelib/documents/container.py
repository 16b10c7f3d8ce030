"""Builds the documents service from settings, once per process and on first use."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chalicelib import clients
from chalicelib.cache import Cache

# The service and its store import PynamoDB (and botocore): loaded on first use, not at cold start.
if TYPE_CHECKING:
    from chalicelib.documents.search import DocumentSearch
    from chalicelib.documents.service import DocumentService


@functools.cache
def document_cache() -> Cache:
    return Cache(clients.redis, namespace="doc", ttl_s=300)


@functools.cache
def document_service() -> DocumentService:
    from chalicelib.documents.service import DocumentService, TypeRegistry
    from chalicelib.documents.store import DocumentStore
    from chalicelib.resources import registered_type_index
    from chalicelib.search import ensure_index

    store = DocumentStore()
    return DocumentService(
        store=store,
        types=TypeRegistry(store),
        cache=document_cache(),
        on_type_registered=lambda doc_type, schema: ensure_index(registered_type_index(doc_type, schema)),
    )


@functools.cache
def document_search() -> DocumentSearch:
    from chalicelib.documents.search import DocumentSearch

    return DocumentSearch(clients.opensearch)
