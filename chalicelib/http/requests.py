"""Reading request bodies safely: decoding, JSON parsing, form fields and schema validation."""

from __future__ import annotations

import contextvars
import json
import re
from typing import Any

from chalicelib import schemas
from chalicelib.errors import BadRequest, UnsupportedMediaType
from chalicelib.http import forms

# A \uD8xx-\uDFxx escape: only such an escape can put a surrogate into a decoded body.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The request schema of the route being served (set by chalicelib/http/routing.py): what
# `route_body` validates against, and what coerces a form even where the view validates its
# JSON elsewhere (a document against its type).
route_schema_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("route_schema", default=None)


def parse_json(raw: bytes | None) -> Any:
    """Decode a JSON body, turning every malformation into a BadRequest with a reason."""
    if not raw:
        raise BadRequest("A JSON request body is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply") from None
    except ValueError:
        # Integers past Python's digit limit (4,300) raise a plain ValueError.
        raise BadRequest("Malformed JSON: a number has more digits than any field accepts") from None
    if _SURROGATE_ESCAPE.search(text):
        refuse_lone_surrogates(value)
    return value


def refuse_lone_surrogates(value: Any) -> None:
    """JSON may escape half of a UTF-16 pair (`"\\ud800"`); no store, index, hash or log can
    encode it, so it is refused here rather than failing deep inside one of them."""
    pending: list[tuple[str, Any]] = [("$", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadRequest(f"{path} holds a lone UTF-16 surrogate, which is not a character")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise BadRequest(f"A property name in {path} holds a lone UTF-16 surrogate")
                pending.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))


def json_only(schema: str | None) -> UnsupportedMediaType:
    reason = f"its body ({schema}) is nested" if schema else "its body is a JSON document"
    return UnsupportedMediaType(f"This route takes application/json only: {reason}, which a form cannot express")


def json_body(request: Any) -> Any:
    """The request's body as JSON, not validated (a view that validates it elsewhere: a
    document against its registered type). A form or multipart body is read as its fields,
    coerced by the route's schema (chalicelib/http/forms.py) when that schema is flat; a
    form-encoded body that is JSON text is read as JSON."""
    raw = request.raw_body
    if forms.is_form(request.headers) and not forms.looks_like_json(request.headers, raw or b""):
        schema = route_schema_var.get()
        if schema is None or not forms.is_flat(schema):
            raise json_only(schema)
        return forms.coerce(schema, forms.fields(request.headers, raw or b""))
    return parse_json(raw)


def route_body(request: Any) -> Any:
    """The request's body, validated against the `request_schema` its route declares: the
    schema is named once, where the route is, for OpenAPI, forms and validation alike."""
    schema = route_schema_var.get()
    if schema is None:
        raise LookupError("route_body() needs a route that declares its request_schema")
    data = json_body(request)
    schemas.validate(schema, data)
    return data
