"""A route's request schema is named once, in its declaration: `route_body` validates against
it (chalicelib/http/requests.py), so a view cannot validate against another one."""

from __future__ import annotations

import inspect

import pytest

import app as application
from chalicelib.http.routing import route_meta


def _views() -> list[tuple[str, str, object]]:
    return [
        (method, path, entry.view_function)
        for path, methods in sorted(application.app.routes.items())
        for method, entry in sorted(methods.items())
    ]


@pytest.mark.parametrize(("method", "path", "view"), _views(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_view_that_validates_its_body_declares_the_schema(method: str, path: str, view) -> None:
    source = inspect.getsource(inspect.unwrap(view))
    meta = route_meta(view)
    if "route_body(" in source:
        assert meta is not None and meta.request_schema, f"{method} {path} reads route_body() without a schema"
    assert "schemas.validate(" not in source, f"{method} {path}: declare request_schema and use route_body()"


def test_validating_views_are_found() -> None:
    readers = [view for _, _, view in _views() if "route_body(" in inspect.getsource(inspect.unwrap(view))]
    assert len(readers) >= 25
