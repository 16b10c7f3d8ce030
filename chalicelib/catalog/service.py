"""The catalog's use cases: categories, product reads and admin writes, search, ingestion. Framework-free."""

from __future__ import annotations

from typing import Any

from chalicelib import schemas
from chalicelib.catalog.ingest import Ingestor
from chalicelib.catalog.products import CatalogStorage, Category, Product, slugify
from chalicelib.catalog.search import ProductSearch, SearchParams
from chalicelib.errors import BadRequest, Conflict, DependencyUnavailable, FieldError, NotFound, ValidationFailed
from chalicelib.merge_patch import merge_patch

# A merge computed from a read is written only if nothing moved since; orders move stock often.
PATCH_ATTEMPTS = 5
# Ids an ingestion may bring while a generated one is being chosen.
ID_ATTEMPTS = 10


class CatalogService:
    def __init__(self, store: CatalogStorage, search: ProductSearch, ingestor: Ingestor) -> None:
        self.store = store
        self.search_index = search
        self.ingestor = ingestor

    # -- categories -------------------------------------------------------------------------

    def categories(self) -> list[dict[str, Any]]:
        try:
            counts: dict[str, int] | None = self.search_index.category_counts()
        except DependencyUnavailable:
            # The categories are still worth listing; the counts come back with search.
            counts = None
        return [
            {
                "slug": c.slug,
                "name": c.name,
                "product_count": None if counts is None else counts.get(c.slug, 0),
                "url": f"/api/v1/products?category={c.slug}",
            }
            for c in sorted(self.store.categories(), key=lambda c: c.slug)
        ]

    def create_category(self, data: dict[str, Any]) -> dict[str, Any]:
        """The slug is the client's, or derived from the name; either way an existing one is 409."""
        slug = data.get("slug") or slugify(data["name"])
        if not slug:
            raise ValidationFailed([FieldError("$.slug", "cannot be derived from this name; send a slug")])
        self.store.create_category(Category(slug, data["name"]))
        return {"slug": slug, "name": data["name"], "product_count": 0}

    def rename_category(self, slug: str, data: dict[str, Any]) -> dict[str, Any]:
        self.store.rename_category(Category(slug, data["name"]))
        return {"slug": slug, "name": data["name"]}

    def delete_category(self, slug: str) -> None:
        if self.store.category(slug) is None:
            raise NotFound(f"No category {slug!r}")
        count = self.search_index.category_counts().get(slug, 0)
        if count:
            raise Conflict(f"Category {slug!r} still has {count} product(s); move or delete them first")
        self.store.delete_category(slug)

    # -- products ---------------------------------------------------------------------------

    def product(self, product_id: int) -> Product:
        product = self.store.product(product_id)
        if product is None:
            raise NotFound(f"No product {product_id}")
        return product

    def search(self, params: SearchParams) -> dict[str, Any]:
        return self.search_index.search(params)

    def _check_category(self, data: dict[str, Any]) -> None:
        if self.store.category(data["category"]) is None:
            raise ValidationFailed(
                [FieldError("$.category", f"no category {data['category']!r}; an administrator creates it first")]
            )

    def create_product(self, data: dict[str, Any]) -> Product:
        self._check_category(data)
        if "id" in data:
            return self.store.put_product(Product.from_json(data["id"], data), replace=False)
        for _ in range(ID_ATTEMPTS):
            try:
                return self.store.put_product(Product.from_json(self.store.next_product_id(), data), False)
            except Conflict:
                continue
        raise Conflict("Could not allocate a product id; try again")

    def replace_product(self, product_id: int, data: dict[str, Any]) -> Product:
        if data.get("id", product_id) != product_id:
            raise ValidationFailed([FieldError("$.id", "must match the id in the path")])
        self._check_category(data)
        return self.store.put_product(Product.from_json(product_id, data), replace=True)

    def patch_product(self, product_id: int, patch: Any) -> Product:
        """RFC 7396 merge into the stored product; the result must be a valid product."""
        if not isinstance(patch, dict):
            raise BadRequest("A PATCH body must be a JSON object")
        for _ in range(PATCH_ATTEMPTS):
            current = self.product(product_id)
            merged = merge_patch(current.to_json(), patch)
            schemas.validate("product", merged)
            if merged.get("id") != product_id:
                raise ValidationFailed([FieldError("$.id", "cannot be changed")])
            if merged["category"] != current.category:
                self._check_category(merged)
            try:
                return self.store.update_product(Product.from_json(product_id, merged), current.version)
            except Conflict:
                continue
        raise Conflict(f"Product {product_id} is changing too often to merge into; try again")

    def delete_product(self, product_id: int) -> None:
        self.store.delete_product(product_id)

    # -- ingestion --------------------------------------------------------------------------

    def ingest(self, request: dict[str, Any]) -> dict[str, Any]:
        source = request.get("source") or request.get("products") or []
        return self.ingestor.run(source, page_size=request.get("page_size", 100)).to_json()
