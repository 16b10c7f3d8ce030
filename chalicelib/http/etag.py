"""Entity tags and conditional requests (RFC 9110 §8.8.3, §13), for every route at once.

- If-None-Match uses the weak comparison (§13.1.2): `W/"x"` matches `"x"`, and `*` matches any
  current representation. A GET whose If-None-Match matches answers 304 without a body
  (`not_modified`).
- If-Match uses the strong comparison (§13.1.1): a weak tag never matches, so it is dropped
  (`if_match`); `*` stays `*`, for the write to judge against what it finds.

Resources not stored as canonical text get the hash of the canonical JSON the route answers
with as their tag (`json_with_etag`), so If-None-Match works on any single-resource GET
(DESIGN.md §4) without the store keeping a tag of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalice import Response

CACHE_CONTROL = "private, no-cache"
ANY = "*"
# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text: a tag may hold a
# comma, so a list is read tag by tag rather than split on commas.
_ENTITY_TAG = re.compile(r'\s*(?:(\*)|(W/)?("[\x21\x23-\x7e\x80-\xff]*"))\s*(?:,|$)')


@dataclass(frozen=True)
class EntityTag:
    opaque: str  # with its quotes, as it is sent
    weak: bool = False


def entity_tags(header: str) -> list[EntityTag | str]:
    """The tags of an If-Match / If-None-Match list, in order; `*` as ANY, the only string. What
    is not an entity tag (an unquoted token) names no representation and is skipped."""
    found: list[EntityTag | str] = []
    position = 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None:
            # Skip the malformed element up to the next comma.
            comma = header.find(",", position)
            position = len(header) if comma < 0 else comma + 1
            continue
        found.append(ANY if match.group(1) else EntityTag(match.group(3), bool(match.group(2))))
        position = match.end()
    return found


def none_match_hits(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names the current representation (weak comparison): then a GET
    answers 304."""
    if header is None:
        return False
    current = etag.removeprefix("W/")
    return any(isinstance(tag, str) or tag.opaque == current for tag in entity_tags(header))


def if_match(header: str | None) -> list[str] | None:
    """The tags an If-Match header can match by the strong comparison (weak ones never do),
    `*` kept as `*`; None when there is no If-Match."""
    if header is None:
        return None
    return [
        tag if isinstance(tag, str) else tag.opaque
        for tag in entity_tags(header)
        if isinstance(tag, str) or not tag.weak
    ]


def not_modified(request: Any, etag: str, headers: Mapping[str, str]) -> Response | None:
    """304 without a body, with the ETag and `headers`, when the client holds this representation
    already (If-None-Match); None when the route should answer in full."""
    if not none_match_hits(request.headers.get("if-none-match"), etag):
        return None
    return Response(body="", status_code=304, headers={"ETag": etag, **headers})


def etag_of(body: Any) -> tuple[str, str]:
    """(canonical JSON text, strong ETag) of a JSON value."""
    # ASCII: a lone surrogate a client managed to store (JSON can escape one) still encodes.
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def json_with_etag(request: Any, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The JSON response with its ETag, or 304 without a body when the client holds it already."""
    text, etag = etag_of(body)
    common = {"Cache-Control": CACHE_CONTROL, **(headers or {})}
    if status == 200 and (unchanged := not_modified(request, etag, common)) is not None:
        return unchanged
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json", "ETag": etag, **common})
