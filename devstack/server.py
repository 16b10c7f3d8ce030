"""The local HTTP front door: Chalice's local API Gateway, with two differences.

- An unknown route answers 404 problem+json, the way the deployed API Gateway does once its
  MISSING_AUTHENTICATION_TOKEN gateway response is mapped (infrastructure/), instead of
  chalice local's 403 "Missing Authentication Token".
- `/_devstack/...` is the local cloud's control surface (status, fire a schedule). It is part
  of the dev server only; the app never sees it and it does not exist in AWS.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalGateway,
    ThreadedHTTPServer,
)

from chalicelib.config import get_settings
from chalicelib.http import errors
from chalicelib.http.middleware import decorate, request_id_from

CONTROL_PREFIX = "/_devstack"
Control = Callable[[str, str], tuple[int, dict[str, Any]]]

log = logging.getLogger("http")


class ProblemGateway(LocalGateway):
    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            self.event_converter._route_matcher.match_route(path)
        except ValueError:
            return self._not_found(method, path, headers)
        return super().handle_request(method, path, headers, body)

    def _not_found(self, method: str, path: str, headers: Any) -> dict[str, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        request_id = request_id_from(lowered)
        route = path.split("?", 1)[0]
        response = errors.problem(404, "not-found", "Not found", f"No route matches {method} {route}")
        decorate(response.headers, request_id, lowered.get("origin"), get_settings())
        log.info(
            "request",
            extra={"method": method, "path": route, "route": None, "status": 404, "request_id": request_id},
        )
        return response.to_dict()


class RequestHandler(ChaliceRequestHandler):
    # The handler writes headers and body separately; with Nagle's algorithm on, a keep-alive
    # client waits out the peer's delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: Any, gateway: LocalGateway, control: Control) -> None:
        # ChaliceRequestHandler builds a gateway per request (and re-sorts every route each
        # time); one shared gateway is enough, and it is stateless between requests.
        self.local_gateway = gateway
        self.control = control
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _generic_handle(self) -> None:
        if self.path.startswith(CONTROL_PREFIX):
            self._parse_payload()
            status, body = self.control(self.command, self.path[len(CONTROL_PREFIX) :].split("?", 1)[0])
            self._send_http_response(status, {"Content-Type": "application/json"}, json.dumps(body, default=str))
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _unsupported_method(self) -> None:
        """Methods no route can have (API Gateway does not route them either): 405, not http.server's 501."""
        self._parse_payload()
        lowered = {k.lower(): v for k, v in self.headers.items()}
        response = errors.problem(
            405, "method-not-allowed", "Method not allowed", f"{self.command} is not supported by this API"
        )
        decorate(response.headers, request_id_from(lowered), lowered.get("origin"), get_settings())
        self._send_http_response(405, dict(response.headers), response.body)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> and answers 501 when it is missing; every method no
        # route can have (TRACE, QUERY, made-up ones) gets the API's 405 problem instead.
        if name.startswith("do_"):
            return self._unsupported_method
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the app's middleware already logs one JSON line per request."""


class ApiServer(ThreadedHTTPServer):
    # socketserver's default backlog of 5 resets connections when dozens of clients connect at
    # once (a load test, a burst of parallel tests); API Gateway never does that.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-response (a timeout, a reset) is worth a log line, not the
        stack trace socketserver prints to stderr by default."""
        import sys

        error = sys.exc_info()[1]
        log.warning("connection error", extra={"error_type": type(error).__name__, "client": client_address[0]})


def make_server(app: Chalice, host: str, port: int, control: Control) -> ApiServer:
    config = Config(chalice_stage="local", config_from_disk={"app_name": app.app_name}, user_provided_params={})
    # What chalice.local.create_local_server does first: a thread-local current_request, which a
    # threaded server needs.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    gateway = ProblemGateway(app, config)
    return ApiServer(
        (host, port), lambda request, address, srv: RequestHandler(request, address, srv, gateway, control)
    )
