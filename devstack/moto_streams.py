"""DynamoDB streams that keep what a reader may still ask for, not everything ever written.

moto keeps every stream record of a table for as long as the process lives, and every shard
iterator it ever handed out: each GetRecords mints a new one (a 632-character id) and none is
dropped. The event runtime polls each stream several times a second, so an idle local cloud
grew by megabytes an hour, and a busy one by every image it ever wrote (a plan's old and new
image, ~10 KB, per write).

DynamoDB keeps records for 24 hours and lets an iterator expire after 15 minutes. Here:

- A reader is a chain of iterators: GetShardIterator starts one, each GetRecords continues it.
  A chain keeps only its last two iterators (the one just used, so a retried request still
  works, and the one handed out); older ones answer ExpiredIteratorException, and so does a
  chain unused for 15 minutes (ITERATOR_TTL_S), as in DynamoDB.
- A chain's position is where its last GetRecords began: a reader asks for the next batch only
  once it is done with the one before (the event runtime checkpoints that way, as Lambda does).
  Records before the position of every live chain of a shard are dropped. A stream nobody reads
  keeps everything, as before.
- A position before what is kept answers TrimmedDataAccessException, as in DynamoDB past 24 hours.

Trimming happens only inside GetRecords, which devstack/moto_serial.py runs under the lock of
DynamoDB's own requests, so it never meets a transaction that is still running (a cancelled one
truncates its shard to the length it had).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ITERATOR_TTL_S = 15 * 60
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

_applied = False
clock: Callable[[], float] = time.monotonic


@dataclass(eq=False)
class _Chain:
    shard: Any
    position: int
    used_at: float
    iterators: list[str] = field(default_factory=list)


class _Readers:
    """The live chains of one streams backend (one region)."""

    def __init__(self) -> None:
        self.chain_of: dict[str, _Chain] = {}

    def start(self, backend: Any, iterator: Any) -> None:
        self._expire(backend)
        chain = _Chain(iterator.stream_shard, iterator.sequence_number, clock())
        self._hand_out(chain, iterator.arn)

    def read(self, backend: Any, arn: str, get: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        self._expire(backend)
        iterator = backend.shard_iterators.get(arn)
        chain = self.chain_of.get(arn)
        if iterator is None or chain is None:
            raise _error("ExpiredIteratorException", "Iterator expired or never handed out")
        if iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
            raise _error("TrimmedDataAccessException", "The records at this iterator were trimmed")
        answer = get()
        chain.position, chain.used_at = iterator.sequence_number, clock()
        # Only this iterator (a retry may repeat it) and the next one stay valid.
        for spent in chain.iterators:
            if spent != arn:
                self._drop(backend, spent)
        chain.iterators = [arn]
        self._hand_out(chain, answer["NextShardIterator"])
        self._trim(chain.shard)
        return answer

    def _hand_out(self, chain: _Chain, arn: str) -> None:
        chain.iterators.append(arn)
        self.chain_of[arn] = chain

    def _drop(self, backend: Any, arn: str) -> None:
        self.chain_of.pop(arn, None)
        backend.shard_iterators.pop(arn, None)

    def _expire(self, backend: Any) -> None:
        deadline = clock() - ITERATOR_TTL_S
        for chain in {chain for chain in self.chain_of.values() if chain.used_at < deadline}:
            for arn in chain.iterators:
                self._drop(backend, arn)

    def _trim(self, shard: Any) -> None:
        positions = [chain.position for chain in set(self.chain_of.values()) if chain.shard is shard]
        unread = min(positions, default=shard.starting_sequence_number) - shard.starting_sequence_number
        if unread > 0:
            del shard.items[:unread]
            shard.starting_sequence_number += unread


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(ERROR_PREFIX + code, message)


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator
    get_records = DynamoDBStreamsBackend.get_records

    def readers_of(backend: Any) -> _Readers:
        # Kept on the backend, so moto's reset (which re-initialises it) forgets them too.
        if not isinstance(getattr(backend, "devstack_readers", None), _Readers):
            backend.devstack_readers = _Readers()
        return backend.devstack_readers

    @functools.wraps(get_shard_iterator)
    def started(self: Any, arn: str, shard_id: str, iterator_type: str, sequence_number: Any = None) -> Any:
        iterator = get_shard_iterator(self, arn, shard_id, iterator_type, sequence_number)
        if iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
            self.shard_iterators.pop(iterator.arn, None)
            raise _error("TrimmedDataAccessException", f"Sequence number {sequence_number} is no longer kept")
        readers_of(self).start(self, iterator)
        return iterator

    @functools.wraps(get_records)
    def read(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        return readers_of(self).read(self, iterator_arn, lambda: get_records(self, iterator_arn, limit))

    DynamoDBStreamsBackend.get_shard_iterator = started  # type: ignore[assignment]  # wraps' result is the function
    DynamoDBStreamsBackend.get_records = read
    _applied = True
