"""The documents table (PynamoDB): every document type keyed by (type, id), plus registered
schemas under the reserved type `$schema`.

Every precondition is part of the write itself: a create is conditional on absence, a replace
or delete on the ETag the client holds (and on ownership). When a condition fails, one read
tells the caller why (missing vs. stale), after the fact, so no write ever depends on a read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.dynamo import condition_failed, get_or_none, table_meta
from chalicelib.errors import BadRequest, Conflict, NotFound, PreconditionFailed


class ByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner_type = UnicodeAttribute(hash_key=True)
    doc_id = UnicodeAttribute(range_key=True)


class DocumentItem(Model):
    Meta = table_meta("documents")

    doc_type = UnicodeAttribute(hash_key=True)
    doc_id = UnicodeAttribute(range_key=True)
    # Canonical JSON text: what the ETag hashes, stored verbatim so numbers round-trip exactly.
    body = UnicodeAttribute()
    etag = UnicodeAttribute()
    version = NumberAttribute()
    org = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute()
    owner_type = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    by_owner = ByOwner()


@dataclass(frozen=True)
class Stored:
    doc_type: str
    doc_id: str
    body: str
    etag: str
    version: int
    owner_id: str
    org: str | None

    @classmethod
    def of(cls, item: DocumentItem) -> Stored:
        return cls(item.doc_type, item.doc_id, item.body, item.etag, int(item.version), item.owner_id, item.org)

    def document(self) -> Any:
        return json.loads(self.body)


def _owned_by(owner_id: str | None) -> Condition | None:
    """None for administrators: they may write any document."""
    return None if owner_id is None else DocumentItem.owner_id == owner_id


def _and(*conditions: Condition | None) -> Condition:
    present = [c for c in conditions if c is not None]
    combined = present[0]
    for condition in present[1:]:
        combined &= condition
    return combined


def encode_cursor(doc_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": doc_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
    except (ValueError, KeyError, TypeError):
        raise BadRequest("The cursor is not one this API issued") from None
    if not isinstance(after, str):
        raise BadRequest("The cursor is not one this API issued")
    return after


class DocumentStore:
    def get(self, doc_type: str, doc_id: str) -> Stored | None:
        item = get_or_none(DocumentItem, doc_type, doc_id)
        return Stored.of(item) if item is not None else None

    def _why(self, doc_type: str, doc_id: str, owner_id: str | None) -> Exception:
        current = self.get(doc_type, doc_id)
        if current is None or (owner_id is not None and current.owner_id != owner_id):
            return NotFound(f"No {doc_type} {doc_id}")
        return PreconditionFailed("The document changed since you read it: its ETag no longer matches If-Match")

    def create(self, item: DocumentItem) -> Stored:
        try:
            item.save(condition=DocumentItem.doc_id.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                raise Conflict(f"A {item.doc_type} with objectId {item.doc_id} already exists") from None
            raise
        return Stored.of(item)

    def replace(self, item: DocumentItem, if_match: str | None, owner_id: str | None) -> Stored:
        """Write over an existing document whose ETag is `if_match` (any ETag when None)."""
        condition = _and(
            DocumentItem.doc_id.exists(),
            DocumentItem.etag == if_match if if_match is not None else None,
            _owned_by(owner_id),
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if condition_failed(exc):
                raise self._why(item.doc_type, item.doc_id, owner_id) from None
            raise
        return Stored.of(item)

    def delete(self, doc_type: str, doc_id: str, if_match: str | None, owner_id: str | None) -> None:
        condition = _and(
            DocumentItem.doc_id.exists(),
            DocumentItem.etag == if_match if if_match is not None else None,
            _owned_by(owner_id),
        )
        try:
            DocumentItem(doc_type, doc_id).delete(condition=condition)
        except DeleteError as exc:
            if condition_failed(exc):
                raise self._why(doc_type, doc_id, owner_id) from None
            raise

    def scan_page(
        self, doc_type: str, owner_id: str | None, org: str | None, after: str | None, page_size: int
    ) -> Iterator[Stored]:
        """Documents of a type in id order, from after `after`: all of them, or one owner's."""
        filter_condition = DocumentItem.org == org if org else None
        if owner_id is None:
            results = DocumentItem.query(
                doc_type,
                filter_condition=filter_condition,
                last_evaluated_key={"doc_type": {"S": doc_type}, "doc_id": {"S": after}} if after else None,
                page_size=page_size,
                consistent_read=True,
            )
        else:
            owner_type = f"{owner_id}#{doc_type}"
            results = DocumentItem.by_owner.query(
                owner_type,
                filter_condition=filter_condition,
                last_evaluated_key=(
                    {
                        "owner_type": {"S": owner_type},
                        "doc_id": {"S": after},
                        "doc_type": {"S": doc_type},
                    }
                    if after
                    else None
                ),
                page_size=page_size,
            )
        for item in results:
            yield Stored.of(item)
