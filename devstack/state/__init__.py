"""Durable state for the embedded cloud: what moto holds survives restarts, kill -9 included.

    <data folder>/state/snapshot-000007.ndjson   the whole state as of the start of journal 7
    <data folder>/state/journal-000007.ndjson    every change since, in order
    <data folder>/state/journal-000008.ndjson    (a later run's changes, until the next snapshot)

Both files hold the same records, one JSON object a line (`"k"` says which kind); a snapshot
is simply the shortest journal that rebuilds the state from nothing. A start applies the
newest snapshot, then every journal from its number on, and starts a journal of its own; a
compaction (at a clean stop, and while running once the journals outgrow a threshold) writes
a new snapshot and drops what it supersedes.

The services' modules each install hooks in moto (what changed → records), export their
whole state, and restore it from records: dynamodb, sqs, secretsmanager, events, ses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devstack.state import dynamodb, events, secretsmanager, ses, sqs

SERVICES = (dynamodb, sqs, secretsmanager, events, ses)


def install() -> None:
    """Hook every persisted service (idempotent; nothing is recorded until a journal is set)."""
    for service in SERVICES:
        service.install()


def export() -> Iterator[dict[str, Any]]:
    for service in SERVICES:
        yield from service.export()
