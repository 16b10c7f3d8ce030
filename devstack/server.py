"""The local HTTP front door: Chalice's local API Gateway, with these differences.

- An unknown route answers 404 problem+json, the way the deployed API Gateway does once its
  MISSING_AUTHENTICATION_TOKEN gateway response is mapped (infrastructure/), instead of
  chalice local's 403 "Missing Authentication Token".
- `/_devstack/...` is the local cloud's control surface (status, fire a schedule, the outbox
  with its live reset links). It is part of the dev server only; the app never sees it and it
  does not exist in AWS. It answers only requests whose Host is a loopback name, so a web page
  that rebinds its own DNS name to 127.0.0.1 cannot drive it from a browser.
- A client gets `read_timeout_s` for each read (request line, headers, body, and the TLS
  handshake); one that stalls longer is disconnected instead of holding a thread forever.
- With a TLS context it serves HTTPS; the app learns the scheme from X-Forwarded-Proto, as
  behind API Gateway (a client's own X-Forwarded-Proto is replaced).
- A chunked request body (`Transfer-Encoding: chunked`, what a streaming client sends) reaches
  the app whole, with its Content-Length, as API Gateway hands it to Lambda. Chalice's local
  server reads only a Content-Length body: it passed an empty body and then read the chunks as
  the next request, answering it http.server's HTML 400 and dropping the connection.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import sys
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
from chalicelib.http.middleware import arrived_over_tls, decorate, request_id_from

CONTROL_PREFIX = "/_devstack"
Control = Callable[[str, str], tuple[int, dict[str, Any]]]
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
CONTROL_ERRORS = {404: ("not-found", "Not found"), 409: ("conflict", "Conflict")}
# API Gateway's own limit on a request payload; a chunked body past it is refused here as there.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_MAX_LINE = 65536
_PORT = re.compile(r"^(:[0-9]{1,5})?$")

log = logging.getLogger("http")


def is_loopback_host(host: str | None) -> bool:
    """True for a Host header naming this machine's loopback (localhost, 127.0.0.1, [::1]),
    with or without a port: what a DNS-rebinding page cannot send."""
    if not host:
        return False
    host = host.strip().lower()
    name = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    return name in LOOPBACK_HOSTS and bool(_PORT.match(host[len(name) :]))


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
        decorate(response.headers, request_id, lowered.get("origin"), get_settings(), tls=arrived_over_tls(lowered))
        log.info(
            "request",
            extra={"method": method, "path": route, "route": None, "status": 404, "request_id": request_id},
        )
        return response.to_dict()


class _Refused(Exception):
    """A request the server answers itself, before the app: a malformed or oversized chunked body."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


class RequestHandler(ChaliceRequestHandler):
    # The handler writes headers and body separately; with Nagle's algorithm on, a keep-alive
    # client waits out the peer's delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True

    server: ApiServer

    def __init__(self, request: Any, client_address: Any, server: ApiServer) -> None:
        # ChaliceRequestHandler builds a gateway per request (and re-sorts every route each
        # time); the server's one gateway is enough, and it is stateless between requests.
        self.local_gateway = server.gateway
        self.timeout = server.read_timeout_s
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # Here, in the connection's own thread and under the read timeout, rather than in
            # accept(): a client that never finishes its handshake must not stall the others.
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def _parse_payload(self) -> tuple[Any, bytes | None]:
        # What API Gateway tells its backend: the scheme the client used, never the client's claim.
        del self.headers["X-Forwarded-Proto"]
        self.headers["X-Forwarded-Proto"] = self.server.scheme
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunks()
            del self.headers["Transfer-Encoding"], self.headers["Content-Length"]
            self.headers["Content-Length"] = str(len(body))
            return dict(self.headers), body or None
        return super()._parse_payload()

    def _read_chunks(self) -> bytes:
        """The body of a chunked request (RFC 9112 §7.1), its trailer fields read and dropped."""
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
                if length < 0:
                    raise ValueError(length)
            except ValueError:
                raise _Refused(400, "bad-request", "Bad request", "The chunked body is malformed") from None
            if length == 0:
                break
            size += length
            if size > MAX_PAYLOAD_BYTES:
                detail = f"The body is over {MAX_PAYLOAD_BYTES} bytes, API Gateway's limit"
                raise _Refused(413, "payload-too-large", "Payload too large", detail)
            chunks.append(self.rfile.read(length))
            self.rfile.readline(_MAX_LINE + 1)  # the CRLF that ends the chunk
        while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Refused as refused:
            # What is left of the body cannot be told from the next request: answer, then close.
            self.close_connection = True
            response = errors.problem(refused.status, refused.slug, refused.title, refused.detail)
            self._send_decorated(response.status_code, dict(response.headers), response.body)

    def _generic_handle(self) -> None:
        if self.path.startswith(CONTROL_PREFIX):
            self._control()
            return
        super()._generic_handle()

    def _control(self) -> None:
        self._parse_payload()
        if is_loopback_host(self.headers.get("Host")):
            status, body = self.server.control(self.command, self.path[len(CONTROL_PREFIX) :].split("?", 1)[0])
            if status < 400:
                self._send_decorated(status, {"Content-Type": "application/json"}, json.dumps(body, default=str))
                return
            slug, title = CONTROL_ERRORS[status]
            response = errors.problem(status, slug, title, body["error"])
        else:
            response = errors.problem(
                403,
                "forbidden",
                "Forbidden",
                f"The local cloud's control surface answers only requests addressed to {', '.join(LOOPBACK_HOSTS)}",
            )
        self._send_decorated(response.status_code, dict(response.headers), response.body)

    def _send_decorated(self, status: int, headers: dict[str, Any], body: str) -> None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        decorate(
            headers, request_id_from(lowered), lowered.get("origin"), get_settings(), tls=self.server.tls is not None
        )
        self._send_http_response(status, headers, body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _unsupported_method(self) -> None:
        """Methods no route can have (API Gateway does not route them either): 405, not http.server's 501."""
        self._parse_payload()
        response = errors.problem(
            405, "method-not-allowed", "Method not allowed", f"{self.command} is not supported by this API"
        )
        self._send_decorated(405, dict(response.headers), response.body)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> and answers 501 when it is missing; every method no
        # route can have (TRACE, QUERY, made-up ones) gets the API's 405 problem instead.
        if name.startswith("do_"):
            return self._unsupported_method
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the app's middleware already logs one JSON line per request."""

    def log_error(self, format: str, *args: Any) -> None:
        # http.server reports here a client that stalled past the read timeout, and requests
        # too malformed to reach the app.
        log.warning("connection closed", extra={"reason": format % args, "client": self.client_address[0]})


def _gateway(app: Chalice) -> ProblemGateway:
    config = Config(chalice_stage="local", config_from_disk={"app_name": app.app_name}, user_provided_params={})
    # What chalice.local.create_local_server does first: a thread-local current_request, which a
    # threaded server needs.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return ProblemGateway(app, config)


class ApiServer(ThreadedHTTPServer):
    # socketserver's default backlog of 5 resets connections when dozens of clients connect at
    # once (a load test, a burst of parallel tests); API Gateway never does that.
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        app: Chalice,
        control: Control,
        read_timeout_s: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.gateway = _gateway(app)
        self.control = control
        self.read_timeout_s = read_timeout_s
        self.tls = tls
        super().__init__(address, RequestHandler)

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def serve_app(self, app: Chalice) -> None:
        """Route requests from now on to `app` (a reload); requests in flight finish on the old one."""
        self.gateway = _gateway(app)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-response, stalled its handshake or spoke plain HTTP to the
        TLS port is worth a log line, not the stack trace socketserver prints by default."""
        error = sys.exc_info()[1]
        log.warning("connection error", extra={"error_type": type(error).__name__, "client": client_address[0]})
