"""The catalog's event handlers: the table's stream into the product index, and the stock refresh
that follows orders.

Both end in `ProductIndex.apply`, which writes each product at its item version: the stream
covers every catalog write; the stock refresh re-reads the products an order took or gave
back and indexes them as they are now, so a sold-out product stops showing stock even when
the stream's batch for that write was parked on its failure queue. Whichever is second finds
the version already indexed and does nothing.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import batch
from chalicelib.batch import Policy
from chalicelib.catalog.container import catalog
from chalicelib.catalog.indexer import IndexWrite, write_of_product, write_of_record
from chalicelib.catalog.resources import STOCK_QUEUE
from chalicelib.events.delivery import envelope_of
from chalicelib.jsonlog import get_logger
from chalicelib.resources import queue_name, stream_arn

handlers = Blueprint(__name__)
log = get_logger("catalog")


@handlers.on_dynamodb_record(stream_arn=stream_arn("catalog"), batch_size=100, starting_position="TRIM_HORIZON")
def on_catalog_change(event: Any) -> dict[str, Any]:
    records = list(event)
    writes: list[tuple[str, IndexWrite]] = []
    failed: list[str] = []
    for record in records:
        try:
            write = write_of_record(record.to_dict())
        except Exception:
            # A record that cannot become an index write fails alone; the rest are indexed.
            log.exception("unindexable catalog record", extra={"sequence_number": record.sequence_number})
            failed.append(record.sequence_number)
            continue
        if write is not None:
            writes.append((record.sequence_number, write))
    try:
        failed_ids = catalog().index.apply(write for _, write in writes)
    except Exception:
        log.exception("product indexing failed", extra={"records": len(writes)})
        failed_ids = {write.product_id for _, write in writes}
    failed += [sequence for sequence, write in writes if write.product_id in failed_ids]
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)


def product_ids_of(body: str) -> set[int]:
    """The products an order event moved stock of."""
    event = envelope_of(body)
    return {int(item["product_id"]) for item in event["data"].get("items", [])}


@handlers.on_sqs_message(queue=queue_name(STOCK_QUEUE), batch_size=10)
def refresh_stock(event: Any) -> dict[str, Any]:
    records = list(event)
    wanted: dict[str, set[int]] = {}
    failures = []
    for record in records:
        message_id = record.to_dict()["messageId"]
        try:
            wanted[message_id] = product_ids_of(record.body)
        except (ValueError, KeyError, TypeError):
            log.exception("not an order event", extra={"message_id": message_id})
            failures.append(message_id)
    product_ids = set().union(*wanted.values())
    try:
        # One read and one bulk request for the whole batch; a product several orders share is indexed once.
        stored = catalog().store.stored(product_ids)
        failed_ids = catalog().index.apply(write_of_product(s.product, s.deleted) for s in stored.values())
    except Exception:
        log.exception("stock refresh failed", extra={"products": len(product_ids)})
        failed_ids = product_ids
    failures += [message_id for message_id, ids in wanted.items() if ids & failed_ids]
    return batch.report(records, failures, Policy.MESSAGES)
