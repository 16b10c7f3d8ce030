"""Observability's event handlers: the log indexer on the logs queue and the alert evaluator."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import batch, search
from chalicelib.batch import Policy
from chalicelib.jsonlog import get_logger
from chalicelib.observability.container import observability
from chalicelib.observability.indexer import classify, plan
from chalicelib.observability.resources import LOGS_KEY
from chalicelib.resources import queue_name

handlers = Blueprint(__name__)
log = get_logger("observability")


@handlers.on_sqs_message(queue=queue_name(LOGS_KEY), batch_size=10, maximum_batching_window_in_seconds=1)
def index_logs(event: Any) -> dict[str, Any]:
    """Bulk-writes the batch's events into their daily indexes; idempotent (event id = doc id)."""
    records = list(event)
    planned = plan(observability().logs_alias, [(record.to_dict()["messageId"], record.body) for record in records])
    if planned.malformed:
        # Not ours to retry: the ingest route and the shipper only send well-formed batches.
        log.error("malformed log messages dropped", extra={"messages": planned.malformed})
    if not planned.actions:
        return batch.report(records, (), Policy.MESSAGES)
    try:
        observability().templates.ensure()
        errors = search.bulk(planned.actions)
    except Exception:
        log.exception("log indexing failed", extra={"events": len(planned.actions)})
        retry = {planned.message_of[action["_id"]] for action in planned.actions}
    else:
        outcome = classify(planned, errors)
        if outcome.dropped:
            log.error("log events refused by the index", extra={"events": outcome.dropped})
        retry = outcome.retry
    return batch.report(records, retry, Policy.MESSAGES)


@handlers.schedule("rate(1 minute)")
def evaluate_alerts(event: Any) -> dict[str, int]:
    counts = observability().alerts.evaluate()
    log.info("alerts evaluated", extra=counts)
    return counts
