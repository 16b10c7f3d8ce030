"""PynamoDB plumbing every context's store shares: models bound to a declared table, and
reading why a conditional write was refused."""

from __future__ import annotations

import functools
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.models import Model

from chalicelib.config import get_settings


def table_meta(table_key: str) -> type:
    """A PynamoDB `Meta` for the table declared under `table_key` in chalicelib/resources.py."""
    from chalicelib.resources import TABLES

    settings = get_settings()
    return type(
        "Meta",
        (),
        {
            "table_name": TABLES[table_key].table_name(settings),
            "region": settings.aws_region,
            "host": settings.aws_endpoint_url,
        },
    )


def keyed_model(table_key: str) -> type[Model]:
    """The base of a single-table design: a `pk`/`sk` model whose subclasses are item types."""

    class KeyedItem(Model):
        Meta = table_meta(table_key)
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)

    return KeyedItem


def transaction_connection(model: type[Model]) -> Connection:
    """The connection TransactWrite uses for a model's table, one per endpoint and process: each
    Connection builds a botocore client of its own, and loading the service model costs about a
    tenth of a second. Read from the model's Meta at call time, so a rebound model follows."""
    return _connection(model.Meta.region, model.Meta.host)


@functools.cache
def _connection(region: str, host: str | None) -> Connection:
    return Connection(region=region, host=host)


def get_or_none(model: type[Model], *key: str) -> Any | None:
    try:
        return model.get(*key, consistent_read=True)
    except DoesNotExist:
        return None


def condition_failed(exc: PynamoDBException) -> bool:
    """Was a write refused because its condition did not hold (not for any other reason)?"""
    return exc.cause_response_code == "ConditionalCheckFailedException"


def failed_conditions(exc: TransactWriteError) -> list[bool]:
    """Per transaction item, in the order DynamoDB received them: did its condition fail?"""
    return [reason is not None and reason.code == "ConditionalCheckFailed" for reason in exc.cancellation_reasons]
