"""Searching documents: full text over a plan's objects, and client queries under an allow-list.

Every query runs inside a mandatory filter on `_owner`, so a query can never see another
owner's documents however it is written, and in the form isolation.py gives it, so nothing
computed from the rest of the index (scores, term expansions) reaches the answer either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.config import get_settings
from chalicelib.documents.isolation import ROOT_FIELD, TIEBREAK, client_view, isolate, owner_filter, source_view
from chalicelib.documents.query_guard import check_search_body
from chalicelib.documents.resources import document_index_key
from chalicelib.documents.tree import JOIN_FIELD
from chalicelib.documents.types import TYPE_NAME
from chalicelib.errors import BadRequest, DependencyUnavailable, NotFound
from chalicelib.jsonlog import get_logger
from chalicelib.search import EXHAUSTIVE_REWRITE

MAX_PLAN_HITS = 100

log = get_logger("documents")


def _object(source: dict[str, Any]) -> dict[str, Any]:
    """An indexed object as the client stored it: without the platform's fields or the join."""
    view = source_view(source)
    view.pop(JOIN_FIELD, None)
    return view


class DocumentSearch:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def _index(self, doc_type: str) -> str:
        if not TYPE_NAME.match(doc_type):
            raise BadRequest(f"{doc_type!r} is not a document type")
        return get_settings().resource_name(document_index_key(doc_type))

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

        try:
            found: dict[str, Any] = self._client().search(index=index, body=body)
            return found
        except NotFoundError:
            raise NotFound("That document type has no search index yet") from None
        except RequestError as exc:
            raise BadRequest(f"OpenSearch refused the query: {exc.error}") from None
        except TransportError as exc:
            if "too_many_buckets" in str(exc.info):
                raise BadRequest(
                    "The aggregation would make more buckets than search allows; widen its interval"
                ) from None
            # Unreachable, overloaded, or failing on a query it should have refused: not the
            # client's mistake, and nothing to retry differently.
            log.exception("document search failed", extra={"index": index})
            raise DependencyUnavailable("Search is unavailable right now; documents can still be read") from None

    def query(self, owner: str, doc_type: str, body: Any) -> dict[str, Any]:
        """A client's query body, allow-listed, over `owner`'s documents of `doc_type` only."""
        if not isinstance(body, dict):
            raise BadRequest("The search body must be a JSON object")
        checked = check_search_body(body)
        answer = self._search(self._index(doc_type), isolate(checked, owner))
        return client_view(answer, client_sorted="sort" in checked)

    def plans_matching(self, owner: str, text: str, org: str | None) -> dict[str, Any]:
        """`owner`'s plans any of whose objects match `text`, each with the objects that matched,
        in plan id order."""
        filters = [
            {"query_string": {"query": text, "default_operator": "AND", "lenient": True, **EXHAUSTIVE_REWRITE}},
            owner_filter(owner),
        ]
        if org:
            filters.append({"term": {"_org": org}})
        body = {"size": MAX_PLAN_HITS, "query": {"bool": {"filter": filters}}, "sort": list(TIEBREAK)}
        hits = self._search(self._index("plan"), body)["hits"]
        plans: dict[str, list[dict[str, Any]]] = {}
        for hit in hits["hits"]:
            plans.setdefault(hit["_source"][ROOT_FIELD], []).append(_object(hit["_source"]))
        items = [{"plan_id": plan_id, "matches": matches} for plan_id, matches in plans.items()]
        return {"items": items, "count": len(items), "total_objects": hits["total"]["value"]}

    def embedded(self, owner: str, object_type: str, object_id: str) -> dict[str, Any] | None:
        """`owner`'s object of this type and id held inside a plan, or None. When several of
        the owner's plans hold it, the copy in the most recently written plan."""
        filters = [{"term": {"objectType": object_type}}, {"term": {"objectId": object_id}}, owner_filter(owner)]
        body = {
            "size": 1,
            "query": {"bool": {"filter": filters}},
            "sort": [{"_updated": "desc"}, {ROOT_FIELD: "asc"}],
        }
        hits = self._search(self._index("plan"), body)["hits"]["hits"]
        if not hits:
            return None
        source = hits[0]["_source"]
        return {"document": _object(source), "plan_id": source[ROOT_FIELD]}
