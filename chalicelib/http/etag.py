"""Entity tags: the tags an If-Match or If-None-Match header names, and ETags for JSON resources
that are not stored as canonical text: the tag is the hash of the canonical JSON the route
answers with, so a client's If-None-Match works on any single-resource GET (DESIGN.md §4)
without the store keeping a tag of its own."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalice import Response

CACHE_CONTROL = "private, no-cache"


def etag_of(body: Any) -> tuple[str, str]:
    """(canonical JSON text, strong ETag) of a JSON value."""
    # ASCII: a lone surrogate a client managed to store (JSON can escape one) still encodes.
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def parse_if_match(header: str | None) -> list[str] | None:
    """The entity tags of an If-Match / If-None-Match header; None when absent. `*` stays `*`.
    Weak tags never match a strong comparison, so they are dropped."""
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    return [tag for tag in tags if not tag.startswith("W/")]


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def json_with_etag(request: Any, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The JSON response with its ETag, or 304 without a body when the client holds it already."""
    text, etag = etag_of(body)
    common = {"ETag": etag, "Cache-Control": CACHE_CONTROL, **(headers or {})}
    if status == 200 and _matches(request.headers.get("if-none-match"), etag):
        return Response(body="", status_code=304, headers=common)
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json", **common})
