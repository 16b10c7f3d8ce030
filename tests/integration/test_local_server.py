"""The local HTTP server as a network service: who may drive the control surface, what a stalled
client gets, and the same API over TLS with HSTS only there."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
from urllib.parse import urlparse

import pytest
import requests

from tests.integration.probe_app import probe_env
from tests.support.stack import start_stack, wait_for

READ_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    journal = tmp_path_factory.mktemp("probe") / "journal.jsonl"
    stack = start_stack({**probe_env(journal), "DEVSTACK_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S)})
    yield stack
    stack.stop()


def address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname, parsed.port


def control_with_host(stack, host: str | None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(*address(stack.endpoints["api"]), timeout=10)
    connection.putrequest("GET", "/_devstack/outbox", skip_host=True)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    return connection.getresponse()


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:65535", "[::1]", "[::1]:8000"])
def test_the_control_surface_answers_requests_addressed_to_loopback(plain, host):
    response = control_with_host(plain, host)
    assert response.status == 200
    assert "messages" in json.loads(response.read())


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:8000",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        "[::1].attacker.example",
        "localhost:8000@attacker.example",
        "localhost:",
        "10.0.0.7:8000",
        None,
    ],
)
def test_a_dns_rebinding_page_cannot_drive_the_control_surface(plain, host):
    response = control_with_host(plain, host)
    assert response.status == 403
    assert response.getheader("Content-Type") == "application/problem+json"
    problem = json.loads(response.read())
    assert problem["type"] == "/problems/forbidden" and problem["status"] == 403


def test_an_unknown_control_route_is_a_404_problem(plain):
    response = requests.post(plain.endpoints["control"] + "/nothing", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_client_that_stalls_mid_request_line_is_disconnected(plain):
    host, port = address(plain.endpoints["api"])
    with socket.create_connection((host, port), timeout=10) as stalled:
        stalled.sendall(b"GET /_devstack HT")
        started = time.monotonic()
        # Meanwhile the server answers everyone else.
        assert requests.get(plain.endpoints["control"], timeout=5).status_code == 200
        assert stalled.recv(1024) == b""
        waited = time.monotonic() - started
    assert READ_TIMEOUT_S * 0.5 <= waited < READ_TIMEOUT_S + 5
    closed = wait_for(lambda: [e for e in plain.logs("connection closed") if "timed out" in e["reason"]])
    assert closed[0]["client"] == "127.0.0.1"


def test_a_slow_client_within_the_timeout_is_served(plain):
    host, port = address(plain.endpoints["api"])
    with socket.create_connection((host, port), timeout=10) as slow:
        for part in (b"GET /_devstack HTTP/1.1\r\n", b"Host: localhost\r\n", b"Connection: close\r\n\r\n"):
            slow.sendall(part)
            time.sleep(READ_TIMEOUT_S / 3)
        assert slow.recv(12) == b"HTTP/1.1 200"


@pytest.mark.parametrize(
    ("chunk_line", "status"),
    [
        (b"zz", 400),
        (b"-5", 400),
        # One byte past API Gateway's 10 MiB: refused from the size line, before the data is read.
        (f"{10 * 1024 * 1024 + 1:x}".encode(), 413),
    ],
)
def test_a_malformed_or_oversized_chunked_body_is_a_problem(plain, chunk_line, status):
    with socket.create_connection(address(plain.endpoints["api"]), timeout=10) as client:
        head = b"POST /anything HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        client.sendall(head + chunk_line + b"\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode())
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == status


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("tls-data")
    stack = start_stack(
        {
            "DEVSTACK_HTTPS": "true",
            "DEVSTACK_EPHEMERAL": "false",
            "DEVSTACK_DATA_DIR": str(data),
            "DEVSTACK_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        }
    )
    yield stack, data
    stack.stop()


def test_https_serves_the_api_with_a_certificate_kept_in_the_data_folder(tls_stack):
    stack, data = tls_stack
    certificate = data / "tls" / "localhost.pem"
    assert certificate.is_file() and (data / "tls" / "localhost-key.pem").stat().st_mode & 0o077 == 0
    assert any(str(certificate) in line for line in stack.lines), "the start-up banner names the certificate"
    assert stack.endpoints["api"].startswith("https://127.0.0.1:")
    for host in ("localhost", "127.0.0.1"):
        context = ssl.create_default_context(cafile=certificate)
        connection = http.client.HTTPSConnection(host, address(stack.endpoints["api"])[1], context=context, timeout=10)
        connection.request("GET", "/health")
        response = connection.getresponse()
        assert response.status == 200, host
        assert response.getheader("Strict-Transport-Security") == "max-age=63072000; includeSubDomains"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_k_reaches_health(tls_stack):
    stack, _ = tls_stack
    result = subprocess.run(
        ["curl", "-ksS", "-o", "/dev/null", "-w", "%{http_code}", stack.endpoints["health"]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout == "200", result.stderr


def test_hsts_on_every_tls_response_and_never_over_plain_http(tls_stack):
    stack, _ = tls_stack
    missing = requests.get(stack.endpoints["api"] + "/no/such/route", verify=False, timeout=10)
    assert missing.status_code == 404
    assert "Strict-Transport-Security" in missing.headers
    # A client's own claim to have come over plain HTTP is replaced, as API Gateway does.
    spoofed = requests.get(stack.endpoints["health"], headers={"X-Forwarded-Proto": "http"}, verify=False, timeout=10)
    assert "Strict-Transport-Security" in spoofed.headers


def test_a_stalled_handshake_or_plain_http_on_the_tls_port_harms_nobody(tls_stack):
    stack, _ = tls_stack
    host, port = address(stack.endpoints["api"])
    with socket.create_connection((host, port), timeout=10) as silent:
        with socket.create_connection((host, port), timeout=10) as plain_http:
            plain_http.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert requests.get(stack.endpoints["health"], verify=False, timeout=5).status_code == 200
            answer = b"".join(iter(lambda: plain_http.recv(1024), b""))
            assert not answer.startswith(b"HTTP/"), "the TLS port never answers in plain text"
        started = time.monotonic()
        assert silent.recv(1024) == b""
        assert time.monotonic() - started < READ_TIMEOUT_S + 5
