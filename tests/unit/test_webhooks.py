"""Outbound webhooks: only http(s), only allowed addresses (every one a name resolves to), the
connection pinned to the address that was checked, and 2xx / transient / permanent answers."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from chalicelib import webhooks
from chalicelib.errors import BadRequest
from chalicelib.webhooks import WebhookFailed, WebhookRefused


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///path", "no host"),
        ("http://user:secret@example.com/", "credentials"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, reason):
    with pytest.raises(WebhookRefused, match=reason):
        webhooks.parse_url(url)


@pytest.mark.parametrize(
    ("address", "public_only", "private_allowed"),
    [
        ("93.184.216.34", True, True),
        ("2606:2800:220:1:248:1893:25c8:1946", True, True),
        ("10.1.2.3", False, True),
        ("192.168.0.10", False, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        # The cloud metadata service and friends: never, whatever the setting.
        ("169.254.169.254", False, False),
        ("fe80::1", False, False),
        ("224.0.0.1", False, False),
        ("0.0.0.0", False, False),
        ("100.64.0.1", False, False),
        # IPv6 forms that carry an IPv4 address are judged as that address.
        ("::ffff:169.254.169.254", False, False),
        ("::169.254.169.254", False, False),
        ("::127.0.0.1", False, True),
        ("::10.0.0.5", False, True),
        ("64:ff9b::a9fe:a9fe", False, False),
        ("64:ff9b::7f00:1", False, True),
        ("64:ff9b::5db8:d822", True, True),
        ("2002:a9fe:a9fe::1", False, False),
        ("2002:7f00:1::", False, True),
        ("2002:5db8:d822::1", True, True),
    ],
)
def test_which_addresses_are_allowed(address, public_only, private_allowed):
    ip = ipaddress.ip_address(address)
    assert webhooks.address_allowed(ip, allow_private=False) is public_only
    assert webhooks.address_allowed(ip, allow_private=True) is private_allowed


def test_literal_hosts_are_checked_without_a_lookup(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("no lookup expected"))
    with pytest.raises(WebhookRefused, match="not a public address"):
        webhooks.check_literal_host("http://127.0.0.1:8080/hook", allow_private=False)
    webhooks.check_literal_host("http://127.0.0.1:8080/hook", allow_private=True)
    webhooks.check_literal_host("https://hooks.example.com/x", allow_private=False)


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return real(host, port, *args, **kwargs)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_any_private_answer_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"rebind.example": ["93.184.216.34", "10.0.0.7"], "ok.example": ["93.184.216.34"]})
    with pytest.raises(WebhookRefused, match=r"10\.0\.0\.7"):
        webhooks.resolve("rebind.example", 443, allow_private=False)
    assert webhooks.resolve("ok.example", 443, allow_private=False) == [ipaddress.ip_address("93.184.216.34")]
    with pytest.raises(WebhookFailed, match="cannot resolve"):
        webhooks.resolve("missing.example", 443, allow_private=False)


class Receiver(BaseHTTPRequestHandler):
    status = 200
    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.seen.append((self.path, self.headers["Host"], body))
        self.send_response(Receiver.status)
        if Receiver.status == 302:
            self.send_header("Location", "http://169.254.169.254/")
        self.end_headers()
        self.wfile.write(b"thanks")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    Receiver.status, Receiver.seen = 200, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_delivery_goes_to_the_checked_address_with_the_name_as_host(monkeypatch, receiver):
    fake_dns(monkeypatch, {"hooks.internal.example": ["127.0.0.1"]})
    url = f"http://hooks.internal.example:{receiver}/in?x=1"
    with pytest.raises(WebhookRefused):
        webhooks.post_json(url, {"a": 1})
    delivery = webhooks.post_json(url, {"a": 1}, headers={"X-Extra": "yes"}, allow_private=True)
    assert delivery.status == 200 and delivery.body_preview == "thanks"
    assert Receiver.seen == [("/in?x=1", f"hooks.internal.example:{receiver}", b'{"a":1}')]


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, WebhookFailed), (503, WebhookFailed), (429, WebhookFailed), (404, WebhookRefused), (302, WebhookRefused)],
)
def test_non_2xx_answers_say_whether_a_retry_can_help(receiver, status, error):
    Receiver.status = status
    with pytest.raises(error, match=str(status)):
        webhooks.post_json(f"http://127.0.0.1:{receiver}/", {}, allow_private=True)
    # A redirect is never followed: one request, to the receiver only.
    assert len(Receiver.seen) == 1


def test_an_unreachable_receiver_is_a_transient_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WebhookFailed, match="ConnectionRefused"):
        webhooks.post_json(f"http://127.0.0.1:{port}/", {}, allow_private=True, timeout_s=2)


class Redirector(BaseHTTPRequestHandler):
    """Answers GET /hop/<n> with a redirect to Redirector.targets[n], anything else with JSON."""

    targets: ClassVar[list[str]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        Redirector.seen.append(self.path)
        if self.path.startswith("/hop/"):
            self.send_response(302)
            self.send_header("Location", Redirector.targets[int(self.path.rsplit("/", 1)[1])])
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"products": []}')

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector() -> Iterator[int]:
    Redirector.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[64:ff9b::a9fe:a9fe]/"],
)
def test_fetch_checks_every_redirect_hop(redirector, target):
    Redirector.targets = [f"http://127.0.0.1:{redirector}/hop/1", target]
    with pytest.raises(WebhookRefused, match="not allowed"):
        webhooks.fetch(f"http://127.0.0.1:{redirector}/hop/0", allow_private=True)
    assert Redirector.seen == ["/hop/0", "/hop/1"]


def test_fetch_follows_allowed_redirects_and_refuses_loops(redirector):
    Redirector.targets = [f"http://127.0.0.1:{redirector}/products"]
    fetched = webhooks.fetch(f"http://127.0.0.1:{redirector}/hop/0", allow_private=True)
    assert (fetched.status, fetched.body, fetched.url) == (
        200,
        b'{"products": []}',
        f"http://127.0.0.1:{redirector}/products",
    )
    Redirector.targets = [f"http://127.0.0.1:{redirector}/hop/0"]
    with pytest.raises(WebhookRefused, match="redirects"):
        webhooks.fetch(f"http://127.0.0.1:{redirector}/hop/0", allow_private=True)


def test_ingest_reads_through_the_guard_and_hides_why_a_url_failed(tmp_path, redirector):
    from chalicelib.catalog.ingest import HttpCache

    with pytest.raises(BadRequest, match="is not allowed"):
        HttpCache(tmp_path).get_json(f"http://127.0.0.1:{redirector}/products")
    assert Redirector.seen == []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(BadRequest) as refused:
        HttpCache(tmp_path, allow_private=True).get_json(f"http://127.0.0.1:{closed}/")
    assert refused.value.detail == f"http://127.0.0.1:{closed}/ could not be read"
    assert HttpCache(tmp_path, allow_private=True).get_json(f"http://127.0.0.1:{redirector}/products") == {
        "products": []
    }
