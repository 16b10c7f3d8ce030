"""The HTTPS certificate of `make run HTTPS=1`: made once, kept, made again before it expires."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509

from devstack.tls import ensure_certificate, server_context


def test_made_on_first_use_then_kept(tmp_path):
    cert, key = ensure_certificate(tmp_path / "tls")
    assert key.stat().st_mode & 0o777 == 0o600
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    names = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert loaded.not_valid_after_utc - loaded.not_valid_before_utc <= datetime.timedelta(days=398)
    before = cert.read_bytes()
    assert ensure_certificate(tmp_path / "tls") == (cert, key)
    assert cert.read_bytes() == before
    server_context(cert, key)


def test_made_again_when_it_nears_expiry(tmp_path):
    cert, _ = ensure_certificate(tmp_path)
    first = cert.read_bytes()
    in_a_year = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=360)
    ensure_certificate(tmp_path, now=in_a_year)
    assert cert.read_bytes() != first
