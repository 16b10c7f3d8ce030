"""Product search: relevance with typo tolerance or wildcards, filters, facets, sorting, paging.

Text is matched over title, brand, category, tags and description. Without wildcards, every
word (all but a third of them, for long queries) must match some field within the usual edit
distance (`iphnoe` finds iPhone), and exact words and phrases rank above fuzzy ones. With
`use_wildcard`, each word is a pattern (`lapt*`, `*phone*`; a bare word matches inside
words). Facets count the matching products by category and brand and give their price range.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.catalog.summaries import Summaries
from chalicelib.errors import BadRequest, DependencyUnavailable, FieldError, ValidationFailed
from chalicelib.http import paging

# Indexed for filters and sorting, left out of the products served.
SEARCH_ONLY = ("in_stock", "created_at", "title_sort")
FIELDS = ["title^4", "brand.text^3", "category.text^2", "tags.text^2", "description"]
WILDCARD_FIELDS = ["title", "brand.text", "category.text", "tags.text", "description"]
MAX_LIMIT = 100
MAX_WINDOW = 10_000
MAX_QUERY = 200
MAX_FACET_BUCKETS = 100
WORD = re.compile(r"\w+")
PATTERN = re.compile(r"[\w*?]+")

# name → OpenSearch sort; `id` breaks ties so pages never overlap.
SORTS: dict[str, list[dict[str, str]]] = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "id": [{"id": "asc"}],
    "price": [{"price": "asc"}, {"id": "asc"}],
    "-price": [{"price": "desc"}, {"id": "asc"}],
    "rating": [{"rating": "asc"}, {"id": "asc"}],
    "-rating": [{"rating": "desc"}, {"id": "asc"}],
    "title": [{"title_sort": "asc"}, {"id": "asc"}],
    "-title": [{"title_sort": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "desc"}],
}


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool | None = None
    use_wildcard: bool = False
    sort: str = ""
    limit: int = 20
    offset: int = 0
    cursor: str | None = None

    @property
    def sort_name(self) -> str:
        return self.sort or ("relevance" if self.query else "id")

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> SearchParams:
        """From query-string parameters, every problem listed at once (`$.<parameter>`)."""
        problems: list[FieldError] = []

        def number(name: str, kind: Callable[[str], Any], minimum: float, maximum: float | None = None) -> Any:
            raw = params.get(name)
            if raw is None or raw == "":
                return None
            try:
                value = kind(raw)
            except ValueError:
                problems.append(FieldError(f"$.{name}", f"must be a {kind.__name__}, got {raw!r}"))
                return None
            if value != value or value < minimum or (maximum is not None and value > maximum):
                bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
                problems.append(FieldError(f"$.{name}", f"must be {bound}, got {raw}"))
                return None
            return value

        def flag(name: str) -> bool | None:
            raw = params.get(name)
            if raw is None or raw == "":
                return None
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
            problems.append(FieldError(f"$.{name}", f"must be true or false, got {raw!r}"))
            return None

        def listed(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in (params.get(name) or "").split(",") if part.strip())

        query = (params.get("query") or params.get("q") or "").strip()
        if len(query) > MAX_QUERY:
            problems.append(FieldError("$.query", f"must be at most {MAX_QUERY} characters"))
        sort = params.get("sort") or ""
        if sort and sort not in SORTS:
            problems.append(FieldError("$.sort", f"must be one of {', '.join(SORTS)}, got {sort!r}"))
        limit = number("limit", int, 1, MAX_LIMIT)
        offset = number("offset", int, 0, MAX_WINDOW) or number("skip", int, 0, MAX_WINDOW)
        min_price, max_price = number("min_price", float, 0), number("max_price", float, 0)
        if min_price is not None and max_price is not None and min_price > max_price:
            problems.append(FieldError("$.min_price", "must not be above max_price"))
        if (limit or 20) + (offset or 0) > MAX_WINDOW:
            problems.append(FieldError("$.offset", f"offset + limit must not exceed {MAX_WINDOW}; page with cursor"))
        parsed = cls(
            query=query,
            categories=listed("category"),
            brands=listed("brand"),
            min_price=min_price,
            max_price=max_price,
            in_stock=flag("in_stock"),
            use_wildcard=bool(flag("use_wildcard")),
            sort=sort if sort in SORTS else "",
            limit=limit or 20,
            offset=offset or 0,
            cursor=params.get("cursor") or None,
        )
        if problems:
            raise ValidationFailed(problems, f"{len(problems)} invalid query parameter(s)")
        return parsed


def text_clause(query: str, use_wildcard: bool) -> dict[str, Any]:
    if use_wildcard:
        patterns = [p.lower() for p in PATTERN.findall(query)]
        if not patterns:
            raise BadRequest("The query has no words or patterns to match")
        return {"bool": {"must": [_pattern_clause(p if "*" in p or "?" in p else f"*{p}*") for p in patterns]}}
    words = [w.lower() for w in WORD.findall(query)]
    if not words:
        raise BadRequest("The query has no words to match")
    # Each word may match a different field ("apple laptop": brand and title), with typos.
    per_word = [{"multi_match": {"query": word, "fields": FIELDS, "fuzziness": "AUTO"}} for word in words]
    return {
        "bool": {
            "must": [{"bool": {"should": per_word, "minimum_should_match": len(words) - len(words) // 3}}],
            # The words as typed, in order, rank above matches that needed a typo forgiven.
            "should": [{"multi_match": {"query": query, "fields": FIELDS, "type": "phrase", "boost": 2}}],
        }
    }


def _pattern_clause(pattern: str) -> dict[str, Any]:
    return {
        "bool": {
            "should": [
                {"wildcard": {field: {"value": pattern, "case_insensitive": True}}} for field in WILDCARD_FIELDS
            ],
            "minimum_should_match": 1,
        }
    }


def encode_cursor(sort: str, after: list[Any], position: int) -> str:
    return paging.encode_cursor({"s": sort, "a": after, "p": position})


def _is_position(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("s"), str)
        and isinstance(data.get("a"), list)
        and isinstance(data.get("p"), int)
    )


def decode_cursor(cursor: str, sort: str) -> tuple[list[Any], int]:
    data = paging.decode_cursor(cursor, _is_position)
    if data["s"] != sort:
        raise BadRequest("The cursor belongs to another sort order; keep the sort you started with")
    return data["a"], data["p"]


FACETS = {
    "categories": {"terms": {"field": "category", "size": MAX_FACET_BUCKETS}},
    "brands": {"terms": {"field": "brand", "size": MAX_FACET_BUCKETS}},
    "price_min": {"min": {"field": "price"}},
    "price_max": {"max": {"field": "price"}},
}


class ProductSearch:
    def __init__(self, client: Callable[[], Any], alias: str, summaries: Summaries | None = None) -> None:
        self._client = client
        self.alias = alias
        self.summaries = summaries

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        from opensearchpy.exceptions import ConnectionError as Unreachable
        from opensearchpy.exceptions import NotFoundError, RequestError

        try:
            found: dict[str, Any] = self._client().search(index=self.alias, body=body)
            return found
        except RequestError as exc:
            raise BadRequest(f"The search was refused: {exc.error}") from None
        except (Unreachable, NotFoundError):
            raise DependencyUnavailable("Product search is unavailable right now") from None

    def body(self, params: SearchParams, summary: bool = True) -> dict[str, Any]:
        """The search for one page; with `summary`, its total and facets too."""
        filters: list[dict[str, Any]] = []
        if params.categories:
            filters.append({"terms": {"category": list(params.categories)}})
        if params.brands:
            filters.append({"terms": {"brand": list(params.brands)}})
        if params.min_price is not None or params.max_price is not None:
            bounds = {"gte": params.min_price, "lte": params.max_price}
            filters.append({"range": {"price": {k: v for k, v in bounds.items() if v is not None}}})
        if params.in_stock is not None:
            filters.append({"term": {"in_stock": params.in_stock}})
        must = [text_clause(params.query, params.use_wildcard)] if params.query else [{"match_all": {}}]
        body: dict[str, Any] = {
            "query": {"bool": {"must": must, "filter": filters}},
            "sort": SORTS[params.sort_name],
            "size": params.limit,
            "track_total_hits": summary,
        }
        if summary:
            body["aggs"] = FACETS
        if params.cursor:
            body["search_after"], _ = decode_cursor(params.cursor, params.sort_name)
        else:
            body["from"] = params.offset
        return body

    def search(self, params: SearchParams) -> dict[str, Any]:
        # The total and facets depend on what matches, not on the order or the page.
        question = {"matching": dataclasses.asdict(params) | {"sort": "", "limit": 0, "offset": 0, "cursor": None}}
        summary, generation = self._summary(question)
        result = self._search(self.body(params, summary=summary is None))
        if summary is None:
            aggs = result.get("aggregations", {})
            summary = {
                "total": result["hits"]["total"]["value"],
                "facets": {
                    "categories": _buckets(aggs.get("categories")),
                    "brands": _buckets(aggs.get("brands")),
                    "price": {"min": _value(aggs.get("price_min")), "max": _value(aggs.get("price_max"))},
                },
            }
            self._keep(question, generation, summary)
        hits = result["hits"]["hits"]
        total = summary["total"]
        position = decode_cursor(params.cursor, params.sort_name)[1] if params.cursor else params.offset
        end = position + len(hits)
        return {
            "items": [_product(hit) for hit in hits],
            "count": len(hits),
            "total": total,
            "offset": position,
            "limit": params.limit,
            "next": encode_cursor(params.sort_name, hits[-1]["sort"], end) if hits and end < total else None,
            "facets": summary["facets"],
        }

    def category_counts(self) -> dict[str, int]:
        question = {"category_counts": True}
        counts, generation = self._summary(question)
        if counts is None:
            body = {"size": 0, "aggs": {"categories": {"terms": {"field": "category", "size": 1000}}}}
            counts = {b["value"]: b["count"] for b in _buckets(self._search(body)["aggregations"]["categories"])}
            self._keep(question, generation, counts)
        return counts

    def _summary(self, question: dict[str, Any]) -> tuple[Any | None, str | None]:
        return self.summaries.get(question) if self.summaries else (None, None)

    def _keep(self, question: dict[str, Any], generation: str | None, summary: Any) -> None:
        if self.summaries:
            self.summaries.keep(question, generation, summary)


def _product(hit: dict[str, Any]) -> dict[str, Any]:
    """The served product: the indexed source without the fields that exist for searching."""
    return {name: value for name, value in hit["_source"].items() if name not in SEARCH_ONLY}


def _buckets(agg: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [{"value": b["key"], "count": b["doc_count"]} for b in (agg or {}).get("buckets", [])]


def _value(agg: dict[str, Any] | None) -> float | None:
    return (agg or {}).get("value")
