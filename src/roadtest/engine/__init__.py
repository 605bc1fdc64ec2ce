"""Engine: send every trial through its model's provider with concurrency, retries, limits and a cache."""

from roadtest.engine.cache import ResponseCache, request_key
from roadtest.engine.policy import RetryPolicy
from roadtest.engine.records import trial_record
from roadtest.engine.runner import Budget, EngineOptions, Events, Sink, execute, stop_kind

__all__ = ["Budget", "EngineOptions", "Events", "ResponseCache", "RetryPolicy", "Sink", "execute",
           "request_key", "stop_kind", "trial_record"]
