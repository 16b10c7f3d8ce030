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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.documents.indexer import HARMLESS_STATUSES, record_actions
from chalicelib.documents.resources import index_spec
from chalicelib.documents.types import DocumentStorage, Stored, partition
from chalicelib.search import ensure_index

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from chalicelib.documents.service import TypeRegistry

BULK_CHUNK = 500


def _stream_record(stored: Stored, sequence: int) -> dict[str, Any]:
    """A stored document as the INSERT stream record that would have indexed it."""
    image = {
        "pk": {"S": partition(stored.owner_id, stored.doc_type)},
        "doc_id": {"S": stored.doc_id},
        "doc_type": {"S": stored.doc_type},
        "owner_id": {"S": stored.owner_id},
        "body": {"S": stored.body},
        "version": {"N": str(stored.version)},
        "updated_at": {"N": str(stored.updated_at)},
    }
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": image["pk"], "doc_id": image["doc_id"]},
            "NewImage": image,
            "SequenceNumber": str(sequence),
        },
    }


class IndexRebuild:
    def __init__(
        self, store: DocumentStorage, types: TypeRegistry, client: Callable[[], OpenSearch], settings: Settings
    ) -> None:
        self.store = store
        self.types = types
        self._client = client
        self.settings = settings

    def __call__(self, doc_type: str) -> dict[str, Any]:
        """Rebuild `doc_type`'s index; NotFound when there is no such type."""
        from opensearchpy import helpers

        client = self._client()
        alias = ensure_index(index_spec(doc_type, self.types.schema(doc_type)), self.settings)["alias"]
        snapshot = {
            (hit.get("_routing") or hit["_id"], hit["_id"]): (hit["_index"], hit.get("_version", 0))
            for hit in helpers.scan(
                client, index=alias, query={"query": {"match_all": {}}, "_source": False, "version": True}, size=500
            )
        }
        actions: list[dict[str, Any]] = []
        documents = 0
        for sequence, stored in enumerate(self.store.all_of_type(doc_type)):
            planned = record_actions(_stream_record(stored, sequence))
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
        return {
            "type": doc_type,
            "index": alias,
            "documents": documents,
            "indexed": len(actions),
            "removed": len(orphans),
        }
