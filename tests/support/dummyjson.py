"""A local stand-in for dummyjson.com: `/products?limit=&skip=` pages over a list of products.

It counts the requests it serves, so a test can tell a cached page from a fetched one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class DummyJson:
    products: list[Any]
    url: str = ""
    requests: list[str] = field(default_factory=list)


@contextmanager
def dummyjson(products: list[Any]) -> Iterator[DummyJson]:
    served = DummyJson(products)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            parts = urlsplit(self.path)
            if parts.path != "/products":
                self.send_error(404)
                return
            query = parse_qs(parts.query)
            limit = int(query.get("limit", ["30"])[0])
            skip = int(query.get("skip", ["0"])[0])
            page = served.products[skip : skip + limit] if limit else served.products[skip:]
            body = json.dumps({"products": page, "total": len(served.products), "skip": skip, "limit": limit})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads `requests` instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}/products"
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
