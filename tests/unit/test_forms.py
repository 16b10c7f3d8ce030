"""Form and multipart bodies read like DRF reads them, and path segments that name nothing."""

from __future__ import annotations

import json

import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib import schemas
from chalicelib.errors import BadRequest
from chalicelib.http import forms
from chalicelib.http.middleware import http_middleware
from chalicelib.http.requests import json_body, route_body
from chalicelib.http.routing import ApiBlueprint, check_path_parameters, json_response

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BOUNDARY = "BoUnDaRyStRiNg"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(*fields: tuple[str, str]) -> bytes:
    """What DRF's test client sends (its boundary, CRLF line ends)."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


@pytest.fixture
def http():
    api = ApiBlueprint(__name__)

    @api.route("/cart", ("POST",), summary="flat", request_schema="cart-add")
    def cart():
        return json_response(route_body(api.current_request))

    @api.route("/keys", ("POST",), summary="arrays", request_schema="api-key-create")
    def keys():
        return json_response(route_body(api.current_request))

    @api.route("/plans", ("POST",), summary="nested", request_schema="plan")
    def plans():
        return json_response(json_body(api.current_request))

    @api.route("/things/{thing_id}/parts/{part_id}", ("POST",), summary="bodyless")
    def parts(thing_id, part_id):
        return json_response({"thing": thing_id, "part": part_id})

    app = Chalice(app_name="forms")
    app.register_middleware(http_middleware, "http")
    app.register_blueprint(api.blueprint)
    with Client(app) as client:
        yield client.http


def answer(response) -> tuple[int, dict]:
    return response.status_code, json.loads(response.body)


def test_a_form_is_coerced_by_the_schema_then_validated(http):
    assert answer(http.post("/cart", headers=FORM, body=b"product_id=7&quantity=2")) == (
        200,
        {"product_id": 7, "quantity": 2},
    )
    status, problem = answer(http.post("/cart", headers=FORM, body=b"product_id=seven"))
    assert status == 400 and problem["errors"][0]["path"] == "$.product_id"
    # An empty optional input is no input, as in DRF.
    assert answer(http.post("/cart", headers=FORM, body=b"product_id=7&quantity="))[1] == {"product_id": 7}


def test_multipart_repeated_keys_become_arrays_where_the_schema_says_array(http):
    body = multipart(("name", "ci"), ("scopes", "logs:read"), ("scopes", "logs:write"), ("expires_in_days", "30"))
    assert answer(http.post("/keys", headers=MULTIPART, body=body)) == (
        200,
        {"name": "ci", "scopes": ["logs:read", "logs:write"], "expires_in_days": 30},
    )
    # A scalar field repeated keeps its last value, as DRF's QueryDict does.
    repeated = multipart(("product_id", "1"), ("product_id", "2"))
    assert answer(http.post("/cart", headers=MULTIPART, body=repeated))[1] == {"product_id": 2}


def test_a_form_body_that_is_json_is_read_as_json(http):
    # curl -d '{...}' without -H sends application/x-www-form-urlencoded.
    assert answer(http.post("/plans", headers=FORM, body=b'{"objectId": "p1"}')) == (200, {"objectId": "p1"})
    assert answer(http.post("/cart", headers=FORM, body=b'{"product_id": 3}'))[1] == {"product_id": 3}


def test_nested_schemas_stay_json_only_with_a_415_that_says_so(http):
    for headers, body in ((FORM, b"objectId=p1"), (MULTIPART, multipart(("objectId", "p1")))):
        status, problem = answer(http.post("/plans", headers=headers, body=body))
        assert status == 415 and problem["type"] == "/problems/unsupported-media-type"
        assert "application/json only" in problem["detail"] and "nested" in problem["detail"]


def test_malformed_forms_are_400(http):
    assert http.post("/cart", headers=FORM, body=b"product_id=%ff").status_code == 400
    assert http.post("/cart", headers={"Content-Type": "multipart/form-data"}, body=b"x").status_code == 400
    broken = f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\n1\r\n--{BOUNDARY}--\r\n".encode()
    assert http.post("/cart", headers=MULTIPART, body=broken).status_code == 400


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        ("1200.00", {"type": "number"}, 1200.0),
        ("12", {"type": "number"}, 12),
        ("1e400", {"type": "number"}, "1e400"),
        ("nan", {"type": "number"}, "nan"),
        ("9" * 5000, {"type": "integer"}, "9" * 5000),
        ("true", {"type": "boolean"}, True),
        ("off", {"type": "boolean"}, False),
        ("maybe", {"type": "boolean"}, "maybe"),
        ("007", {"type": "string"}, "007"),
        ("3", {"enum": [1, 2, 3]}, 3),
        ("3", {"type": ["string", "integer"]}, "3"),
    ],
)
def test_scalar_coercion(value, schema, expected):
    assert forms._scalar(value, schema) == expected


def test_which_schemas_a_form_can_write():
    nested = {name for name in schemas.names() if not forms.is_flat(name)}
    assert {"plan", "dashboard", "alert-rule", "log-events"} <= nested
    assert forms.is_flat("register") and forms.is_flat("cart-add") and forms.is_flat("task-create")


def test_bodyless_routes_take_any_form_and_empty_segments_are_404(http):
    assert http.post("/things/a/parts/b", headers=MULTIPART, body=multipart()).status_code == 200
    status, problem = answer(http.post("/things//parts/b"))
    assert status == 404 and "empty thing_id" in problem["detail"]
    assert http.post("/things/" + "x" * 513 + "/parts/b").status_code == 400


@pytest.mark.parametrize("malformed", ["a\r\nb", "nul\x00", "\x85", "\ud800", "x" * 513])
def test_segments_no_id_can_be_are_refused(malformed):
    with pytest.raises(BadRequest):
        check_path_parameters({"thing_id": "fine", "part_id": malformed})
    check_path_parameters({"thing_id": "ord_1f.x:y-z~ü", "part_id": "x" * 512})
