"""The catalog's resources: one table (categories, products, the id counter) whose stream feeds
the `catalog-products` search index, and the queue that refreshes stock after orders."""

from chalicelib.resources import EventRule, Key, QueueSpec, SearchIndexSpec, TableSpec, declare

PRODUCTS_INDEX = "catalog-products"
STOCK_QUEUE = "catalog-stock"
CATALOG_TABLE = TableSpec(
    key="catalog",
    hash_key=Key("pk"),
    range_key=Key("sk"),
    stream=True,
    stream_failure_queue="catalog-stream-failures",
)

_TEXT_AND_KEYWORD = {"type": "keyword", "fields": {"text": {"type": "text"}}}

declare(
    CATALOG_TABLE,
    QueueSpec(key="catalog-stream-failures", dead_letter=False),
    QueueSpec(key=STOCK_QUEUE),
    # Orders move stock: the index learns of it again from the events (chalicelib/catalog/handlers.py).
    EventRule(key="catalog-stock-refresh", detail_types=("order.created", "order.status_changed"), queue=STOCK_QUEUE),
    SearchIndexSpec(
        key=PRODUCTS_INDEX,
        mappings={
            # The whole product is the _source (a search hit is a full product), but only the
            # fields below are indexed: DummyJSON records carry reviews and metadata nobody searches.
            "dynamic": False,
            "properties": {
                "id": {"type": "long"},
                "title": {"type": "text"},
                # Lower-cased when indexed (osmem does not apply keyword normalizers).
                "title_sort": {"type": "keyword"},
                "description": {"type": "text"},
                # Facets and filters need exact values; relevance needs analysed text.
                "category": _TEXT_AND_KEYWORD,
                "brand": _TEXT_AND_KEYWORD,
                "tags": _TEXT_AND_KEYWORD,
                "sku": {"type": "keyword"},
                "price": {"type": "double"},
                "discountPercentage": {"type": "double"},
                "rating": {"type": "double"},
                "stock": {"type": "integer"},
                "in_stock": {"type": "boolean"},
                "created_at": {"type": "double"},
            },
        },
    ),
)
