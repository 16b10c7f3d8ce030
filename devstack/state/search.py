"""OpenSearch across restarts: rebuilt from the tables, except the log indexes, which are kept.

The document and product indexes are derived data. After a restore they are rebuilt from
DynamoDB through the platform's own rebuilds (the documents context's, the same code the
`reindex` task runs, and the catalog's), so an index can never hold what its table does not.

Log events are the exception: they live in OpenSearch only (chalicelib/observability). A
snapshot keeps the log indexes (definition and documents); and the log queue's messages that
were consumed after that snapshot come back at the restore (`redeliver_queues`), so the log
indexer writes them again: it is idempotent (an event's id is its document id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import clients, resources
from chalicelib.config import Settings
from chalicelib.observability.resources import LOGS_KEY

log = logging.getLogger("devstack.state")

DOCS_PER_RECORD = 1000
# What OpenSearch reports about an index but a create request may not set.
GENERATED_SETTINGS = ("creation_date", "uuid", "version", "provided_name")


def redeliver_queues(settings: Settings) -> frozenset[str]:
    return frozenset({resources.queue_name(LOGS_KEY, settings)})


def dump_logs(settings: Settings) -> Iterator[dict[str, Any]]:
    """The log indexes as snapshot records: each index's definition, then its documents."""
    from opensearchpy import helpers

    client = clients.opensearch(settings)
    alias = settings.resource_name(LOGS_KEY)
    if not client.indices.exists_alias(name=alias):
        return
    for index in sorted(client.indices.get_alias(name=alias)):
        client.indices.refresh(index=index)
        definition = client.indices.get(index=index)[index]
        index_settings = {k: v for k, v in definition["settings"]["index"].items() if k not in GENERATED_SETTINGS}
        body = {"mappings": definition["mappings"], "settings": {"index": index_settings}}
        yield {"k": "search.index", "name": index, "body": {**body, "aliases": definition["aliases"]}}
        docs = []
        for hit in helpers.scan(client, index=index, query={"query": {"match_all": {}}}, size=DOCS_PER_RECORD):
            docs.append({"_id": hit["_id"], "_source": hit["_source"]})
            if len(docs) == DOCS_PER_RECORD:
                yield {"k": "search.docs", "index": index, "docs": docs}
                docs = []
        if docs:
            yield {"k": "search.docs", "index": index, "docs": docs}


def restore_logs(records: list[dict[str, Any]], settings: Settings) -> int:
    """Put dumped log indexes back; the number of documents."""
    from opensearchpy import helpers

    client = clients.opensearch(settings)
    documents = 0
    for record in records:
        if record["k"] == "search.index":
            if not client.indices.exists(index=record["name"]):
                client.indices.create(index=record["name"], body=record["body"])
            continue
        actions = [{"_op_type": "index", "_index": record["index"], **doc} for doc in record["docs"]]
        helpers.bulk(client, actions, refresh=False)
        documents += len(actions)
    if documents:
        client.indices.refresh(index=settings.resource_name(LOGS_KEY))
    return documents


def rebuild_derived() -> dict[str, Any]:
    """Every document type's index and the product index, from the tables: the documents and
    the products side by side (OpenSearch indexes while Python reads the next page)."""
    from chalicelib.catalog.container import catalog
    from chalicelib.documents.container import documents as stored

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        products = pool.submit(catalog().rebuild_index)
        rebuild, names = stored().rebuild_index, stored().service.types.names()
        documents = {doc_type: rebuild(doc_type)["documents"] for doc_type in names}
        product_count = products.result()["products"]
    return {"documents": documents, "products": product_count, "seconds": round(time.perf_counter() - started, 3)}
