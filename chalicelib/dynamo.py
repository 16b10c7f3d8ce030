"""PynamoDB plumbing every context's store shares: models bound to a declared table by the
composition root that builds the store, transactions whose refusals name the steps that
were refused, and reading why a conditional write was refused."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar, cast

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import MetaProtocol, Model
from pynamodb.transactions import TransactWrite

from chalicelib.config import Settings
from chalicelib.resources import TableSpec

M = TypeVar("M", bound=Model)


class Unbound:
    """The `Meta` of a model no composition root has bound to its table yet: using it fails
    with PynamoDB's "must have a table_name" until `bind` names one."""

    table_name = None


def unbound_meta() -> MetaProtocol:
    return cast(MetaProtocol, type("Meta", (Unbound,), {}))


def bind(model: type[Model], table: TableSpec, settings: Settings) -> None:
    """Point `model`, and every item type that subclasses it, at the deployed `table`."""
    model.Meta.table_name = table.table_name(settings)
    model.Meta.region = settings.aws_region
    model.Meta.host = settings.aws_endpoint_url
    for cls in _with_subclasses(model):
        # A connection is made per class on first use: forget the ones of an earlier binding.
        cls._connection = None


def _with_subclasses(model: type[Model]) -> Iterator[type[Model]]:
    yield model
    for subclass in model.__subclasses__():
        yield from _with_subclasses(subclass)


class KeyedItem(Model):
    """The keys of a single-table design. A store's base subclasses it with a `Meta` of its own
    (`Meta = unbound_meta()`), and its item types subclass that base."""

    Meta = unbound_meta()
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Entry(MapAttribute[str, Any]):
    """A map of declared attributes inside an item (an entry of a history), made with keywords."""

    def __init__(self, **attributes: Any) -> None:
        # Only to give the constructor a signature: PynamoDB's has none, and mypy's
        # untyped_calls_exclude does not reach a call through super().
        super().__init__(**attributes)  # type: ignore[no-untyped-call]  # MapAttribute.__init__ is unannotated


def transaction_connection(model: type[Model]) -> Connection:
    """The connection TransactWrite uses for a model's table, one per endpoint and process: each
    Connection builds a botocore client of its own, and loading the service model costs about a
    tenth of a second. Read from the model's Meta at call time, so a rebound model follows."""
    return _connection(model.Meta.region, model.Meta.host)


@functools.cache
def _connection(region: str | None, host: str | None) -> Connection:
    return Connection(region=region, host=host)


class Refused(Exception):
    """A transaction DynamoDB cancelled because conditions did not hold; nothing was written.
    `refusals` holds what the refused steps were given as `refusal` (None for a step given none)."""

    def __init__(self, refusals: Sequence[Hashable | None]) -> None:
        super().__init__(f"transaction refused: {list(refusals)!r}")
        self.refusals = list(refusals)


Step = Callable[[TransactWrite], None]


class Transaction:
    """TransactWriteItems in which each step may carry a `refusal`: the caller's own name for its
    condition failing. Committing raises Refused with the names of the steps that failed, so no
    caller decodes a refusal by the position PynamoDB happened to send its step at."""

    # PynamoDB sends condition checks, then deletes, puts and updates, each kind in call order:
    # the order DynamoDB's cancellation reasons come back in.
    SEND_ORDER = ("check", "delete", "put", "update")

    def __init__(self) -> None:
        self._steps: list[tuple[str, Step, Hashable | None]] = []

    def check(
        self,
        model: type[Model],
        hash_key: str,
        range_key: str | None,
        condition: Condition,
        refusal: Hashable | None = None,
    ) -> None:
        self._steps.append(
            ("check", lambda write: write.condition_check(model, hash_key, range_key, condition=condition), refusal)
        )

    def delete(self, item: Model, condition: Condition | None = None, refusal: Hashable | None = None) -> None:
        self._steps.append(("delete", lambda write: write.delete(item, condition=condition), refusal))

    def save(self, item: Model, condition: Condition | None = None, refusal: Hashable | None = None) -> None:
        self._steps.append(("put", lambda write: write.save(item, condition=condition), refusal))

    def update(
        self,
        item: Model,
        actions: Sequence[Action],
        condition: Condition | None = None,
        refusal: Hashable | None = None,
    ) -> None:
        steps = list(actions)
        self._steps.append(("update", lambda write: write.update(item, actions=steps, condition=condition), refusal))

    def commit(self, connection: Connection) -> None:
        try:
            with TransactWrite(connection=connection) as write:
                for _, step, _ in self._steps:
                    step(write)
        except TransactWriteError as exc:
            failed = failed_conditions(exc)
            if not any(failed):
                raise
            sent = sorted(self._steps, key=lambda entry: self.SEND_ORDER.index(entry[0]))
            raise Refused([refusal for (_, _, refusal), bad in zip(sent, failed, strict=True) if bad]) from None


@contextlib.contextmanager
def transaction(model: type[Model]) -> Iterator[Transaction]:
    """A Transaction on the connection of `model`'s table, committed when the block ends well."""
    steps = Transaction()
    yield steps
    steps.commit(transaction_connection(model))


def get_or_none(model: type[M], hash_key: str, range_key: str | None = None) -> M | None:
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


def strings(values: list[Any]) -> tuple[str, ...]:
    """The values of a `ListAttribute(of=UnicodeAttribute)`, which PynamoDB types as a list of
    the attribute class rather than of what it holds."""
    return tuple(values)


def float_or_none(value: float | None) -> float | None:
    """A nullable NumberAttribute's value as a float (PynamoDB answers ints for whole numbers)."""
    return float(value) if value is not None else None


def int_or_none(value: float | None) -> int | None:
    return int(value) if value is not None else None


def condition_failed(exc: PynamoDBException) -> bool:
    """Was a write refused because its condition did not hold (not for any other reason)?"""
    return exc.cause_response_code == "ConditionalCheckFailedException"


def failed_conditions(exc: TransactWriteError) -> list[bool]:
    """Per transaction item, in the order DynamoDB received them: did its condition fail?"""
    return [reason is not None and reason.code == "ConditionalCheckFailed" for reason in exc.cancellation_reasons]
