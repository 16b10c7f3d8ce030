"""The catalog table (PynamoDB): categories, products and the product id counter.

| item | pk | sk |
|---|---|---|
| category | `CATEGORY` | `<slug>` |
| product | `PRODUCT#<id>` | `PRODUCT` |
| id counter | `COUNTER` | `product` |

A product keeps its stock as a top-level number so an order can decrement it under a
condition (`StockSteps`, the port the orders context's transactions take stock through), and
everything else as canonical JSON in `body`. Every write
adds one to `version`, which the search index uses as an external version: whichever of the
writers (stream, ingestion, stock refresh) arrives late cannot move the index backwards. A
deleted product is a tombstone (`deleted = true`), so its version keeps counting if it returns.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.catalog.products import Category, Product, StoredProduct
from chalicelib.dynamo import KeyedItem, Transaction, condition_failed, unbound_meta
from chalicelib.errors import Conflict, NotFound


class CatalogItem(KeyedItem):
    Meta = unbound_meta()


class CategoryItem(CatalogItem):
    PK = "CATEGORY"

    name = UnicodeAttribute()
    created_at = NumberAttribute()


class ProductItem(CatalogItem):
    SK = "PRODUCT"

    product_id = NumberAttribute()
    body = UnicodeAttribute()
    stock = NumberAttribute()
    version = NumberAttribute()
    content_hash = UnicodeAttribute()
    deleted = BooleanAttribute(default=False)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    @staticmethod
    def key(product_id: int) -> tuple[str, str]:
        return f"PRODUCT#{product_id}", ProductItem.SK

    def product(self) -> Product:
        return Product.from_stored(
            int(self.product_id), self.body, int(self.stock), int(self.version), float(self.created_at)
        )

    def stored(self) -> StoredProduct:
        return StoredProduct(self.product(), bool(self.deleted), self.content_hash)


class CounterItem(CatalogItem):
    value = NumberAttribute()


_COUNTER_KEY = ("COUNTER", "product")


class StockSteps:
    """Catalog's port for orders: the steps that take stock for an order and give it back, as
    parts of the orders context's own transactions (an order, its stock and its cart commit
    together or not at all)."""

    def take(self, transaction: Transaction, product_id: int, quantity: int, refusal: Hashable) -> None:
        """Take `quantity` if the product is live and has that much; else the transaction is
        refused with `refusal`."""
        item, actions = _stock_change(product_id, -quantity)
        condition = (ProductItem.stock >= quantity) & (ProductItem.deleted == False)  # noqa: E712
        transaction.update(item, actions=actions, condition=condition, refusal=refusal)

    def give_back(self, transaction: Transaction, product_id: int, quantity: int) -> None:
        item, actions = _stock_change(product_id, quantity)
        transaction.update(item, actions=actions, condition=ProductItem.pk.exists())


def _stock_change(product_id: int, delta: int) -> tuple[ProductItem, list[Any]]:
    # Every write moves the version on: the index takes each product at its item version.
    return ProductItem(*ProductItem.key(product_id)), [ProductItem.stock.add(delta), ProductItem.version.add(1)]


class CatalogStore:
    # -- categories -------------------------------------------------------------------------

    def categories(self) -> list[Category]:
        return [Category(item.sk, item.name) for item in CategoryItem.query(CategoryItem.PK)]

    def category(self, slug: str) -> Category | None:
        try:
            item = CategoryItem.get(CategoryItem.PK, slug)
        except DoesNotExist:
            return None
        return Category(item.sk, item.name)

    def create_category(self, category: Category) -> None:
        item = CategoryItem(CategoryItem.PK, category.slug, name=category.name, created_at=time.time())
        try:
            item.save(condition=CategoryItem.sk.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                raise Conflict(f"A category {category.slug!r} exists") from None
            raise

    def ensure_categories(self, categories: Iterable[Category]) -> list[str]:
        """Create the categories that do not exist yet; their slugs."""
        wanted = {c.slug: c for c in categories}
        existing = {item.sk for item in CategoryItem.batch_get([(CategoryItem.PK, slug) for slug in wanted])}
        created = []
        for slug in sorted(set(wanted) - existing):
            # Two ingestions racing to create one category: the loser has nothing left to do.
            with contextlib.suppress(Conflict):
                self.create_category(wanted[slug])
                created.append(slug)
        return created

    def rename_category(self, category: Category) -> None:
        try:
            CategoryItem(CategoryItem.PK, category.slug).update(
                actions=[CategoryItem.name.set(category.name)], condition=CategoryItem.sk.exists()
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise NotFound(f"No category {category.slug!r}") from None
            raise

    def delete_category(self, slug: str) -> None:
        try:
            CategoryItem(CategoryItem.PK, slug).delete(condition=CategoryItem.sk.exists())
        except DeleteError as exc:
            if condition_failed(exc):
                raise NotFound(f"No category {slug!r}") from None
            raise

    # -- products ---------------------------------------------------------------------------

    def product(self, product_id: int, consistent: bool = False) -> Product | None:
        try:
            item = ProductItem.get(*ProductItem.key(product_id), consistent_read=consistent)
        except DoesNotExist:
            return None
        return None if item.deleted else item.product()

    def products(self, product_ids: Iterable[int], consistent: bool = False) -> dict[int, Product]:
        """The live products among `product_ids`, by id (tombstones and unknown ids left out)."""
        keys = [ProductItem.key(product_id) for product_id in sorted(set(product_ids))]
        items = ProductItem.batch_get(keys, consistent_read=consistent) if keys else []
        return {int(item.product_id): item.product() for item in items if not item.deleted}

    def stored(self, product_ids: Iterable[int]) -> dict[int, StoredProduct]:
        """Every stored product among `product_ids`, tombstones included (ingestion's upsert reads)."""
        keys = [ProductItem.key(product_id) for product_id in sorted(set(product_ids))]
        items = ProductItem.batch_get(keys, consistent_read=True) if keys else []
        return {int(item.product_id): item.stored() for item in items}

    def every_product(self) -> Iterator[StoredProduct]:
        """Every stored product, tombstones included (a Scan: for a rebuild, not a hot path)."""
        for item in ProductItem.scan(ProductItem.sk == ProductItem.SK, consistent_read=True, page_size=500):
            yield item.stored()

    def put_product(self, product: Product, replace: bool) -> Product:
        """Create (`replace=False`: only if absent or deleted) or replace (only if live) a product.

        One UpdateItem: the version is incremented by the table, not computed from a read, so
        a concurrent order decrementing stock cannot make this write fail or regress.
        """
        now = time.time()
        item = ProductItem(*ProductItem.key(product.id))
        actions: list[Action] = [
            ProductItem.product_id.set(product.id),
            ProductItem.body.set(product.body_json()),
            ProductItem.stock.set(product.stock),
            ProductItem.content_hash.set(product.content_hash()),
            ProductItem.deleted.set(False),
            ProductItem.version.add(1),
            ProductItem.created_at.set(ProductItem.created_at | now),
            ProductItem.updated_at.set(now),
        ]
        if replace:
            condition = ProductItem.pk.exists() & (ProductItem.deleted == False)  # noqa: E712 (a DynamoDB condition)
        else:
            condition = ProductItem.pk.does_not_exist() | (ProductItem.deleted == True)  # noqa: E712
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            if replace:
                raise NotFound(f"No product {product.id}") from None
            raise Conflict(f"A product with id {product.id} exists") from None
        return item.product()

    def update_product(self, product: Product, expected_version: int) -> Product:
        """Write a product read at `expected_version` (a merge computed from it); Conflict if it moved."""
        item = ProductItem(*ProductItem.key(product.id))
        actions: list[Action] = [
            ProductItem.body.set(product.body_json()),
            ProductItem.stock.set(product.stock),
            ProductItem.content_hash.set(product.content_hash()),
            ProductItem.version.add(1),
            ProductItem.updated_at.set(time.time()),
        ]
        condition = (ProductItem.version == expected_version) & (ProductItem.deleted == False)  # noqa: E712
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if condition_failed(exc):
                raise Conflict(f"Product {product.id} changed while it was being updated") from None
            raise
        return item.product()

    def delete_product(self, product_id: int) -> None:
        item = ProductItem(*ProductItem.key(product_id))
        try:
            item.update(
                actions=[
                    ProductItem.deleted.set(True),
                    ProductItem.version.add(1),
                    ProductItem.updated_at.set(time.time()),
                ],
                condition=ProductItem.pk.exists() & (ProductItem.deleted == False),  # noqa: E712
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise NotFound(f"No product {product_id}") from None
            raise

    def write_products(self, products: list[tuple[Product, StoredProduct | None]]) -> list[Product]:
        """Upsert in BatchWriteItem calls: each product over the stored item it was compared with.

        BatchWriteItem cannot be conditional, so the version comes from that earlier read, and
        an order landing in between is overwritten: a record that changed at its source brings
        its own stock. (A record that did not change is not written at all, so the stock that
        orders took since the last ingestion stays taken.)
        """
        now = time.time()
        items = [
            ProductItem(
                *ProductItem.key(product.id),
                product_id=product.id,
                body=product.body_json(),
                stock=product.stock,
                content_hash=product.content_hash(),
                deleted=False,
                version=(current.product.version if current else 0) + 1,
                created_at=current.product.created_at if current else now,
                updated_at=now,
            )
            for product, current in products
        ]
        with ProductItem.batch_write() as batch:
            for item in items:
                batch.save(item)
        return [item.product() for item in items]

    # -- ids --------------------------------------------------------------------------------

    def next_product_id(self) -> int:
        item = CounterItem(*_COUNTER_KEY)
        item.update(actions=[CounterItem.value.add(1)])
        return int(item.value)

    def raise_product_ids_above(self, product_id: int) -> None:
        """Keep generated ids clear of ids that ingestion brought in."""
        item = CounterItem(*_COUNTER_KEY)
        try:
            item.update(
                actions=[CounterItem.value.set(product_id)],
                condition=CounterItem.value.does_not_exist() | (CounterItem.value < product_id),
            )
        except UpdateError as exc:
            if not condition_failed(exc):  # already above: nothing to do
                raise
