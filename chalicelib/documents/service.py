"""Structured documents: JSON Schema validation, ETags, conditional writes, merge PATCH, a
read-through cache, and types registered at run time. Framework-free.

A document is identified by (owner, type, objectId) everywhere: the table key, the cache key,
the index document id. Every read and write names the owner, so another owner's document with
the same objectId is, to the caller, a document that does not exist: 404 on reads and writes,
201 when the caller creates their own.
"""

from __future__ import annotations

import builtins
import itertools
import json
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import schemas
from chalicelib.cache import Cache
from chalicelib.documents.merge import merge_by_object_id
from chalicelib.documents.types import (
    BUILTIN_TYPES,
    PLATFORM,
    SCHEMA_TYPE,
    TYPE_NAME,
    DocumentStorage,
    Stored,
    canonical,
    etag_of,
)
from chalicelib.errors import (
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from chalicelib.http import paging
from chalicelib.merge_patch import MERGE_PATCH, merge_patch
from chalicelib.principal import Principal

MAX_PAGE = 100
MAX_OFFSET = 10_000
MAX_OBJECT_ID = 200


def object_id_problem(object_id: str) -> str | None:
    """Why `object_id` cannot name a document (it is a key, a URL segment and a header value), or None."""
    if not 1 <= len(object_id) <= MAX_OBJECT_ID:
        return f"must be 1 to {MAX_OBJECT_ID} characters"
    if "/" in object_id or any(unicodedata.category(c)[0] in "CZ" and c != " " for c in object_id):
        return "must not hold '/', control, format or line-break characters"
    if object_id != object_id.strip():
        return "must not start or end with a space"
    return None


def _object_id_errors(value: Any, path: str = "$") -> list[FieldError]:
    """Every objectId in a document (a plan holds many) that cannot name an object."""
    errors: list[FieldError] = []
    if isinstance(value, dict):
        object_id = value.get("objectId")
        if isinstance(object_id, str) and (problem := object_id_problem(object_id)):
            errors.append(FieldError(f"{path}.objectId", problem))
        for name, item in value.items():
            errors += _object_id_errors(item, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors += _object_id_errors(item, f"{path}[{index}]")
    return errors


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


class TypeRegistry:
    """Schemas by type: the built-ins ship as files; registered ones live in the table and are
    cached briefly per process so validation costs no read per request. The cache holds the
    most recently asked `max_types` names: a name that is no type is remembered too (as none),
    and clients can ask for any number of those."""

    def __init__(
        self,
        store: DocumentStorage,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_types: int = 256,
    ):
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_types = max_types
        self._cache: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def schema(self, doc_type: str) -> dict[str, Any]:
        if doc_type in BUILTIN_TYPES:
            return schemas.load(doc_type)
        with self._lock:
            cached = self._cache.get(doc_type)
            if cached is not None:
                self._cache.move_to_end(doc_type)
        if cached is None or self.clock() - cached[0] > self.ttl_s:
            stored = self.store.get(PLATFORM, SCHEMA_TYPE, doc_type) if TYPE_NAME.match(doc_type) else None
            cached = (self.clock(), stored.document() if stored else None)
            with self._lock:
                self._cache[doc_type] = cached
                self._cache.move_to_end(doc_type)
                while len(self._cache) > self.max_types:
                    self._cache.popitem(last=False)
        if cached[1] is None:
            raise NotFound(f"No document type {doc_type!r}; an administrator registers it at /api/v1/schemas/{{type}}")
        return cached[1]

    def names(self) -> list[str]:
        """Every document type that may have stored documents: the built-ins and each registered one."""
        return [*BUILTIN_TYPES, *self.store.registered_types()]

    def forget(self, doc_type: str) -> None:
        with self._lock:
            self._cache.pop(doc_type, None)


class DocumentService:
    def __init__(
        self,
        store: DocumentStorage,
        types: TypeRegistry,
        cache: Cache,
        on_type_registered: Callable[[str, dict[str, Any]], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.types = types
        self.cache = cache
        self.on_type_registered = on_type_registered
        self.clock = clock

    # -- reading --------------------------------------------------------------------------

    def _cache_key(self, owner_id: str, doc_type: str, doc_id: str) -> str:
        return self.cache.key(owner_id, doc_type, doc_id)

    def _load(self, owner_id: str, doc_type: str, doc_id: str) -> Stored | None:
        key = self._cache_key(owner_id, doc_type, doc_id)
        cached = self.cache.get(key)
        if cached is not None:
            return Stored(**json.loads(cached))
        stored = self.store.get(owner_id, doc_type, doc_id)
        if stored is not None:
            self.cache.add(key, json.dumps(stored.__dict__).encode())
        return stored

    def get(self, principal: Principal, doc_type: str, doc_id: str, owner: str | None = None) -> Stored:
        self.types.schema(doc_type)
        stored = self._load(principal.acting_for(owner), doc_type, doc_id)
        if stored is None:
            raise NotFound(f"No {doc_type} {doc_id}")
        return stored

    def _current(self, principal: Principal, doc_type: str, doc_id: str, owner: str | None) -> Stored:
        """What a conditional write is judged against: the table, never the cache, which may
        still hold a version another process has since replaced."""
        self.types.schema(doc_type)
        stored = self.store.get(principal.acting_for(owner), doc_type, doc_id)
        if stored is None:
            raise NotFound(f"No {doc_type} {doc_id}")
        return stored

    def list(
        self,
        principal: Principal,
        doc_type: str,
        org: str | None = None,
        limit: int = 20,
        offset: int = 0,
        cursor: str | None = None,
        owner: str | None = None,
    ) -> Page:
        self.types.schema(doc_type)
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        if not 0 <= offset <= MAX_OFFSET:
            raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}")
        owner_id = principal.acting_for(owner)
        after = paging.decode_cursor(cursor, paging.is_string) if cursor else None
        if offset:
            # Where the page starts, counted without reading the documents it skips.
            after = self.store.skip(owner_id, doc_type, org, after, offset)
            if after is None:
                return Page([], None)
        items = list(itertools.islice(self.store.page(owner_id, doc_type, org, after, limit + 1), limit + 1))
        next_cursor = paging.encode_cursor(items[limit - 1].doc_id) if len(items) > limit else None
        items = items[:limit]
        return Page([s.document() for s in items], next_cursor)

    # -- writing --------------------------------------------------------------------------

    def _validated(self, doc_type: str, document: Any) -> str:
        problems = schemas.field_errors(self.types.schema(doc_type), document)
        if not problems and not (isinstance(document, dict) and isinstance(document.get("objectId"), str)):
            problems = [FieldError("$.objectId", "Every document needs a string objectId")]
        problems += _object_id_errors(document)
        if problems:
            raise ValidationFailed(problems)
        return canonical(document)

    def _stored(self, doc_type: str, document: dict[str, Any], body: str, owner_id: str, version: int) -> Stored:
        return Stored(
            doc_type=doc_type,
            doc_id=document["objectId"],
            body=body,
            etag=etag_of(body),
            version=version,
            owner_id=owner_id,
            org=document.get("_org"),
            updated_at=self.clock(),
        )

    def create(self, principal: Principal, doc_type: str, document: Any) -> Stored:
        body = self._validated(doc_type, document)
        stored = self.store.create(self._stored(doc_type, document, body, principal.user_id, version=1))
        self.cache.delete(self._cache_key(stored.owner_id, doc_type, stored.doc_id))
        return stored

    @staticmethod
    def _expected_etag(if_match: builtins.list[str] | None, current: Stored) -> str:
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
        self,
        principal: Principal,
        doc_type: str,
        doc_id: str,
        document: Any,
        if_match: builtins.list[str] | None,
        owner: str | None = None,
    ) -> Stored:
        if if_match is None:
            raise PreconditionRequired("This write needs If-Match with the ETag you last read")
        if isinstance(document, dict) and document.get("objectId") != doc_id:
            raise ValidationFailed([FieldError("$.objectId", f"must be {doc_id!r}, the id in the URL")])
        current = self._current(principal, doc_type, doc_id, owner)
        return self._write(doc_type, document, self._expected_etag(if_match, current), current)

    def patch(
        self,
        principal: Principal,
        doc_type: str,
        doc_id: str,
        patch: Any,
        media_type: str,
        if_match: builtins.list[str] | None,
        owner: str | None = None,
    ) -> Stored:
        if if_match is None:
            raise PreconditionRequired("This write needs If-Match with the ETag you last read")
        current = self._current(principal, doc_type, doc_id, owner)
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
        return self._write(doc_type, merged, current.etag, current)

    def _write(self, doc_type: str, document: Any, expected: str, current: Stored) -> Stored:
        body = self._validated(doc_type, document)
        replacement = self._stored(doc_type, document, body, current.owner_id, version=current.version + 1)
        try:
            return self.store.replace(replacement, expected)
        finally:
            self.cache.delete(self._cache_key(current.owner_id, doc_type, current.doc_id))

    def delete(
        self,
        principal: Principal,
        doc_type: str,
        doc_id: str,
        if_match: builtins.list[str] | None,
        owner: str | None = None,
    ) -> None:
        current = self._current(principal, doc_type, doc_id, owner)
        expected = None if if_match is None else self._expected_etag(if_match, current)
        try:
            self.store.delete(current.owner_id, doc_type, doc_id, expected)
        finally:
            self.cache.delete(self._cache_key(current.owner_id, doc_type, doc_id))

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
        self.store.create(self._stored(SCHEMA_TYPE, {"objectId": doc_type}, body, PLATFORM, version=1))
        self.types.forget(doc_type)
        self.on_type_registered(doc_type, schema)
        return {"type": doc_type, "schema": schema}

    def schema_of(self, doc_type: str) -> dict[str, Any]:
        return self.types.schema(doc_type)
