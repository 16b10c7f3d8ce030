"""The documents table's stream, read by two consumers: the indexer (OpenSearch and cache)
and the publisher of `document.created/updated/deleted`.

The stream is the outbox: both happen for every committed write, at least once, even if the
request that wrote it died a moment later. Two consumers, so a failure of one never makes
the other redo its work.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib import batch, events, search
from chalicelib.batch import Policy
from chalicelib.documents.container import documents
from chalicelib.documents.indexer import RecordActions, classify_errors, drop_stale, record_actions
from chalicelib.documents.resources import FAILURE_QUEUE
from chalicelib.documents.types import SCHEMA_TYPE
from chalicelib.jsonlog import get_logger
from chalicelib.resources import queue_name, stream_arn

handlers = Blueprint(__name__)
log = get_logger("documents")

EVENT_TYPES = {"INSERT": "document.created", "MODIFY": "document.updated", "REMOVE": "document.deleted"}


def _indexed_versions(planned: list[RecordActions]) -> dict[tuple[str, str], int]:
    """The version the index holds of each record's root document (absent: not indexed)."""
    from chalicelib import clients

    roots = sorted({(p.index, p.root) for p in planned})
    if not roots:
        return {}
    docs = [{"_index": index, "_id": root, "routing": root, "_source": False} for index, root in roots]
    found = clients.opensearch().mget(body={"docs": docs}).get("docs", [])
    # Answers come in request order and name the concrete index behind the alias.
    return {root: doc["_version"] for root, doc in zip(roots, found, strict=True) if doc.get("found")}


def _dead_letter(records: list[Any], reason: str) -> None:
    """Send records that can never be indexed to the failure queue, with the reason, so they are
    kept for inspection without holding back the shard behind them."""
    if not records:
        return
    from chalicelib import clients

    sqs = clients.aws("sqs")
    url = sqs.get_queue_url(QueueName=queue_name(FAILURE_QUEUE))["QueueUrl"]
    for record in records:
        body = {"reason": reason, "record": record.to_dict()}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body, default=str))
    log.error("documents dead-lettered", extra={"records": len(records), "reason": reason})


@handlers.on_dynamodb_record(stream_arn=stream_arn("documents"), batch_size=100, starting_position="TRIM_HORIZON")
def on_document_change(event: Any) -> dict[str, Any]:
    records = list(event)
    planned, unindexable = [], []
    for record in records:
        try:
            actions = record_actions(record.to_dict())
        except Exception:
            log.exception("unindexable document record", extra={"sequence_number": record.sequence_number})
            unindexable.append(record)
            continue
        if actions is not None:
            planned.append(actions)
    failed: list[str] = []
    try:
        current = drop_stale(planned, _indexed_versions(planned))
        bulk = [action for p in current for action in p.actions]
        outcome = classify_errors(current, search.bulk(bulk) if bulk else [])
        failed += outcome.retry
        refused = [r for r in records if r.sequence_number in outcome.poison]
    except Exception:
        # OpenSearch unreachable: nothing is indexed; the whole batch is retried.
        log.exception("indexing failed", extra={"records": len(planned)})
        failed += [p.sequence_number for p in planned]
        refused = []
    try:
        _dead_letter(unindexable, "the document cannot become index documents")
        _dead_letter(refused, "OpenSearch refused the document")
    except Exception:
        log.exception("could not dead-letter documents")
        failed += [r.sequence_number for r in (*unindexable, *refused)]
    cache = documents().cache
    cache.delete(*(cache.key(p.owner, p.doc_type, p.doc_id) for p in planned))
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)


@handlers.on_dynamodb_record(stream_arn=stream_arn("documents"), batch_size=100, starting_position="TRIM_HORIZON")
def publish_document_events(event: Any) -> dict[str, Any]:
    """A second consumer of the same stream, so publishing and indexing fail and retry apart."""
    records = list(event)
    published = {}
    for record in records:
        image = batch.image(record.new_image or record.old_image)
        doc_type = image["doc_type"]
        if doc_type == SCHEMA_TYPE:
            continue
        event_type = EVENT_TYPES[record.event_name]
        published[record.sequence_number] = events.envelope(
            event_type,
            {"type": doc_type, "id": batch.image(record.keys)["doc_id"], "owner": image["owner_id"]},
            event_id=events.stream_event_id(record.event_id, event_type),
        )
    try:
        refused = events.publish_many(list(published.values()))
    except Exception:
        log.exception("could not publish document events", extra={"events": len(published)})
        refused = {event["id"] for event in published.values()}
    failed = [seq for seq, event in published.items() if event["id"] in refused]
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)
