"""Any OpenAI-compatible endpoint over httpx."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from roadtest.errors import RoadtestError
from roadtest.providers.base import Reply
from roadtest.spec import ModelSpec


class OpenAIProvider:
    """Chat completions and completions against base_url; one pooled client per endpoint."""

    def __init__(self, spec: ModelSpec, base_url: str | None = None) -> None:
        self.spec = spec
        self.base_url = (base_url or spec.base_url or "").rstrip("/")
        headers = {"content-type": "application/json"}
        key = _api_key(spec)
        if key:
            headers["authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=spec.max_concurrency,
                              max_keepalive_connections=spec.max_concurrency)
        self._client = httpx.AsyncClient(base_url=self.base_url + "/", headers=headers, limits=limits,
                                         timeout=httpx.Timeout(spec.timeout_s))

    async def send(self, endpoint: str, body: dict[str, Any]) -> Reply:
        response = await self._client.post(endpoint, content=json.dumps(body).encode())
        text = response.text
        try:
            parsed = json.loads(text)
        except ValueError:
            return Reply(response.status_code, None, text, dict(response.headers))
        return Reply(response.status_code, parsed, None, dict(response.headers))

    async def models(self) -> list[dict[str, Any]]:
        """The endpoint's /models listing (empty when it has none)."""
        try:
            response = await self._client.get("models")
            return list(response.json().get("data", [])) if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError):
            return []

    def identity(self) -> dict[str, Any]:
        return {"provider": "openai", "base_url": self.base_url, "model": self.spec.request_model,
                "api_key_env": self.spec.api_key_env}

    async def aclose(self) -> None:
        await self._client.aclose()


def _api_key(spec: ModelSpec) -> str | None:
    if not spec.api_key_env:
        return None
    key = os.environ.get(spec.api_key_env)
    if not key:
        raise RoadtestError(
            f"model {spec.id}: environment variable {spec.api_key_env} is not set",
            f"export {spec.api_key_env}=... before `roadtest run`, or run without this model: -m OTHER_MODEL",
        )
    return key


def redact(text: str, spec: ModelSpec) -> str:
    """Remove the model's API key from any text that may be shown or archived."""
    key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    return text.replace(key, f"${spec.api_key_env}") if key else text
