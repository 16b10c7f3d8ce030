"""JSON Schemas (2020-12) that validate request bodies and document them in OpenAPI.

One file per schema, `<name>.schema.json` beside this module: the validator and the
OpenAPI document read the same files, so the docs cannot drift from what is enforced.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from chalicelib.errors import FieldError, ValidationFailed

SCHEMA_SUFFIX = ".schema.json"


@functools.cache
def load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name + SCHEMA_SUFFIX).read_text(encoding="utf-8")
    return json.loads(text)


def names() -> list[str]:
    return sorted(
        entry.name[: -len(SCHEMA_SUFFIX)]
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(SCHEMA_SUFFIX)
    )


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def field_errors(schema: dict[str, Any] | str, instance: Any) -> list[FieldError]:
    """Every violation of `schema` by `instance`, sorted by path, as FieldErrors."""
    if isinstance(schema, str):
        validator = _validator(schema)
    else:
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = sorted(validator.iter_errors(instance), key=lambda e: (e.json_path, e.message))
    return [FieldError(path=e.json_path, message=e.message) for e in found]


def validate(schema: dict[str, Any] | str, instance: Any) -> None:
    """Raise ValidationFailed listing every violation; return quietly when valid."""
    problems = field_errors(schema, instance)
    if problems:
        raise ValidationFailed(problems)
