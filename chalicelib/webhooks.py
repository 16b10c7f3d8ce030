"""Outbound webhooks: POST JSON to a URL a client gave us, without letting it reach our network.

A client-supplied URL is a server-side request forgery waiting to happen: `http://10.0.0.5/`,
`http://localhost:6379/`, or a public name whose DNS answer is 169.254.169.254 (the cloud
metadata service). So only http and https are accepted, the host is resolved here and every
address it resolves to must be public, and the connection goes to the address that was
checked (not to whatever a second lookup returns: DNS rebinding). An IPv6 address that carries
an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`,
6to4 `2002::/16`, Teredo) is judged as the IPv4 address it carries. Webhook POSTs follow no
redirect; `fetch` (catalog ingestion) follows a few, each hop checked like the first.
`WEBHOOK_ALLOW_PRIVATE` admits private and loopback addresses (local receivers, tests); link-
local, multicast and unspecified addresses are refused even then.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

USER_AGENT = "serverless-platform-webhook/1"
BODY_PREVIEW_BYTES = 1024
# Statuses that say "try again later"; any other non-2xx answer will not change on a retry.
TRANSIENT_STATUSES = {408, 425, 429}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookRefused(Exception):
    """The URL, or an address it resolves to, is not allowed, or the receiver refused the
    request for good (a 4xx): retrying cannot help."""


class WebhookFailed(Exception):
    """The delivery failed in a way a later retry may not (timeout, connection refused, 5xx)."""


@dataclass(frozen=True)
class Delivery:
    status: int
    body_preview: str


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """The parts of an http(s) URL; WebhookRefused for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise WebhookRefused("the URL has no host")
    if parts.username or parts.password:
        raise WebhookRefused("credentials in the URL are not allowed; send them in a header")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_REDIRECTS = 5


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and would reach), if any."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if int(address) >> 32 == 0 and int(address) > 1:
        # IPv4-compatible (::a.b.c.d), deprecated but still routed by some stacks.
        return [ipaddress.IPv4Address(int(address))]
    return []


def address_allowed(address: Address, allow_private: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried:
            return all(address_allowed(inner, allow_private) for inner in carried)
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    if allow_private:
        return address.is_global or address.is_private or address.is_loopback
    return address.is_global


def check_literal_host(url: str, allow_private: bool) -> None:
    """Refuse, without any lookup, a URL that is not http(s) or names a forbidden IP literal.
    Used when a URL is stored, so the client hears about an obvious mistake at once."""
    target = parse_url(url)
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        return
    if not address_allowed(literal, allow_private):
        raise WebhookRefused(f"{target.host} is not a public address")


def resolve(host: str, port: int, allow_private: bool) -> list[Address]:
    """Every address of `host`; WebhookRefused if any is not allowed (a name with one private
    answer among public ones is a rebinding attempt as far as we are concerned)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookFailed(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    refused = [str(a) for a in addresses if not address_allowed(a, allow_private)]
    if refused or not addresses:
        raise WebhookRefused(f"{host} resolves to an address that is not allowed ({', '.join(refused) or 'none'})")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while speaking to the URL's host name."""

    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        super().connect()
        # Certificate and SNI are checked against the host name, as a browser would.
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def _send(
    method: str, url: str, body: bytes | None, headers: dict[str, str], timeout_s: float, allow_private: bool
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    target = parse_url(url)
    address = resolve(target.host, target.port, allow_private)[0]
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address, max(timeout_s, 0.1))
    try:
        connection.request(method, target.path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from None


def post_json(
    url: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
    allow_private: bool = False,
) -> Delivery:
    """POST `body` as JSON; a Delivery for a 2xx, WebhookRefused or WebhookFailed otherwise."""
    payload = json.dumps(body, separators=(",", ":"), default=str).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    response, connection = _send("POST", url, payload, sent, timeout_s, allow_private)
    try:
        preview = response.read(BODY_PREVIEW_BYTES).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return Delivery(response.status, preview)
    if response.status >= 500 or response.status in TRANSIENT_STATUSES:
        raise WebhookFailed(f"the receiver answered {response.status}")
    raise WebhookRefused(f"the receiver answered {response.status}")


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    url: str


def fetch(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 20.0,
    max_bytes: int = 32 * 1024 * 1024,
    allow_private: bool = False,
) -> Fetched:
    """GET `url`, following up to MAX_REDIRECTS redirects, each hop's host resolved and checked
    like the first (a public name may redirect to 169.254.169.254). The body is read up to
    `max_bytes` + 1, so a caller can tell "too large". WebhookRefused for a forbidden hop."""
    for _ in range(MAX_REDIRECTS + 1):
        response, connection = _send("GET", url, None, headers or {}, timeout_s, allow_private)
        try:
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            body = response.read(max_bytes + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise WebhookFailed(f"{type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        return Fetched(response.status, body, url)
    raise WebhookRefused(f"more than {MAX_REDIRECTS} redirects")
