"""A webhook receiver for tests: a local HTTP server that records every POST it gets and
answers with the status the test sets."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    deliveries: list[Delivery] = field(default_factory=list)
    # Path → status to answer with; 200 for any other path.
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def to(self, path: str) -> list[Delivery]:
        return [d for d in list(self.deliveries) if d.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received = Delivery(
                self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"null"), time.time()
            )
            receiver.deliveries.append(received)
            self.send_response(receiver.statuses.get(self.path, 200))
            self.end_headers()
            self.wfile.write(b"received")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return receiver
