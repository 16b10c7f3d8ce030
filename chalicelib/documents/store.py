"""The documents table (PynamoDB): every document keyed by its owner, type and objectId, plus
registered schemas under the reserved type `$schema`, which belong to the platform.

pk is `<owner>#<type>` and sk the objectId: the owner is part of a document's identity, so two
owners may hold the same objectIds, an owner's ids never collide with anyone else's, and one
owner's documents of a type are one Query, in id order. Type names cannot contain `#`, so the
last `#` splits a pk whatever an owner id holds.

Every precondition is part of the write itself: a create is conditional on absence, a replace
or delete on the ETag the client holds. When a condition fails, one read tells the caller why
(missing vs. stale), after the fact, so no write ever depends on a read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.documents.types import PLATFORM, SCHEMA_TYPE, Stored, partition
from chalicelib.dynamo import condition_failed, get_or_none, unbound_meta
from chalicelib.errors import Conflict, NotFound, PreconditionFailed

# Keys read per request while an offset under an org filter is skipped.
SKIP_PAGE = 1000


class DocumentItem(Model):
    Meta = unbound_meta()

    pk = UnicodeAttribute(hash_key=True)
    doc_id = UnicodeAttribute(range_key=True)
    doc_type = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    # Canonical JSON text: what the ETag hashes, stored verbatim so numbers round-trip exactly.
    body = UnicodeAttribute()
    etag = UnicodeAttribute()
    version = NumberAttribute()
    org = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    @classmethod
    def of(cls, stored: Stored) -> DocumentItem:
        return cls(
            partition(stored.owner_id, stored.doc_type),
            stored.doc_id,
            doc_type=stored.doc_type,
            owner_id=stored.owner_id,
            body=stored.body,
            etag=stored.etag,
            version=stored.version,
            org=stored.org,
            created_at=stored.updated_at,
            updated_at=stored.updated_at,
        )

    def stored(self) -> Stored:
        return Stored(
            self.doc_type,
            self.doc_id,
            self.body,
            self.etag,
            int(self.version),
            self.owner_id,
            self.org,
            float(self.updated_at),
        )


def _unchanged_since(etag: str | None) -> Condition:
    exists = DocumentItem.doc_id.exists()
    return exists if etag is None else exists & (DocumentItem.etag == etag)


class DocumentStore:
    def get(self, owner_id: str, doc_type: str, doc_id: str) -> Stored | None:
        item = get_or_none(DocumentItem, partition(owner_id, doc_type), doc_id)
        return item.stored() if item is not None else None

    def _why(self, owner_id: str, doc_type: str, doc_id: str) -> Exception:
        if self.get(owner_id, doc_type, doc_id) is None:
            return NotFound(f"No {doc_type} {doc_id}")
        return PreconditionFailed("The document changed since you read it: its ETag no longer matches If-Match")

    def create(self, document: Stored) -> Stored:
        try:
            DocumentItem.of(document).save(condition=DocumentItem.doc_id.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                raise Conflict(f"A {document.doc_type} with objectId {document.doc_id} already exists") from None
            raise
        return document

    def replace(self, document: Stored, if_match: str | None) -> Stored:
        """Write over the owner's existing document whose ETag is `if_match` (any ETag when None)."""
        try:
            DocumentItem.of(document).save(condition=_unchanged_since(if_match))
        except PutError as exc:
            if condition_failed(exc):
                raise self._why(document.owner_id, document.doc_type, document.doc_id) from None
            raise
        return document

    def delete(self, owner_id: str, doc_type: str, doc_id: str, if_match: str | None) -> None:
        try:
            DocumentItem(partition(owner_id, doc_type), doc_id).delete(condition=_unchanged_since(if_match))
        except DeleteError as exc:
            if condition_failed(exc):
                raise self._why(owner_id, doc_type, doc_id) from None
            raise

    def page(
        self, owner_id: str, doc_type: str, org: str | None, after: str | None, page_size: int
    ) -> Iterator[Stored]:
        """One owner's documents of a type in id order, from after `after`."""
        key = partition(owner_id, doc_type)
        results = DocumentItem.query(
            key,
            filter_condition=DocumentItem.org == org if org else None,
            last_evaluated_key={"pk": {"S": key}, "doc_id": {"S": after}} if after else None,
            page_size=page_size,
            consistent_read=True,
        )
        for item in results:
            yield item.stored()

    def skip(self, owner_id: str, doc_type: str, org: str | None, after: str | None, count: int) -> str | None:
        """The objectId `count` documents past `after` in `page` order, where a page at that
        offset starts; None when fewer remain. The skipped documents are counted (Select=COUNT,
        or their keys alone under an org filter), not read."""
        key = partition(owner_id, doc_type)
        start = {"pk": {"S": key}, "doc_id": {"S": after}} if after else None
        if org:
            skipped = DocumentItem.query(
                key,
                filter_condition=DocumentItem.org == org,
                last_evaluated_key=start,
                attributes_to_get=["doc_id"],
                page_size=SKIP_PAGE,
                consistent_read=True,
            )
            return next((item.doc_id for item in itertools.islice(skipped, count - 1, count)), None)
        remaining = count
        while remaining:
            counted = DocumentItem._get_connection().query(
                key, select="COUNT", limit=remaining, exclusive_start_key=start, consistent_read=True
            )
            remaining -= counted["Count"]
            start = counted.get("LastEvaluatedKey")
            if start is None:
                return None
        # (count is at least 1: `start` is the last page's key here.)
        return start["doc_id"]["S"] if start is not None else after

    def registered_types(self) -> list[str]:
        """The names of the types registered at run time."""
        return [item.doc_id for item in DocumentItem.query(partition(PLATFORM, SCHEMA_TYPE), consistent_read=True)]

    def all_of_type(self, doc_type: str) -> Iterator[Stored]:
        """Every owner's documents of a type (a reindex reads them all: a Scan, not a hot path)."""
        for item in DocumentItem.scan(DocumentItem.doc_type == doc_type, page_size=100, consistent_read=True):
            yield item.stored()
