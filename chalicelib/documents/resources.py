"""The documents context's resources (see chalicelib/resources.py).

Every document type lives in one table keyed by owner and id (pk `<owner>#<type>`, sk the
objectId), so two owners may hold the same objectIds and "my documents of a type" is one Query.
Layout 2: layout 1 keyed by (type, id) alone. The stream feeds the search indexer. Each
searchable type has its own index behind an alias; plans use a join field for parent-child
search. Mappings are fixed (`dynamic: false`): no tenant's documents can change how another's are
indexed (chalicelib/documents/mapping.py).
"""

from __future__ import annotations

from typing import Any

from chalicelib.documents.mapping import properties_of
from chalicelib.documents.tree import JOIN_FIELD, RELATIONS
from chalicelib.resources import SEARCH_INDEXES, Key, QueueSpec, SearchIndexSpec, TableSpec, declare

_DOCUMENT_FIELDS = {
    "objectId": {"type": "keyword"},
    "objectType": {"type": "keyword"},
    "_org": {"type": "keyword"},
    "_owner": {"type": "keyword"},
    # The objectId of the stored document an index document belongs to (a plan, for its
    # children), and when that document was last written (epoch ms).
    "_root": {"type": "keyword"},
    "_updated": {"type": "long"},
}
DOCUMENT_INDEX_VERSION = 2
FAILURE_QUEUE = "documents-stream-failures"
DOCUMENTS_TABLE = TableSpec(
    key="documents",
    hash_key=Key("pk"),
    range_key=Key("doc_id"),
    stream=True,
    stream_failure_queue=FAILURE_QUEUE,
    # The index must catch up after an OpenSearch outage: about four minutes of backoff
    # before a batch is given up to the failure queue (a bad record fails alone sooner
    # only in the sense that it is retried too; see docs/documents.md).
    stream_max_attempts=12,
    layout=2,
)
declare(
    DOCUMENTS_TABLE,
    QueueSpec(key=FAILURE_QUEUE, dead_letter=False),
    SearchIndexSpec(
        key="documents-plan",
        mappings={
            "dynamic": False,
            "properties": {
                **_DOCUMENT_FIELDS,
                JOIN_FIELD: {"type": "join", "relations": RELATIONS},
                "planType": {"type": "keyword"},
                "creationDate": {"type": "keyword"},
                "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                "deductible": {"type": "double"},
                "copay": {"type": "double"},
            },
        },
        version=DOCUMENT_INDEX_VERSION,
    ),
    SearchIndexSpec(
        key="documents-service",
        mappings={
            "dynamic": False,
            "properties": {**_DOCUMENT_FIELDS, "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}}},
        },
        version=DOCUMENT_INDEX_VERSION,
    ),
)


def index_spec(doc_type: str, schema: dict[str, Any]) -> SearchIndexSpec:
    """The index a document type is searched in: its declared one, or the one its schema makes."""
    return SEARCH_INDEXES.get(document_index_key(doc_type)) or registered_type_index(doc_type, schema)


def document_index_key(doc_type: str) -> str:
    """The search index (alias) key of a document type: declared above, or made at registration."""
    return f"documents-{doc_type}"


def registered_type_index(doc_type: str, schema: dict[str, Any]) -> SearchIndexSpec:
    """The index of a type a client registered at run time: what its schema declares, plus the
    common fields, and nothing the documents themselves bring."""
    return SearchIndexSpec(
        key=document_index_key(doc_type),
        mappings={"dynamic": False, "properties": {**properties_of(schema), **_DOCUMENT_FIELDS}},
        version=DOCUMENT_INDEX_VERSION,
    )
