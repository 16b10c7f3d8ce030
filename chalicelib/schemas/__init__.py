"""JSON Schemas (2020-12) that validate request bodies and document them in OpenAPI.

One file per schema, `<name>.schema.json` beside this module: the validator and the
OpenAPI document read the same files, so the docs cannot drift from what is enforced.

Two keywords are checked more strictly than jsonschema does by default, for every schema
(ours and those clients register):

- `pattern` follows ECMA-262, as JSON Schema says: `$` is the end of the string. Python's
  `re` lets `$` match before a trailing newline, so `^[a-z]+$` would accept `"alice\\n"`.
- `format: email` is judged by email-validator (syntax only, no DNS), not by "has an @".
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from chalicelib.errors import FieldError, ValidationFailed

SCHEMA_SUFFIX = ".schema.json"


@functools.cache
def load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name + SCHEMA_SUFFIX).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def names() -> list[str]:
    return sorted(
        entry.name[: -len(SCHEMA_SUFFIX)]
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(SCHEMA_SUFFIX)
    )


def ecma_pattern(pattern: str) -> str:
    """`pattern` with every end anchor `$` (outside a character class, unescaped) made `\\Z`."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


def _strict_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_email(instance: object) -> bool:
    from email_validator import validate_email

    if isinstance(instance, str):
        # Raises EmailNotValidError with the reason, which the checker reports.
        validate_email(instance, check_deliverability=False)
    return True


@functools.cache
def _validator_class() -> Any:
    from email_validator import EmailNotValidError
    from jsonschema import Draft202012Validator, FormatChecker, validators

    checker = FormatChecker()
    checker.checkers = {**Draft202012Validator.FORMAT_CHECKER.checkers}
    checker.checks("email", raises=EmailNotValidError)(_is_email)
    strict = validators.extend(Draft202012Validator, {"pattern": _strict_pattern})
    strict.FORMAT_CHECKER = checker
    return strict


def validator_for(schema: dict[str, Any]) -> Any:
    cls = _validator_class()
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@functools.cache
def _validator(name: str) -> Any:
    schema = load(name)
    _validator_class().check_schema(schema)
    return validator_for(schema)


def field_errors(schema: dict[str, Any] | str, instance: Any) -> list[FieldError]:
    """Every violation of `schema` by `instance`, sorted by path, as FieldErrors."""
    validator = _validator(schema) if isinstance(schema, str) else validator_for(schema)
    found = sorted(validator.iter_errors(instance), key=lambda e: (e.json_path, e.message))
    return [FieldError(path=e.json_path, message=e.message) for e in found]


def validate(schema: dict[str, Any] | str, instance: Any) -> None:
    """Raise ValidationFailed listing every violation; return quietly when valid."""
    problems = field_errors(schema, instance)
    if problems:
        raise ValidationFailed(problems)
