"""The vocabulary shared by the documents modules: type names, canonical text, ETags, a stored
document as the service, the routes and the store speak of it, and the storage the service needs
(`DocumentStorage`: chalicelib/documents/store.py is it over DynamoDB, tests/unit/fakes.py in memory).

Kept free of storage imports so the routes and the stream handler load without PynamoDB
(and botocore) until a request or record needs them: cold start stays small.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

SCHEMA_TYPE = "$schema"
# Registered schemas are the platform's: one namespace, which no user id (a hex uuid) can name.
PLATFORM = "platform"
BUILTIN_TYPES = ("plan", "service")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def etag_of(body: str) -> str:
    """A strong ETag: the hash of the canonical JSON, so equal documents have equal tags."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def partition(owner_id: str, doc_type: str) -> str:
    """The table's pk of an owner's documents of a type (chalicelib/documents/store.py)."""
    return f"{owner_id}#{doc_type}"


@dataclass(frozen=True)
class Stored:
    """A document as stored: its canonical text, that text's ETag, and its version."""

    doc_type: str
    doc_id: str
    body: str
    etag: str
    version: int
    owner_id: str
    org: str | None
    updated_at: float

    def document(self) -> Any:
        return json.loads(self.body)


class DocumentStorage(Protocol):
    """Where documents live (chalicelib/documents/store.py). Every precondition is part of the
    write: Conflict when a create finds the id taken; NotFound or PreconditionFailed when a
    replace or delete finds the document gone or its ETag moved on."""

    def get(self, owner_id: str, doc_type: str, doc_id: str) -> Stored | None: ...

    def create(self, document: Stored) -> Stored: ...

    def replace(self, document: Stored, if_match: str | None) -> Stored:
        """Write over the owner's existing document whose ETag is `if_match` (any ETag when None)."""

    def delete(self, owner_id: str, doc_type: str, doc_id: str, if_match: str | None) -> None: ...

    def page(
        self, owner_id: str, doc_type: str, org: str | None, after: str | None, page_size: int
    ) -> Iterator[Stored]:
        """One owner's documents of a type in id order, from after `after`."""

    def skip(self, owner_id: str, doc_type: str, org: str | None, after: str | None, count: int) -> str | None:
        """The objectId `count` documents past `after` in `page` order (None when fewer remain),
        found without reading the documents skipped."""

    def registered_types(self) -> list[str]:
        """The names of the types registered at run time."""

    def all_of_type(self, doc_type: str) -> Iterator[Stored]:
        """Every owner's documents of a type."""
