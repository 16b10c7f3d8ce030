"""The PynamoDB plumbing against DynamoDB's own refusals (moto in process): a transaction's
refusal names the steps whose conditions failed, whatever order PynamoDB sent them in, and a
model is bound to its table only when a composition root binds it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib import clients
from chalicelib.config import Settings
from chalicelib.dynamo import KeyedItem, Refused, bind, get_or_none, transaction, unbound_meta
from chalicelib.resources import Key, TableSpec

TABLE = TableSpec(key="dynamo-probe", hash_key=Key("pk"), range_key=Key("sk"))


class ProbeItem(KeyedItem):
    Meta = unbound_meta()


class Counter(ProbeItem):
    value = NumberAttribute(default=0)
    note = UnicodeAttribute(null=True)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    from devstack import bootstrap

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    clients.reset()
    with mock_aws():
        settings = dataclasses.replace(Settings.from_env(), resource_prefix="unit")
        bootstrap.create_table(TABLE, settings)
        bind(ProbeItem, TABLE, settings)
        yield
    clients.reset()


def test_an_unbound_model_refuses_to_guess_its_table() -> None:
    class Unplaced(KeyedItem):
        Meta = unbound_meta()

    with pytest.raises(AttributeError, match="table_name"):
        Unplaced.get("a", "b")


def test_a_refusal_names_the_failed_steps_whatever_their_kind(table) -> None:
    for key in ("held", "gone", "kept"):
        Counter(key, "x", value=1).save()
    with pytest.raises(Refused) as refused, transaction(ProbeItem) as steps:
        # Called update, put, delete, check; PynamoDB sends them check, delete, put, update.
        steps.update(Counter("held", "x"), actions=[Counter.value.add(1)], condition=Counter.value > 5, refusal="low")
        steps.save(Counter("new", "x", value=1), condition=Counter.pk.does_not_exist(), refusal="fresh")
        steps.delete(Counter("gone", "x"), condition=Counter.value == 2, refusal="changed")
        steps.check(Counter, "kept", "x", condition=Counter.value == 1, refusal="unchanged")
    assert sorted(refused.value.refusals) == ["changed", "low"]
    # All or nothing: the step that could have been written was not.
    assert get_or_none(Counter, "new", "x") is None
    assert get_or_none(Counter, "held", "x").value == 1


def test_a_transaction_whose_conditions_hold_commits_every_step(table) -> None:
    with transaction(ProbeItem) as steps:
        steps.save(Counter("a", "x", value=1), condition=Counter.pk.does_not_exist())
        steps.save(Counter("b", "x", value=2), condition=Counter.pk.does_not_exist(), refusal="b")
    assert [get_or_none(Counter, key, "x").value for key in ("a", "b")] == [1, 2]
