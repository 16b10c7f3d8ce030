"""Searching documents: full text over a plan's objects, and client queries under an allow-list.

Every query runs inside a mandatory filter on `_owner` (unless the caller is an
administrator), so a query can never see another user's documents, however it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.documents.query_guard import check_search_body, restrict
from chalicelib.documents.types import TYPE_NAME
from chalicelib.errors import BadRequest, DependencyUnavailable, NotFound
from chalicelib.resources import document_index_key

MAX_PLAN_HITS = 100


def _owner_filter(principal: Principal) -> dict[str, Any] | None:
    return None if principal.is_admin else {"term": {"_owner": principal.user_id}}


class DocumentSearch:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def _index(self, doc_type: str) -> str:
        if not TYPE_NAME.match(doc_type):
            raise BadRequest(f"{doc_type!r} is not a document type")
        return get_settings().resource_name(document_index_key(doc_type))

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        from opensearchpy.exceptions import ConnectionError as OpenSearchUnreachable
        from opensearchpy.exceptions import NotFoundError, RequestError

        try:
            return self._client().search(index=index, body=body)
        except NotFoundError:
            raise NotFound("That document type has no search index yet") from None
        except RequestError as exc:
            raise BadRequest(f"OpenSearch refused the query: {exc.error}") from None
        except OpenSearchUnreachable:
            raise DependencyUnavailable("Search is unavailable right now; documents can still be read") from None

    def query(self, principal: Principal, doc_type: str, body: Any) -> dict[str, Any]:
        """A client's query body, allow-listed, restricted to what the caller may see."""
        if not isinstance(body, dict):
            raise BadRequest("The search body must be a JSON object")
        checked = check_search_body(body)
        mandatory = _owner_filter(principal)
        if mandatory is not None:
            checked = restrict(checked, mandatory)
        return self._search(self._index(doc_type), checked)

    def plans_matching(self, principal: Principal, text: str, org: str | None) -> dict[str, Any]:
        """Plans any of whose objects match `text`, each with the objects that matched."""
        filters = [f for f in (_owner_filter(principal), {"term": {"_org": org}} if org else None) if f]
        body = {
            "size": MAX_PLAN_HITS,
            "query": {
                "bool": {
                    "must": [{"query_string": {"query": text, "default_operator": "AND", "lenient": True}}],
                    "filter": filters,
                }
            },
        }
        hits = self._search(self._index("plan"), body)["hits"]
        plans: dict[str, list[dict[str, Any]]] = {}
        for hit in hits["hits"]:
            source = {k: v for k, v in hit["_source"].items() if k not in ("relation", "_owner")}
            plans.setdefault(hit.get("_routing") or hit["_id"], []).append(source)
        items = [{"plan_id": plan_id, "matches": matches} for plan_id, matches in plans.items()]
        return {"items": items, "count": len(items), "total_objects": hits["total"]["value"]}

    def embedded(self, principal: Principal, object_type: str, object_id: str) -> dict[str, Any] | None:
        """An object that lives inside a plan (a plan's service, say), or None."""
        filters = [{"term": {"objectType": object_type}}, {"ids": {"values": [object_id]}}]
        mandatory = _owner_filter(principal)
        if mandatory:
            filters.append(mandatory)
        hits = self._search(self._index("plan"), {"size": 1, "query": {"bool": {"filter": filters}}})["hits"]["hits"]
        if not hits:
            return None
        hit = hits[0]
        source = {k: v for k, v in hit["_source"].items() if k not in ("relation", "_owner")}
        return {"document": source, "plan_id": hit.get("_routing")}
