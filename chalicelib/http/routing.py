"""Declaring routes: one decorator that registers a view (and its aliases) on a Blueprint,
records what OpenAPI needs to describe it, turns every exception into a problem, and lets only
the callers a route's declaration admits in.

Chalice catches a view's exceptions itself, before any middleware sees them, and answers
with its own body; so the error mapping has to wrap the view, here. Who a caller is, is for
the identity context to say: the application mounts each blueprint with its authenticator
(app.py); what the caller may do is the route's declaration, checked here.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from chalice import Blueprint, Response
from chalice.app import ChaliceViewError

from chalicelib.errors import BadRequest, DomainError, Forbidden, NotFound
from chalicelib.http import errors, forms
from chalicelib.http.requests import json_only, route_schema_var
from chalicelib.jsonlog import get_logger, request_id_var
from chalicelib.principal import Principal, bind, unbind

log = get_logger("http")

META_ATTRIBUTE = "__api_meta__"
DEFAULT_CONTENT_TYPES = ("application/json",)
# No id of this API is longer, and DynamoDB keys cap at 2 KiB: a longer segment names nothing.
MAX_PATH_PARAMETER = 512
# Control characters (C0, DEL, C1) and lone surrogates can be no id; they reach storage and
# search engines as errors, never as a lookup.
_MALFORMED = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

# Who sent a request (Chalice's current request), or Unauthenticated.
Authenticate = Callable[[Any], Principal]


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class RouteMeta:
    """What the OpenAPI document says about a route."""

    summary: str
    tags: tuple[str, ...] = ()
    description: str = ""
    # Name of a file in chalicelib/schemas that validates (and documents) the JSON body.
    request_schema: str | None = None
    # Status code -> description; the error statuses every route shares are added by OpenAPI.
    responses: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    query: tuple[QueryParam, ...] = ()
    # Media type of a successful response body; None for responses without one.
    produces: str | None = "application/json"
    # Alias paths answer identically but are hidden from the OpenAPI document.
    canonical: bool = True
    # Who may call: "none" (anyone), "user" (any authenticated caller), "admin".
    auth: str = "none"
    # The API-key scope the route needs; a person's token has every scope.
    scope: str | None = None
    # False for routes only a person may call (managing API keys, changing a password).
    api_keys: bool = True
    # The media types the body may have, and whether form and multipart bodies are read too.
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    forms: bool = False

    def __post_init__(self) -> None:
        if self.auth not in ("none", "user", "admin"):
            raise ValueError(f"auth must be none, user or admin, not {self.auth!r}")


class Access(TypedDict, total=False):
    """Who may call a route: the part of a declaration the routes of a context share
    (`READ: Access = {...}`, passed as `**READ`)."""

    auth: str
    scope: str | None
    api_keys: bool


class TaggedAccess(Access, total=False):
    """Access, for a context whose routes all share their tags too."""

    tags: tuple[str, ...]


class RouteOptions(TaggedAccess, total=False):
    """The fields of RouteMeta a route declares: `ApiBlueprint.route`'s keywords."""

    description: str
    request_schema: str | None
    responses: dict[int, str]
    query: tuple[QueryParam, ...]
    produces: str | None


def check_path_parameters(parameters: Mapping[str, str]) -> None:
    """Refuse path segments that cannot name anything, for every route at once.

    An empty segment (`/tasks//status`) is a path API Gateway would not route: 404. A segment
    no id can be (too long, control characters) is a malformed request: 400. Each route's own
    parsing refuses the rest (a product id that is not a number, say).
    """
    for name, value in parameters.items():
        if not value:
            raise NotFound(f"No resource has an empty {name}")
        if len(value) > MAX_PATH_PARAMETER or _MALFORMED.search(value):
            raise BadRequest(f"{name} is not a well-formed id")


def _refuse_forms(request: Any, meta: RouteMeta) -> None:
    if forms.is_form(request.headers) and not forms.looks_like_json(request.headers, request.raw_body or b""):
        raise json_only(meta.request_schema)


def takes_forms(content_types: tuple[str, ...], request_schema: str | None) -> bool:
    """Whether a route reads form and multipart bodies, as DRF's views all do.

    Yes where its schema is flat; yes for routes that read no body, or read JSON without a
    schema (`json_body` refuses a form there itself); no for the JSON-only media types
    (merge patches, NDJSON logs) and nested schemas.
    """
    if any(media_type in forms.FORM_TYPES for media_type in content_types):
        return True
    if request_schema is not None:
        return forms.is_flat(request_schema)
    return content_types == DEFAULT_CONTENT_TYPES


def authorize(principal: Principal, meta: RouteMeta) -> None:
    """Refuse a caller the route's declaration does not admit."""
    if principal.via == "api_key" and not meta.api_keys:
        raise Forbidden("This route needs a person's token; API keys cannot call it")
    if meta.auth == "admin" and not principal.is_admin:
        raise Forbidden("Administrators only")
    if not principal.allows(meta.scope):
        raise Forbidden(f"The API key lacks the {meta.scope} scope")


def _guarded(view: Callable[..., Any], meta: RouteMeta, api: ApiBlueprint) -> Callable[..., Any]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        binding = None
        schema_token = route_schema_var.set(meta.request_schema)
        try:
            check_path_parameters(kwargs)
            if not meta.forms:
                _refuse_forms(api.current_request, meta)
            if meta.auth != "none":
                binding = bind(api.caller(meta))
            return view(*args, **kwargs)
        except DomainError as exc:
            return errors.problem_for(exc)
        except ChaliceViewError:
            # Chalice's own HTTP errors (raised by its request parsing too) carry their status;
            # Chalice renders them and the middleware rewrites the body as a problem.
            raise
        except Exception:
            log.exception("unhandled error in route", extra={"view": view.__name__})
            return errors.internal_error(request_id_var.get())
        finally:
            route_schema_var.reset(schema_token)
            if binding is not None:
                unbind(binding)

    return guarded


class ApiBlueprint:
    """A Chalice Blueprint whose routes carry OpenAPI metadata and problem-mapped errors."""

    def __init__(self, import_name: str) -> None:
        self.import_name = import_name
        self.blueprint = Blueprint(import_name)
        self._authenticate: Authenticate | None = None

    def mount(self, authenticate: Authenticate) -> Blueprint:
        """The Chalice blueprint to register, its protected routes' callers told by `authenticate`."""
        self._authenticate = authenticate
        return self.blueprint

    @property
    def current_request(self) -> Any:
        return self.blueprint.current_request

    def caller(self, meta: RouteMeta) -> Principal:
        """Who sent the current request, if the route admits them."""
        if self._authenticate is None:
            raise RuntimeError(f"{self.import_name}: routes declared with auth= need the blueprint mounted")
        principal = self._authenticate(self.current_request)
        authorize(principal, meta)
        return principal

    def route(
        self,
        path: str,
        methods: tuple[str, ...] = ("GET",),
        *,
        summary: str,
        aliases: tuple[str, ...] = (),
        content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES,
        **meta: Unpack[RouteOptions],
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            with_forms = takes_forms(content_types, meta.get("request_schema"))
            declared = tuple(dict.fromkeys((*content_types, *(forms.FORM_TYPES if with_forms else ()))))
            route_meta = RouteMeta(summary=summary, content_types=declared, forms=with_forms, **meta)
            # Chalice is told every form type too, so that a form sent to a JSON-only route gets
            # our 415 saying why (in `_guarded`) rather than Chalice's bare one.
            accepted = list(dict.fromkeys((*content_types, *forms.FORM_TYPES)))
            guarded = _guarded(view, route_meta, self)
            for index, route_path in enumerate((path, *aliases)):
                # Each path gets its own wrapper so the alias's metadata can say "hidden".
                entry = functools.wraps(guarded)(lambda *a, _g=guarded, **kw: _g(*a, **kw))
                setattr(entry, META_ATTRIBUTE, dataclasses.replace(route_meta, canonical=index == 0))
                self.blueprint.route(
                    route_path,
                    methods=list(methods),
                    content_types=accepted,
                    name=view.__name__ if index == 0 else f"{view.__name__}_alias{index}",
                )(entry)
            return view

        return register


def route_meta(view: Callable[..., Any]) -> RouteMeta | None:
    return getattr(view, META_ATTRIBUTE, None)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def base_path(context: dict[str, Any]) -> str:
    """The prefix the API is mounted under ("/api" for a stage in the URL), or "": what a page
    must put before its own absolute links."""
    path, resource = context.get("path") or "", context.get("resourcePath") or ""
    return path[: -len(resource)] if resource and path.endswith(resource) else ""
