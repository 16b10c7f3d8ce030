"""HTML form and multipart bodies, read the way Django REST Framework reads them.

DRF accepts `application/x-www-form-urlencoded` and `multipart/form-data` on every endpoint;
its test client sends multipart by default and `curl -d` sends form-encoded. A form carries
only strings, so a form body is accepted where the request schema is flat (scalar properties,
or arrays of scalars), and each field is coerced to the type the schema asks for before the
same schema validates it: `"1200.00"` becomes a number, `"true"` a boolean, a repeated key an
array. Nested schemas (plans, dashboards) cannot be written as a form and stay JSON only.
"""

from __future__ import annotations

import functools
import math
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from chalicelib import schemas
from chalicelib.errors import BadRequest

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORM_TYPES = (FORM, MULTIPART)
SCALARS = frozenset({"string", "number", "integer", "boolean", "null"})
# DRF's BooleanField spellings (an HTML checkbox sends "on").
TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
# Python refuses int() of more than 4,300 digits; nothing this API counts is that long.
_INTEGER = re.compile(r"^[+-]?\d{1,300}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,300}(\.\d{0,300})?|\.\d{1,300})([eE][+-]?\d{1,4})?$")


def media_type(headers: Any) -> str:
    return (headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()


def is_form(headers: Any) -> bool:
    return media_type(headers) in FORM_TYPES


def looks_like_json(headers: Any, raw: bytes) -> bool:
    """A form-encoded body that is really JSON: what `curl -d '{...}'` sends without a
    Content-Type. JSON objects and arrays start with a bracket; no form field name does."""
    return media_type(headers) == FORM and raw.lstrip()[:1] in (b"{", b"[")


def _types(schema: dict[str, Any]) -> set[str]:
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        return {_json_type(value) for value in values}
    declared = schema.get("type", [])
    return set([declared] if isinstance(declared, str) else declared)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", type(None): "null"}.get(type(value), "object")


def _is_scalar(schema: Any) -> bool:
    return isinstance(schema, dict) and "$ref" not in schema and bool(_types(schema)) and _types(schema) <= SCALARS


def _form_expressible(prop: dict[str, Any]) -> bool:
    return _is_scalar(prop.get("items")) if _types(prop) == {"array"} else _is_scalar(prop)


@functools.cache
def is_flat(schema_name: str) -> bool:
    """Whether a form can write the schema's bodies: an object whose required properties are
    all scalars or arrays of scalars. An optional nested property (a task's `payload`) just
    cannot be set from a form; a required one (a plan's `planCostShares`) makes it JSON only."""
    schema = schemas.load(schema_name)
    if schema.get("type") != "object" or "properties" not in schema:
        return False
    properties = schema["properties"]
    return all(name in properties and _form_expressible(properties[name]) for name in schema.get("required", ()))


def fields(headers: Any, raw: bytes) -> dict[str, list[str]]:
    """The body's fields, each name with its values in the order sent."""
    if media_type(headers) == MULTIPART:
        return _multipart(headers.get("content-type", ""), raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The form body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The form body is not well-formed application/x-www-form-urlencoded") from None


def _multipart(content_type: str, raw: bytes) -> dict[str, list[str]]:
    if "boundary=" not in content_type.lower():
        raise BadRequest("A multipart/form-data body needs a boundary in its Content-Type")
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart() or message.defects:
        raise BadRequest("The body is not well-formed multipart/form-data")
    found: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise BadRequest("Every multipart/form-data part needs a name")
        # Bytes, or None for a part that is itself multipart.
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        try:
            found.setdefault(str(name), []).append(payload.decode(part.get_content_charset() or "utf-8"))
        except (UnicodeDecodeError, LookupError):
            raise BadRequest(f"The part {name!r} is not text") from None
    return found


def coerce(schema_name: str, values: dict[str, list[str]]) -> dict[str, Any]:
    """The fields as the JSON the schema describes. A value that does not convert stays a
    string, so the schema's own message reports it; an empty value of a field that cannot be
    a string is left out, as DRF treats an empty optional input."""
    properties = schemas.load(schema_name)["properties"]
    body: dict[str, Any] = {}
    for name, sent in values.items():
        prop = properties.get(name)
        if prop is None:
            body[name] = sent[-1]
        elif _types(prop) == {"array"} and _is_scalar(prop.get("items")):
            body[name] = [_scalar(value, prop["items"]) for value in sent]
        elif sent[-1] != "" or "string" in _types(prop):
            # DRF's QueryDict answers the last value of a repeated key.
            body[name] = _scalar(sent[-1], prop)
    return body


def _scalar(value: str, schema: dict[str, Any]) -> Any:
    types = _types(schema) if _is_scalar(schema) else set()
    if "string" in types:
        return value
    if "integer" in types and _INTEGER.match(value):
        return int(value)
    if "number" in types and _NUMBER.match(value):
        number = float(value)
        if math.isfinite(number):
            return int(value) if _INTEGER.match(value) else number
    if "boolean" in types and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    if "null" in types and value in ("", "null"):
        return None
    return value
