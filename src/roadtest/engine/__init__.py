"""Engine: send every trial through its model's provider with concurrency, retries, limits and a cache.

The names below are imported on first use: `roadtest plan` needs the Budget, not the HTTP stack (httpx, aiohttp)
that the runner loads."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roadtest.engine.budget import Budget
    from roadtest.engine.cache import ResponseCache, request_key
    from roadtest.engine.records import trial_record
    from roadtest.engine.retry import RetryPolicy
    from roadtest.engine.runner import EngineOptions, Events, Sink, execute, stop_kind

_HOMES = {"Budget": "budget", "ResponseCache": "cache", "request_key": "cache", "trial_record": "records",
          "RetryPolicy": "retry", "EngineOptions": "runner", "Events": "runner", "Sink": "runner",
          "execute": "runner", "stop_kind": "runner"}

__all__ = ["Budget", "EngineOptions", "Events", "ResponseCache", "RetryPolicy", "Sink", "execute",
           "request_key", "stop_kind", "trial_record"]


def __getattr__(name: str) -> Any:
    """`from roadtest.engine import X` imports X's own module, and only that one."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
