"""Every `pattern` in chalicelib/schemas ends at the end of the string: a value followed by a
newline is refused (Python's `$` would let it through), and so is any value the pattern refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import schemas


def patterns(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield path, value
            else:
                yield from patterns(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from patterns(item, f"{path}[{n}]")


ANCHORED = [
    pytest.param(name, where, pattern, id=f"{name}:{where}")
    for name in schemas.names()
    for where, pattern in patterns(schemas.load(name))
    if pattern.endswith("$")
]


def test_the_schemas_have_anchored_patterns_to_check():
    names = {param.values[0] for param in ANCHORED}
    assert {"plan", "service", "payment-process", "alert-rule", "api-key-create", "dashboard"} <= names


@pytest.mark.parametrize(("name", "where", "pattern"), ANCHORED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_trailing_newline_is_refused(name, where, pattern, data):
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    check = {"type": "string", "pattern": pattern}
    assert schemas.field_errors(check, value) == [], (name, where, value)
    assert schemas.field_errors(check, value + "\n"), (name, where, value)


def test_escaped_dollars_and_dollars_in_classes_are_literal():
    assert schemas.ecma_pattern(r"^[$]\$x$") == r"^[$]\$x\Z"
    assert schemas.field_errors({"type": "string", "pattern": r"^\$[$]$"}, "$$") == []


def test_a_trailing_newline_in_a_request_body_is_a_field_error():
    payment = {"order_id": "ord_" + "0" * 20 + "\n", "payment_method_id": "pm_card_visa"}
    assert [e.path for e in schemas.field_errors("payment-process", payment)] == ["$.order_id"]


@pytest.mark.parametrize(
    "email", ["alice@example.com\n", "a@b", "al\u200bice@example.com", "alice @example.com", "@example.com"]
)
def test_email_formats_are_judged_by_email_validator(email):
    assert [e.path for e in schemas.field_errors("password-reset", {"email": email})] == ["$.email"]
