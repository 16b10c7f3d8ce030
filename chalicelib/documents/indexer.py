"""Stream records of the documents table → OpenSearch bulk actions, idempotent and ordered.

Every index and delete carries the item's version as an external version, so a replayed
batch, or an older record arriving after a newer one, cannot move the index backwards: the
older write is refused with a version conflict, which here means "already newer", not failure.
A plan becomes parent-child documents routed to its root; an update deletes the children it
no longer has; a removal deletes the whole tree.

An index document's id is derived from (owner, root objectId, objectId), never from the
objectId alone: two owners' plans, or two plans of one owner, that hold a child with the same
objectId hold two index documents, and writing or deleting one cannot touch the other. The
join's parent links use those ids too, so a child can only ever join a parent of its own tree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import batch
from chalicelib.config import get_settings
from chalicelib.documents.resources import document_index_key
from chalicelib.documents.tree import JOIN_FIELD, flatten, object_ids
from chalicelib.documents.types import SCHEMA_TYPE

# Conflicts mean a newer version is indexed; not-found means the delete has nothing to do.
HARMLESS_STATUSES = {404, 409}
# Where an indexed child keeps its parent's objectId (the join field holds the parent's index id).
PARENT_OBJECT_ID = "_parent_object"


@dataclass
class RecordActions:
    sequence_number: str
    owner: str
    doc_type: str
    doc_id: str
    event_name: str
    index: str
    # The index id of the stored document itself: the tree's root, and its routing.
    root: str
    version: int
    actions: list[dict[str, Any]] = field(default_factory=list)


def drop_stale(planned: list[RecordActions], indexed_versions: dict[tuple[str, str], int]) -> list[RecordActions]:
    """Without the records older than what the index holds for their root document.

    External versions alone protect each object, not the tree: a replayed old record would
    re-create a child that a newer version removed (the removal's tombstone may be gone). The
    root's indexed version says whether the whole record is stale.
    """
    return [p for p in planned if indexed_versions.get((p.index, p.root), 0) <= p.version]


def index_id(owner: str, root: str, object_id: str) -> str:
    """The index document id of `object_id` in the stored document `root` of `owner`."""
    return hashlib.sha256(json.dumps([owner, root, object_id]).encode()).hexdigest()


def _tree(doc_type: str, doc_id: str, document: Any) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(objectId, parent objectId, source) of every index document one stored document becomes."""
    if doc_type == "plan":
        return [(d.id, d.parent, d.source) for d in flatten(document)]
    return [(doc_id, None, document)]


def _ids(doc_type: str, doc_id: str, document: Any) -> set[str]:
    return object_ids(document) if doc_type == "plan" else {doc_id}


def _indexed_source(source: dict[str, Any], owner: str, root: str, parent: str | None, updated: int) -> dict[str, Any]:
    """The stored object plus who owns it, which document holds it, and the join's parent as
    an index id (the client's parent objectId is kept beside it, to answer with)."""
    indexed = {**source, "_owner": owner, "_root": root, "_updated": updated}
    if parent is not None:
        indexed[JOIN_FIELD] = {**source[JOIN_FIELD], "parent": index_id(owner, root, parent)}
        indexed[PARENT_OBJECT_ID] = parent
    return indexed


def record_actions(record: dict[str, Any]) -> RecordActions | None:
    """The bulk actions for one stream record (Lambda shape); None for items that are not documents."""
    stream = record["dynamodb"]
    new, old = batch.image(stream.get("NewImage")), batch.image(stream.get("OldImage"))
    image = new or old
    doc_type, owner = image["doc_type"], image["owner_id"]
    doc_id = batch.image(stream["Keys"])["doc_id"]
    if doc_type == SCHEMA_TYPE:
        return None
    index = get_settings().resource_name(document_index_key(doc_type))
    # A removal has no version of its own: it supersedes the last one written.
    version = int(new["version"]) if new else int(old["version"]) + 1
    root = index_id(owner, doc_id, doc_id)
    result = RecordActions(stream["SequenceNumber"], owner, doc_type, doc_id, record["eventName"], index, root, version)
    old_document = json.loads(old["body"]) if old else None
    if new:
        document = json.loads(new["body"])
        updated = int(float(new["updated_at"]) * 1000)
        for object_id, parent, source in _tree(doc_type, doc_id, document):
            result.actions.append(
                {
                    "_op_type": "index",
                    "_index": index,
                    "_id": index_id(owner, doc_id, object_id),
                    "routing": root,
                    "version": version,
                    # gte: replaying the same record re-indexes the same content harmlessly.
                    "version_type": "external_gte",
                    "_source": _indexed_source(source, owner, doc_id, parent, updated),
                }
            )
        gone = _ids(doc_type, doc_id, old_document) - _ids(doc_type, doc_id, document) if old_document else set()
    else:
        gone = _ids(doc_type, doc_id, old_document)
    for object_id in sorted(gone):
        result.actions.append(
            {
                "_op_type": "delete",
                "_index": index,
                "_id": index_id(owner, doc_id, object_id),
                "routing": root,
                "version": version,
                "version_type": "external",
            }
        )
    return result


@dataclass
class Outcome:
    """Records whose actions failed: `retry` ones may succeed later (overload, outage), `poison`
    ones never will (OpenSearch refused the document itself), so retrying them only blocks the shard."""

    retry: list[str] = field(default_factory=list)
    poison: list[str] = field(default_factory=list)


def classify_errors(planned: Iterable[RecordActions], errors: list[dict[str, Any]]) -> Outcome:
    owner_of: dict[tuple[str, str], str] = {}
    for record in planned:
        for action in record.actions:
            owner_of[(action["_op_type"], action["_id"])] = record.sequence_number
    outcome = Outcome()
    for error in errors:
        ((operation, detail),) = error.items()
        status = detail.get("status")
        if status in HARMLESS_STATUSES:
            continue
        sequence = owner_of.get((operation, detail.get("_id")), "")
        kind = outcome.poison if status == 400 else outcome.retry
        if sequence not in kind:
            kind.append(sequence)
    return outcome
