"""Any OpenAI-compatible endpoint, over httpx with an aiohttp transport (it scales with concurrency).

Requests go straight to the transport with pre-built URLs and headers: httpx's client layer (URL merging,
cookies, auth flows, redirects) adds nothing here and costs half the throughput at high concurrency
(see benchmarks/).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from roadtest.providers.base import Reply, ResponseTooLarge
from roadtest.providers.secrets import api_key, redact
from roadtest.spec import ModelSpec

POOL = 1024
ENDPOINTS = ("chat/completions", "completions")


class OpenAIProvider:
    """Chat completions and completions against base_url; one pooled transport per endpoint."""

    def __init__(self, spec: ModelSpec, base_url: str | None = None) -> None:
        self.spec = spec
        self.base_url = (base_url or next(iter(spec.base_urls), "")).rstrip("/")
        self._urls = {e: httpx.URL(f"{self.base_url}/{e}") for e in ENDPOINTS}
        host = self._urls[ENDPOINTS[0]].netloc.decode("ascii")
        headers = {"host": host, "content-type": "application/json", "accept": "application/json"}
        key = api_key(spec)
        if key:
            headers["authorization"] = f"Bearer {key}"
        self._headers = httpx.Headers(headers)
        self._timeout = {"timeout": {k: spec.timeout_s for k in ("connect", "read", "write", "pool")}}
        # The engine bounds concurrency itself (load levels may exceed max_concurrency), so the pool is wide.
        # A plain-http endpoint (a local server) never uses TLS: loading the CA bundle for it costs 30 ms of CPU.
        tls = self._urls[ENDPOINTS[0]].scheme != "http"
        self._transport = AiohttpTransport(verify=tls, limits=httpx.Limits(max_connections=POOL,
                                                                           max_keepalive_connections=POOL))

    async def send(self, endpoint: str, body: dict[str, Any]) -> Reply:
        url = self._urls.get(endpoint) or httpx.URL(f"{self.base_url}/{endpoint}")
        request = httpx.Request("POST", url, headers=self._headers, content=json.dumps(body).encode(),
                                extensions=self._timeout)
        response = await self._transport.handle_async_request(request)
        raw = await read_capped(response, self.spec.max_response_bytes)
        headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            return Reply(response.status_code, json.loads(raw), None, headers)
        except ValueError:
            return Reply(response.status_code, None, raw.decode("utf-8", errors="replace"), headers)

    async def models(self) -> list[dict[str, Any]]:
        """The endpoint's /models listing (empty when it has none, or one too large to read)."""
        request = httpx.Request("GET", httpx.URL(f"{self.base_url}/models"), headers=self._headers,
                                extensions=self._timeout)
        try:
            response = await self._transport.handle_async_request(request)
            raw = await read_capped(response, self.spec.max_response_bytes)
            data = json.loads(raw).get("data", []) if response.status_code == 200 else []
            return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        except (httpx.HTTPError, ValueError, AttributeError, OSError, ResponseTooLarge):
            return []

    async def alive(self) -> bool:
        """Whether the endpoint answers its /models listing with 200 (a replica out of rotation is probed so)."""
        request = httpx.Request("GET", httpx.URL(f"{self.base_url}/models"), headers=self._headers,
                                extensions=self._timeout)
        try:
            response = await self._transport.handle_async_request(request)
            await response.aclose()
        except (httpx.HTTPError, OSError):
            return False
        return response.status_code == 200

    def identity(self) -> dict[str, Any]:
        return {"provider": "openai", "base_url": self.base_url, "model": self.spec.request_model,
                "api_key_env": self.spec.api_key_env}

    async def aclose(self) -> None:
        await self._transport.aclose()


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The whole body, read chunk by chunk; past `limit` bytes reading stops and ResponseTooLarge is raised
    (memory stays near the limit whatever the endpoint sends or announces)."""
    try:
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise ResponseTooLarge(response.status_code, limit, 0, declared)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(response.status_code, limit, size - len(chunk))
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        await response.aclose()


def _content_length(response: httpx.Response) -> int | None:
    try:
        value = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 and "content-encoding" not in response.headers else None


__all__ = ["OpenAIProvider", "read_capped", "redact"]
