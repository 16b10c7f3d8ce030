"""DocumentService through its composition root, with the store in memory and Redis faked: the
owner in every identity, validation, conditional writes judged against the table, both PATCH
merges, the read-through cache, paging, and registered types. No moto, no sockets."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.documents.container import Documents, build
from chalicelib.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from chalicelib.merge_patch import MERGE_PATCH
from chalicelib.principal import Principal
from tests.support.plans import plan, plan_service
from tests.unit.fake_stores import InMemoryDocuments
from tests.unit.fakes import FakeClients

ALICE = Principal("alice-id", "alice", ("user",), via="jwt")
BOB = Principal("bob-id", "bob", ("user",), via="jwt")
ADMIN = Principal("admin-id", "admin", ("user", "admin"), via="jwt")


class World:
    def __init__(self) -> None:
        self.store = InMemoryDocuments()
        self.clients = FakeClients()
        self.registered: list[tuple[str, dict[str, Any]]] = []
        self.documents = self.process()

    def process(self) -> Documents:
        """The context as one more process builds it: the same table, a cache of its own."""
        return build(
            Settings.from_env({}),
            FakeClients(),
            store=self.store,
            on_type_registered=lambda doc_type, schema: self.registered.append((doc_type, schema)),
        )


@pytest.fixture
def world() -> World:
    return World()


def paths(refused: ValidationFailed) -> set[str]:
    return {error.path for error in refused.errors}


def test_a_document_belongs_to_its_owner_and_another_owner_may_hold_the_same_object_id(world):
    service = world.documents.service
    document = plan()
    mine = service.create(ALICE, "plan", document)
    theirs = service.create(BOB, "plan", document)
    assert (mine.owner_id, theirs.owner_id) == ("alice-id", "bob-id")
    assert mine.etag == theirs.etag and mine.version == theirs.version == 1
    assert service.get(ALICE, "plan", document["objectId"]).document() == document
    with pytest.raises(Conflict):
        service.create(ALICE, "plan", document)
    carol = Principal("carol-id", "carol", ("user",), via="jwt")
    with pytest.raises(NotFound):
        service.get(carol, "plan", document["objectId"])


def test_only_an_administrator_names_another_owner(world):
    service = world.documents.service
    document = service.create(ALICE, "plan", plan())
    assert service.get(ADMIN, "plan", document.doc_id, owner="alice-id").owner_id == "alice-id"
    with pytest.raises(Forbidden):
        service.get(BOB, "plan", document.doc_id, owner="alice-id")


def test_an_invalid_document_is_refused_with_every_problem_and_nothing_is_stored(world):
    bad = plan()
    del bad["planType"]
    bad["linkedPlanServices"][0]["objectId"] = "has/slash"
    with pytest.raises(ValidationFailed) as refused:
        world.documents.service.create(ALICE, "plan", bad)
    assert "$.linkedPlanServices[0].objectId" in paths(refused.value)
    assert any("planType" in error.message for error in refused.value.errors)
    assert world.store.rows == {}


def test_a_replace_needs_the_current_etag(world):
    service = world.documents.service
    created = service.create(ALICE, "plan", plan())
    changed = {**created.document(), "planType": "outOfNetwork"}
    with pytest.raises(PreconditionRequired):
        service.replace(ALICE, "plan", created.doc_id, changed, None)
    with pytest.raises(PreconditionFailed):
        service.replace(ALICE, "plan", created.doc_id, changed, ['"stale"'])
    replaced = service.replace(ALICE, "plan", created.doc_id, changed, [created.etag])
    assert replaced.version == 2 and replaced.etag != created.etag
    with pytest.raises(ValidationFailed) as moved:
        service.replace(ALICE, "plan", created.doc_id, {**changed, "objectId": "other"}, ["*"])
    assert paths(moved.value) == {"$.objectId"}
    with pytest.raises(NotFound):
        service.replace(BOB, "plan", created.doc_id, changed, ["*"])


def test_patch_merges_arrays_by_object_id_or_follows_rfc_7396(world):
    service = world.documents.service
    created = service.create(ALICE, "plan", plan())
    extra = plan_service("example.com", "Well baby", copay=175)
    merged = service.patch(
        ALICE, "plan", created.doc_id, {"linkedPlanServices": [extra]}, "application/json", [created.etag]
    )
    assert [s["linkedService"]["name"] for s in merged.document()["linkedPlanServices"]] == [
        "Yearly physical",
        "Well baby",
    ]
    # RFC 7396 replaces arrays whole; its result is validated before it is written.
    replaced = service.patch(ALICE, "plan", created.doc_id, {"linkedPlanServices": [extra]}, MERGE_PATCH, [merged.etag])
    assert [s["objectId"] for s in replaced.document()["linkedPlanServices"]] == [extra["objectId"]]
    assert replaced.version == 3
    with pytest.raises(ValidationFailed):
        service.patch(ALICE, "plan", created.doc_id, {"creationDate": None}, MERGE_PATCH, [replaced.etag])
    assert service.get(ALICE, "plan", created.doc_id) == replaced
    with pytest.raises(PreconditionFailed):
        service.patch(ALICE, "plan", created.doc_id, {"planType": "x"}, MERGE_PATCH, [merged.etag])
    with pytest.raises(ValidationFailed) as moved:
        service.patch(ALICE, "plan", created.doc_id, {"objectId": "other"}, MERGE_PATCH, ["*"])
    assert paths(moved.value) == {"$.objectId"}
    with pytest.raises(BadRequest):
        service.patch(ALICE, "plan", created.doc_id, ["not", "an", "object"], "application/json", ["*"])


def test_reads_come_through_the_cache_until_a_write_drops_it(world):
    service = world.documents.service
    created = service.create(ALICE, "plan", plan())
    service.get(ALICE, "plan", created.doc_id)
    reads = world.store.reads
    assert service.get(ALICE, "plan", created.doc_id) == created
    assert world.store.reads == reads  # the second read was the cache's
    replaced = service.replace(ALICE, "plan", created.doc_id, created.document(), [created.etag])
    assert service.get(ALICE, "plan", created.doc_id) == replaced


def test_a_conditional_write_is_judged_against_the_table_not_the_cache(world):
    here, there = world.documents.service, world.process().service
    created = here.create(ALICE, "plan", plan())
    assert here.get(ALICE, "plan", created.doc_id) == created  # now in this process's cache
    newer = there.replace(ALICE, "plan", created.doc_id, {**created.document(), "planType": "b"}, [created.etag])
    # This process's cache still holds the first version; the write it is asked for is judged
    # against the table, where the client's ETag is current.
    patched = here.patch(ALICE, "plan", created.doc_id, {"planType": "c"}, MERGE_PATCH, [newer.etag])
    assert patched.version == 3 and patched.document()["planType"] == "c"
    with pytest.raises(PreconditionFailed):
        here.delete(ALICE, "plan", created.doc_id, [created.etag])
    here.delete(ALICE, "plan", created.doc_id, [patched.etag])
    with pytest.raises(NotFound):
        here.get(ALICE, "plan", created.doc_id)


def test_a_list_is_the_owners_own_in_id_order_by_cursor_or_offset(world):
    service = world.documents.service
    ids = sorted(service.create(ALICE, "plan", plan()).doc_id for _ in range(5))
    service.create(BOB, "plan", plan())
    seen, cursor = [], None
    while True:
        page = service.list(ALICE, "plan", limit=2, cursor=cursor)
        seen += [item["objectId"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids
    assert [item["objectId"] for item in service.list(ALICE, "plan", limit=2, offset=3).items] == ids[3:]
    for limit, offset, cursor, reason in ((0, 0, None, "limit"), (2, -1, None, "offset"), (2, 0, "!!", "cursor")):
        with pytest.raises(BadRequest, match=reason):
            service.list(ALICE, "plan", limit=limit, offset=offset, cursor=cursor)


def test_a_registered_type_validates_its_documents(world):
    service = world.documents.service
    schema = {
        "type": "object",
        "required": ["objectId", "title"],
        "properties": {"objectId": {"type": "string"}, "title": {"type": "string"}},
    }
    assert service.register_type(ADMIN, "book", schema) == {"type": "book", "schema": schema}
    assert world.registered == [("book", schema)]
    assert service.types.names() == ["plan", "service", "book"]
    assert service.create(ALICE, "book", {"objectId": "b1", "title": "Dune"}).version == 1
    with pytest.raises(ValidationFailed) as refused:
        service.create(ALICE, "book", {"objectId": "b2"})
    assert any("title" in error.message for error in refused.value.errors)
    with pytest.raises(Conflict):
        service.register_type(ADMIN, "plan", schema)
    with pytest.raises(ValidationFailed):
        service.register_type(ADMIN, "broken", {"type": "no-such-type"})
    with pytest.raises(NotFound):
        service.get(ALICE, "magazine", "m1")
