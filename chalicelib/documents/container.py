"""The documents context's composition root: the service, its search, its cache and the index
rebuild, over the documents table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.cache import Cache
from chalicelib.clients import Clients
from chalicelib.config import Settings
from chalicelib.roots import Root

# The service and its store import PynamoDB (and botocore): loaded when the context is built,
# not at cold start.
if TYPE_CHECKING:
    from chalicelib.documents.search import DocumentSearch
    from chalicelib.documents.service import DocumentService
    from chalicelib.documents.types import DocumentStorage

# A cached document lives this long at most; every write and the stream drop it sooner.
CACHE_TTL_S = 300


@dataclass(frozen=True)
class Documents:
    service: DocumentService
    search: DocumentSearch
    cache: Cache
    # Rebuilds a type's search index from the table (the reindex task kind runs it).
    rebuild_index: Callable[[str], dict[str, Any]]


def build(
    settings: Settings,
    clients: Clients,
    *,
    store: DocumentStorage | None = None,
    cache: Cache | None = None,
    on_type_registered: Callable[[str, dict[str, Any]], None] | None = None,
) -> Documents:
    from chalicelib.documents.reindex import IndexRebuild
    from chalicelib.documents.resources import DOCUMENTS_TABLE, registered_type_index
    from chalicelib.documents.search import DocumentSearch
    from chalicelib.documents.service import DocumentService, TypeRegistry
    from chalicelib.documents.store import DocumentItem, DocumentStore
    from chalicelib.dynamo import bind
    from chalicelib.search import ensure_index

    if store is None:
        bind(DocumentItem, DOCUMENTS_TABLE, settings)
        store = DocumentStore()

    def index_registered_type(doc_type: str, schema: dict[str, Any]) -> None:
        ensure_index(registered_type_index(doc_type, schema), settings)

    cache = cache or Cache(clients.redis, namespace="doc", ttl_s=CACHE_TTL_S)
    types = TypeRegistry(store)
    service = DocumentService(
        store=store, types=types, cache=cache, on_type_registered=on_type_registered or index_registered_type
    )
    return Documents(
        service=service,
        search=DocumentSearch(clients.opensearch),
        cache=cache,
        rebuild_index=IndexRebuild(store, types, clients.opensearch, settings),
    )


documents: Root[Documents] = Root("documents")
