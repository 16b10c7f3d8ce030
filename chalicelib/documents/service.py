"""Structured documents: JSON Schema validation, ETags, conditional writes, merge PATCH, a
read-through cache, and types registered at run time. Framework-free."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import schemas
from chalicelib.auth.principal import Principal
from chalicelib.cache import Cache
from chalicelib.documents.merge import merge_by_object_id, merge_patch
from chalicelib.documents.store import DocumentItem, DocumentStore, Stored, decode_cursor, encode_cursor
from chalicelib.documents.types import BUILTIN_TYPES, MERGE_PATCH, SCHEMA_TYPE, TYPE_NAME, canonical, etag_of
from chalicelib.errors import (
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)

MAX_PAGE = 100
MAX_OFFSET = 10_000
MAX_QUERY_PAGE = 1000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


class TypeRegistry:
    """Schemas by type: the built-ins ship as files; registered ones live in the table and are
    cached briefly per process so validation costs no read per request."""

    def __init__(self, store: DocumentStore, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def schema(self, doc_type: str) -> dict[str, Any]:
        if doc_type in BUILTIN_TYPES:
            return schemas.load(doc_type)
        with self._lock:
            cached = self._cache.get(doc_type)
        if cached is None or self.clock() - cached[0] > self.ttl_s:
            stored = self.store.get(SCHEMA_TYPE, doc_type) if TYPE_NAME.match(doc_type) else None
            cached = (self.clock(), stored.document() if stored else None)
            with self._lock:
                self._cache[doc_type] = cached
        if cached[1] is None:
            raise NotFound(f"No document type {doc_type!r}; an administrator registers it at /api/v1/schemas/{{type}}")
        return cached[1]

    def forget(self, doc_type: str) -> None:
        with self._lock:
            self._cache.pop(doc_type, None)


class DocumentService:
    def __init__(
        self,
        store: DocumentStore,
        types: TypeRegistry,
        cache: Cache,
        on_type_registered: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.types = types
        self.cache = cache
        self.on_type_registered = on_type_registered
        self.clock = clock

    # -- reading --------------------------------------------------------------------------

    def _cache_key(self, doc_type: str, doc_id: str) -> str:
        return self.cache.key(doc_type, doc_id)

    def _load(self, doc_type: str, doc_id: str) -> Stored | None:
        key = self._cache_key(doc_type, doc_id)
        cached = self.cache.get(key)
        if cached is not None:
            return Stored(**json.loads(cached))
        stored = self.store.get(doc_type, doc_id)
        if stored is not None:
            self.cache.add(key, json.dumps(stored.__dict__).encode())
        return stored

    def get(self, principal: Principal, doc_type: str, doc_id: str) -> Stored:
        self.types.schema(doc_type)
        stored = self._load(doc_type, doc_id)
        # Another user's document is indistinguishable from a missing one.
        if stored is None or not self._may_see(principal, stored):
            raise NotFound(f"No {doc_type} {doc_id}")
        return stored

    @staticmethod
    def _may_see(principal: Principal, stored: Stored) -> bool:
        return principal.is_admin or stored.owner_id == principal.user_id

    def list(
        self,
        principal: Principal,
        doc_type: str,
        org: str | None = None,
        limit: int = 20,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page:
        self.types.schema(doc_type)
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        if not 0 <= offset <= MAX_OFFSET:
            raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}")
        owner = None if principal.is_admin else principal.user_id
        after = decode_cursor(cursor) if cursor else None
        items: list[Stored] = []
        has_more = False
        # One query page covers the skipped items too, so an offset costs one read, not many.
        page_size = min(MAX_QUERY_PAGE, offset + limit + 1)
        for position, stored in enumerate(self.store.scan_page(doc_type, owner, org, after, page_size)):
            if position < offset:
                continue
            if len(items) == limit:
                has_more = True
                break
            items.append(stored)
        next_cursor = encode_cursor(items[-1].doc_id) if has_more and items else None
        return Page([s.document() for s in items], next_cursor)

    # -- writing --------------------------------------------------------------------------

    def _validated(self, doc_type: str, document: Any) -> str:
        problems = schemas.field_errors(self.types.schema(doc_type), document)
        if problems:
            raise ValidationFailed(problems)
        if not isinstance(document, dict) or not isinstance(document.get("objectId"), str):
            raise ValidationFailed([FieldError("$.objectId", "Every document needs a string objectId")])
        return canonical(document)

    def _item(self, doc_type: str, document: dict[str, Any], body: str, owner_id: str, version: int) -> DocumentItem:
        now = self.clock()
        return DocumentItem(
            doc_type,
            document["objectId"],
            body=body,
            etag=etag_of(body),
            version=version,
            org=document.get("_org"),
            owner_id=owner_id,
            owner_type=f"{owner_id}#{doc_type}",
            created_at=now,
            updated_at=now,
        )

    def create(self, principal: Principal, doc_type: str, document: Any) -> Stored:
        body = self._validated(doc_type, document)
        stored = self.store.create(self._item(doc_type, document, body, principal.user_id, version=1))
        self.cache.delete(self._cache_key(doc_type, stored.doc_id))
        return stored

    @staticmethod
    def _expected_etag(if_match: list[str] | None, current: Stored) -> str:
        """The ETag a write is conditional on. `*` means "whatever I just read": the write is still
        conditional, so a version is never assigned twice."""
        if if_match is None:
            raise PreconditionRequired("This write needs If-Match with the ETag you last read")
        if if_match == ["*"]:
            return current.etag
        if len(if_match) != 1:
            raise PreconditionFailed("If-Match must name exactly one strong ETag, or *")
        return if_match[0]

    def replace(
        self, principal: Principal, doc_type: str, doc_id: str, document: Any, if_match: list[str] | None
    ) -> Stored:
        if if_match is None:
            raise PreconditionRequired("This write needs If-Match with the ETag you last read")
        if isinstance(document, dict) and document.get("objectId") != doc_id:
            raise ValidationFailed([FieldError("$.objectId", f"must be {doc_id!r}, the id in the URL")])
        current = self.get(principal, doc_type, doc_id)
        return self._write(principal, doc_type, document, self._expected_etag(if_match, current), current)

    def patch(
        self,
        principal: Principal,
        doc_type: str,
        doc_id: str,
        patch: Any,
        media_type: str,
        if_match: list[str] | None,
    ) -> Stored:
        if if_match is None:
            raise PreconditionRequired("This write needs If-Match with the ETag you last read")
        current = self.get(principal, doc_type, doc_id)
        if self._expected_etag(if_match, current) != current.etag:
            raise PreconditionFailed("The document changed since you read it: its ETag no longer matches If-Match")
        if media_type == MERGE_PATCH:
            merged = merge_patch(current.document(), patch)
        elif isinstance(patch, dict):
            merged = merge_by_object_id(current.document(), patch)
        else:
            raise BadRequest("An application/json PATCH body must be an object")
        if isinstance(merged, dict) and merged.get("objectId") != doc_id:
            raise ValidationFailed([FieldError("$.objectId", "cannot be changed")])
        # Conditional on the ETag the merge was computed from: a concurrent writer makes this 412.
        return self._write(principal, doc_type, merged, current.etag, current)

    def _write(self, principal: Principal, doc_type: str, document: Any, expected: str, current: Stored) -> Stored:
        body = self._validated(doc_type, document)
        item = self._item(doc_type, document, body, current.owner_id, version=current.version + 1)
        owner = None if principal.is_admin else principal.user_id
        try:
            return self.store.replace(item, expected, owner)
        finally:
            self.cache.delete(self._cache_key(doc_type, current.doc_id))

    def delete(self, principal: Principal, doc_type: str, doc_id: str, if_match: list[str] | None) -> None:
        current = self.get(principal, doc_type, doc_id)
        expected = None if if_match is None else self._expected_etag(if_match, current)
        owner = None if principal.is_admin else principal.user_id
        try:
            self.store.delete(doc_type, doc_id, expected, owner)
        finally:
            self.cache.delete(self._cache_key(doc_type, doc_id))

    # -- types ----------------------------------------------------------------------------

    def register_type(self, principal: Principal, doc_type: str, schema: Any) -> dict[str, Any]:
        if not TYPE_NAME.match(doc_type):
            raise BadRequest("A type name is 2-40 characters: a lower-case letter, then letters, digits or '-'")
        if doc_type in BUILTIN_TYPES:
            raise Conflict(f"{doc_type} is a built-in type")
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            path = "$" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in exc.path)
            raise ValidationFailed([FieldError(path, exc.message)]) from None
        schemas.validate("schema-registration", schema)
        body = canonical(schema)
        item = self._item(SCHEMA_TYPE, {"objectId": doc_type}, body, principal.user_id, version=1)
        self.store.create(item)
        self.types.forget(doc_type)
        self.on_type_registered(doc_type)
        return {"type": doc_type, "schema": schema}

    def schema_of(self, doc_type: str) -> dict[str, Any]:
        return self.types.schema(doc_type)
