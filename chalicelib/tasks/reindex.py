"""Rebuild a document type's search index from DynamoDB, in place, while the stream indexer runs.

1. Snapshot what the index holds: (root, object id) → version.
2. Read every stored document of the type and index it again through the documents indexer's
   own `record_actions` (each one as if its stream record were replayed): external_gte
   versions make this a no-op for what is current and can never regress what the stream
   indexer writes meanwhile.
3. Delete what the snapshot holds that no stored document has (a lost delete, an object a
   plan no longer contains), with the snapshot's version + 1: if the stream indexer wrote a
   newer version since, the delete is refused as a conflict, which is what we want.

Reading the index before the table is what makes step 3 safe: anything indexed before the
snapshot and absent from the table afterwards was deleted from the table.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFound
from chalicelib.tasks.kinds import Permanent

BULK_CHUNK = 500


def _stream_record(item: Any, sequence: int) -> dict[str, Any]:
    """A stored document as the INSERT stream record that would have indexed it."""
    from chalicelib.documents.store import partition

    image = {
        "pk": {"S": partition(item.owner_id, item.doc_type)},
        "doc_id": {"S": item.doc_id},
        "doc_type": {"S": item.doc_type},
        "owner_id": {"S": item.owner_id},
        "body": {"S": item.body},
        "version": {"N": str(item.version)},
        "updated_at": {"N": str(item.updated_at)},
    }
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": image["pk"], "doc_id": image["doc_id"]},
            "NewImage": image,
            "SequenceNumber": str(sequence),
        },
    }


def _index_spec(doc_type: str) -> Any:
    from chalicelib.documents.container import document_service
    from chalicelib.resources import SEARCH_INDEXES, document_index_key, registered_type_index

    try:
        schema = document_service().types.schema(doc_type)
    except NotFound:
        raise Permanent(f"no document type {doc_type!r}") from None
    return SEARCH_INDEXES.get(document_index_key(doc_type)) or registered_type_index(doc_type, schema)


def rebuild(doc_type: str) -> dict[str, Any]:
    from opensearchpy import helpers

    from chalicelib import clients
    from chalicelib.documents.indexer import HARMLESS_STATUSES, record_actions
    from chalicelib.documents.store import DocumentStore
    from chalicelib.search import ensure_index

    client = clients.opensearch()
    alias = ensure_index(_index_spec(doc_type))["alias"]
    snapshot = {
        (hit.get("_routing") or hit["_id"], hit["_id"]): (hit["_index"], hit.get("_version", 0))
        for hit in helpers.scan(
            client, index=alias, query={"query": {"match_all": {}}, "_source": False, "version": True}, size=500
        )
    }
    actions: list[dict[str, Any]] = []
    documents = 0
    for sequence, item in enumerate(DocumentStore().all_of_type(doc_type)):
        planned = record_actions(_stream_record(item, sequence))
        if planned is not None:
            documents += 1
            actions.extend(planned.actions)
    expected = {(action["routing"], action["_id"]) for action in actions}
    orphans = [
        {
            "_op_type": "delete",
            "_index": index,
            "_id": object_id,
            "routing": root,
            "version": version + 1,
            "version_type": "external",
        }
        for (root, object_id), (index, version) in snapshot.items()
        if (root, object_id) not in expected
    ]
    _, errors = helpers.bulk(client, actions + orphans, raise_on_error=False, chunk_size=BULK_CHUNK)
    failed = [e for e in errors if next(iter(e.values())).get("status") not in HARMLESS_STATUSES]
    if failed:
        # Overload or an outage: the task is retried, and the rebuild is idempotent.
        raise RuntimeError(f"{len(failed)} of {len(actions) + len(orphans)} index actions failed")
    return {"type": doc_type, "index": alias, "documents": documents, "indexed": len(actions), "removed": len(orphans)}


def document_types() -> list[str]:
    """Every document type that may have stored documents: the built-ins and each registered one."""
    from chalicelib.documents.store import DocumentStore
    from chalicelib.documents.types import BUILTIN_TYPES

    return [*BUILTIN_TYPES, *DocumentStore().registered_types()]


def rebuild_products() -> dict[str, Any]:
    """The catalog's counterpart of `rebuild`: every stored product indexed at its stored version
    (a tombstone removes its product), through the same ProductIndex the stream handler uses."""
    from chalicelib.catalog.container import product_index
    from chalicelib.catalog.indexer import write_of_product
    from chalicelib.catalog.store import ProductItem

    index, pending, products, failed = product_index(), [], 0, set()
    for item in ProductItem.scan(ProductItem.sk == ProductItem.SK, consistent_read=True, page_size=500):
        pending.append(write_of_product(item.product(), bool(item.deleted)))
        if len(pending) == BULK_CHUNK:
            failed |= index.apply(pending)
            products, pending = products + len(pending), []
    failed |= index.apply(pending)
    if failed:
        raise RuntimeError(f"{len(failed)} of {products + len(pending)} products could not be indexed")
    return {"index": index.alias, "products": products + len(pending)}
