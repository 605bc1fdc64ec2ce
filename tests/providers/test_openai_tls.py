"""The openai provider verifies TLS certificates for every https endpoint; only plain http skips loading them."""

from __future__ import annotations

import ssl

from roadtest.providers import OpenAIProvider
from roadtest.spec import ModelSpec


def _context(url: str) -> ssl.SSLContext:
    return OpenAIProvider(ModelSpec(id="m", provider="openai", base_url=url))._transport.ssl_context


def test_https_endpoints_are_verified():
    for url in ("https://api.example.com/v1", "HTTPS://api.example.com/v1"):
        context = _context(url)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_plain_http_loads_no_certificates():
    assert _context("http://127.0.0.1:8080/v1").cert_store_stats()["x509_ca"] == 0
