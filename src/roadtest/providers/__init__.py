"""Providers: one async `send` per endpoint kind, opened and closed by `open_provider`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from roadtest.providers.base import Provider, Reply, ResponseTooLarge
from roadtest.providers.local import LocalServer
from roadtest.providers.openai import OpenAIProvider
from roadtest.providers.secrets import MIN_KEY_CHARS, Redactor, check_keys, redact, redactor
from roadtest.registry import Registry
from roadtest.spec import ModelSpec

Opener = Callable[[ModelSpec, Path], "contextlib.AbstractAsyncContextManager[Provider]"]
PROVIDERS: Registry[Opener] = Registry("provider")


@PROVIDERS.register("openai")
@contextlib.asynccontextmanager
async def _open_openai(spec: ModelSpec, root: Path, chat_format: str | None = None) -> AsyncIterator[Provider]:
    provider = OpenAIProvider(spec)
    try:
        yield provider
    finally:
        await provider.aclose()


class _LocalProvider(OpenAIProvider):
    """The openai provider against a llama.cpp server roadtest started itself."""

    def __init__(self, spec: ModelSpec, server: LocalServer) -> None:
        super().__init__(spec, server.base_url)
        self.server = server

    def identity(self) -> dict[str, Any]:
        return self.server.identity()


@PROVIDERS.register("local")
@contextlib.asynccontextmanager
async def _open_local(spec: ModelSpec, root: Path, chat_format: str | None = None) -> AsyncIterator[Provider]:
    server = LocalServer(spec, root, chat_format=chat_format)
    try:
        server.start()
        provider = _LocalProvider(spec, server)
        try:
            yield provider
        finally:
            await provider.aclose()
    finally:
        server.stop()


def open_provider(spec: ModelSpec, root: Path, chat_format: str | None = None):
    """Async context manager yielding a ready provider for `spec`; stops what it started. `chat_format` (local
    only) starts the llama.cpp server with that chat format (chatml-function-calling answers tools)."""
    opener = PROVIDERS.get(spec.provider)
    return opener(spec, root, chat_format=chat_format) if chat_format else opener(spec, root)


__all__ = ["MIN_KEY_CHARS", "PROVIDERS", "Provider", "Redactor", "Reply", "ResponseTooLarge", "LocalServer",
           "OpenAIProvider", "check_keys", "open_provider", "redact", "redactor"]
