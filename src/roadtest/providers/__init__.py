"""Providers: one async `send` per endpoint kind, opened and closed by `open_provider`.

The HTTP stack (httpx, aiohttp) and the llama.cpp launcher are imported when a provider is opened (or when
OpenAIProvider / LocalServer is first named), not with this package: checking keys and redacting need neither."""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Protocol

from roadtest.providers.base import Provider, Reply, ResponseTooLarge
from roadtest.providers.secrets import MIN_KEY_CHARS, Redactor, check_keys, redact, redactor
from roadtest.registry import Registry
from roadtest.spec import ModelSpec

if TYPE_CHECKING:
    from roadtest.providers.local import LocalServer
    from roadtest.providers.openai import OpenAIProvider


class Opener(Protocol):
    """What a provider registers: opens a ready provider for a model (`chat_format`: local servers only)."""

    def __call__(self, spec: ModelSpec, root: Path,
                 chat_format: str | None = None) -> contextlib.AbstractAsyncContextManager[Provider]: ...


PROVIDERS: Registry[Opener] = Registry("provider")


@PROVIDERS.register("openai")
@contextlib.asynccontextmanager
async def _open_openai(spec: ModelSpec, root: Path, chat_format: str | None = None) -> AsyncIterator[Provider]:
    from roadtest.providers.openai import OpenAIProvider

    provider = OpenAIProvider(spec)
    try:
        yield provider
    finally:
        await provider.aclose()


@PROVIDERS.register("local")
@contextlib.asynccontextmanager
async def _open_local(spec: ModelSpec, root: Path, chat_format: str | None = None) -> AsyncIterator[Provider]:
    from roadtest.providers.local import LocalProvider, LocalServer

    server = LocalServer(spec, root, chat_format=chat_format)
    try:
        server.start()
        provider = LocalProvider(spec, server)
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


def open_replicas(spec: ModelSpec, root: Path,
                  chat_format: str | None = None) -> contextlib.AbstractAsyncContextManager[list[Provider]]:
    """Async context manager yielding one ready provider per endpoint of `spec`, in order: its `base_url`s
    (openai), or its `replicas` llama.cpp servers (local, started at once, the CPU cores shared out); a model
    with one endpoint gets `open_provider`'s. Stops everything it started."""
    if spec.replica_count == 1:
        return _one(spec, root, chat_format)
    return _local_replicas(spec, root, chat_format) if spec.provider == "local" else _openai_replicas(spec)


@contextlib.asynccontextmanager
async def _one(spec: ModelSpec, root: Path, chat_format: str | None) -> AsyncIterator[list[Provider]]:
    async with open_provider(spec, root, chat_format) as provider:
        yield [provider]


@contextlib.asynccontextmanager
async def _openai_replicas(spec: ModelSpec) -> AsyncIterator[list[Provider]]:
    from roadtest.providers.openai import OpenAIProvider

    providers: list[OpenAIProvider] = []
    try:
        for url in spec.base_urls:
            providers.append(OpenAIProvider(spec, url))
        yield list(providers)
    finally:
        for provider in providers:
            await provider.aclose()


@contextlib.asynccontextmanager
async def _local_replicas(spec: ModelSpec, root: Path, chat_format: str | None) -> AsyncIterator[list[Provider]]:
    from roadtest.providers.local import LocalProvider, LocalServer, replica_threads, start_all, stop_all

    threads = replica_threads(spec.replicas)
    servers = [LocalServer(spec, root, chat_format=chat_format, threads=threads) for _ in range(spec.replicas)]
    start_all(servers)
    providers: list[LocalProvider] = []
    try:
        providers = [LocalProvider(spec, server) for server in servers]
        yield list(providers)
    finally:
        try:
            for provider in providers:
                await provider.aclose()
        finally:
            stop_all(servers)


_LAZY = {"OpenAIProvider": "roadtest.providers.openai", "LocalServer": "roadtest.providers.local"}


def __getattr__(name: str) -> Any:
    """OpenAIProvider and LocalServer, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["MIN_KEY_CHARS", "PROVIDERS", "Provider", "Redactor", "Reply", "ResponseTooLarge", "LocalServer",
           "OpenAIProvider", "check_keys", "open_provider", "open_replicas", "redact", "redactor"]
