"""The registry of document types keeps a bounded cache, whatever names clients ask for."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.documents.service import TypeRegistry
from chalicelib.errors import NotFound


class FakeStore:
    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.reads = 0

    def get(self, owner: str, doc_type: str, doc_id: str) -> Any:
        self.reads += 1
        schema = self.schemas.get(doc_id)
        return None if schema is None else type("Stored", (), {"document": lambda _: schema})()


def test_names_that_are_no_type_cannot_grow_the_cache_past_its_bound() -> None:
    store = FakeStore({"invoice": {"type": "object"}})
    registry = TypeRegistry(store, max_types=8)
    assert registry.schema("invoice") == {"type": "object"}
    for n in range(100):
        with pytest.raises(NotFound):
            registry.schema(f"nothing-{n}")
        registry.schema("invoice")  # asked often: stays cached
    assert len(registry._cache) == 8
    assert store.reads == 101, "the known type was read once, each unknown name once"
