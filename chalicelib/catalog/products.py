"""A product in the DummyJSON shape, and the forms it takes: stored, indexed, served; categories;
and the storage the catalog's services need (`CatalogStorage`: chalicelib/catalog/store.py is it
over DynamoDB).

Kept free of storage imports so the stream handler and the routes load without PynamoDB.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.errors import NotFound

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Served from top-level attributes, never from the stored body.
OWN_FIELDS = ("id", "stock")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def slugify(name: str, max_length: int = 60) -> str:
    """`Home & Kitchen` → `home-kitchen`: python-slugify's rule without its transliteration
    tables (accents fold to ASCII, every other run of characters becomes one hyphen), cut to
    fit. Empty when nothing in the name is Latin."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].rstrip("-")


def category_name(slug: str) -> str:
    """`home-decoration` → `Home Decoration`: the name a category gets when ingestion creates it."""
    return " ".join(part.capitalize() for part in slug.split("-"))


@dataclass(frozen=True)
class Product:
    id: int
    fields: dict[str, Any]
    stock: int
    version: int = 0
    created_at: float = 0.0

    @classmethod
    def from_json(cls, product_id: int, data: dict[str, Any]) -> Product:
        fields = {name: value for name, value in data.items() if name not in OWN_FIELDS}
        return cls(id=product_id, fields=fields, stock=int(data.get("stock", 0)))

    @classmethod
    def from_stored(cls, product_id: int, body: str, stock: int, version: int, created_at: float = 0.0) -> Product:
        return cls(id=product_id, fields=json.loads(body), stock=stock, version=version, created_at=created_at)

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def category(self) -> str:
        return str(self.fields.get("category", ""))

    @property
    def price(self) -> float:
        return float(self.fields.get("price", 0))

    @property
    def thumbnail(self) -> str | None:
        thumbnail = self.fields.get("thumbnail")
        return thumbnail if isinstance(thumbnail, str) else None

    def body_json(self) -> str:
        return canonical(self.fields)

    def content_hash(self) -> str:
        """Equal for equal content: ingestion skips records whose hash is already stored."""
        return hashlib.sha256(canonical({"fields": self.fields, "stock": self.stock}).encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.fields, "stock": self.stock}

    def index_source(self) -> dict[str, Any]:
        return {**self.to_json(), **self.search_fields()}

    def search_fields(self) -> dict[str, Any]:
        """Indexed beside the product for filtering and sorting; not part of the served product."""
        return {"in_stock": self.stock > 0, "created_at": self.created_at, "title_sort": self.title.lower()}

    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


@dataclass(frozen=True)
class StoredProduct:
    """A product as stored, tombstone or not, with the hash of the content last written from a
    source (ingestion compares it, not the stock orders have taken since)."""

    product: Product
    deleted: bool
    content_hash: str


@dataclass(frozen=True)
class Category:
    slug: str
    name: str


class CatalogStorage(Protocol):
    """Categories, products and the id counter. Writes are conditional: Conflict when a create
    finds the id or slug taken (or an update finds the version moved on), NotFound when the
    product or category is gone."""

    def categories(self) -> list[Category]: ...

    def category(self, slug: str) -> Category | None: ...

    def create_category(self, category: Category) -> None: ...

    def ensure_categories(self, categories: Iterable[Category]) -> list[str]:
        """Create the categories that do not exist yet; their slugs."""

    def rename_category(self, category: Category) -> None: ...

    def delete_category(self, slug: str) -> None: ...

    def product(self, product_id: int, consistent: bool = False) -> Product | None: ...

    def products(self, product_ids: Iterable[int], consistent: bool = False) -> dict[int, Product]:
        """The live products among `product_ids`, by id."""

    def stored(self, product_ids: Iterable[int]) -> dict[int, StoredProduct]:
        """Every stored product among `product_ids`, tombstones included."""

    def every_product(self) -> Iterator[StoredProduct]:
        """Every stored product, tombstones included (an index rebuild reads them all)."""

    def put_product(self, product: Product, replace: bool) -> Product:
        """Create (only if absent or deleted) or replace (only if live) a product."""

    def update_product(self, product: Product, expected_version: int) -> Product: ...

    def delete_product(self, product_id: int) -> None: ...

    def write_products(self, products: list[tuple[Product, StoredProduct | None]]) -> list[Product]:
        """Upsert each product over the stored one it was compared with."""

    def next_product_id(self) -> int: ...

    def raise_product_ids_above(self, product_id: int) -> None: ...


def parse_product_id(raw: str) -> int:
    """A path segment as a product id; anything else names no product."""
    if not raw.isdigit() or len(raw) > 16:
        raise NotFound(f"No product {raw}")
    return int(raw)
