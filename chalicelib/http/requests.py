"""Reading request bodies safely: decoding, JSON parsing and schema validation."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import schemas
from chalicelib.errors import BadRequest


def parse_json(raw: bytes | None) -> Any:
    """Decode a JSON body, turning every malformation into a BadRequest with a reason."""
    if not raw:
        raise BadRequest("A JSON request body is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply") from None


def json_body(request: Any, schema: str | None = None) -> Any:
    """The request's JSON body, validated against the named schema when one is given."""
    data = parse_json(request.raw_body)
    if schema is not None:
        schemas.validate(schema, data)
    return data
