"""Retrying: what to do with an attempt's outcome (accept it, retry it with backoff honouring Retry-After, or
record a failure), and how long to wait before the next attempt."""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from dataclasses import dataclass

import aiohttp
import httpx

from roadtest.providers import Reply, ResponseTooLarge

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
"""Rate limits and server errors; every other 4xx is the request's fault and is never sent again."""


ENDPOINT_REFUSALS = frozenset({"http_401", "http_403", "http_429"})
"""Client errors that say the endpoint refuses us (wrong key, no access, rate limit past every retry)."""


def endpoint_failure(kind: str | None) -> bool:
    """Whether a failed call's kind says the endpoint is failing (down, overloaded, refusing us, misbehaving)
    rather than that this request was wrong (a 400 or 404 is the request's: it counts as data, not as an outage)."""
    if kind is None:
        return False
    return not kind.startswith("http_4") or kind in ENDPOINT_REFUSALS


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended."""

    ok: bool
    retry: bool = False
    kind: str | None = None
    message: str | None = None
    retry_after: float | None = None


OK = Outcome(True)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base * factor^(attempt-1), capped, at least what Retry-After asks."""

    base_s: float = 0.5
    factor: float = 2.0
    max_backoff_s: float = 30.0
    jitter: float = 0.5

    max_retry_after_s: float = 300.0
    """The longest Retry-After honoured; a server asking for more is asked again after this long."""

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        delay = min(self.max_backoff_s, self.base_s * self.factor ** (attempt - 1))
        delay *= 1 - self.jitter + 2 * self.jitter * rng.random()
        return max(delay, min(retry_after or 0.0, self.max_retry_after_s))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def classify_reply(reply: Reply, server_message) -> Outcome:
    if reply.status >= 400:
        retry = reply.status in RETRYABLE_STATUS
        after = parse_retry_after(reply.headers.get("retry-after")) if retry else None
        return Outcome(False, retry, f"http_{reply.status}", server_message(reply), after)
    if not isinstance(reply.body, dict):
        return Outcome(False, True, "bad_response", "the response body is not JSON")
    choices = reply.body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return Outcome(False, True, "bad_response", "the response has no choices")
    return OK


def classify_exception(exc: BaseException) -> Outcome:
    if isinstance(exc, ResponseTooLarge):   # the same request would get the same body: not sent again
        return Outcome(False, False, "too_large", str(exc))
    if isinstance(exc, (asyncio.TimeoutError, httpx.TimeoutException)) and not _connection_cause(exc):
        return Outcome(False, True, "timeout", "the call took longer than the model's timeout_s")
    if isinstance(exc, (httpx.TransportError, OSError)):
        return Outcome(False, True, "connection", f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(False, False, "exception", f"{type(exc).__name__}: {exc}"[:300])


DROPPED_CONNECTION = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionResetError)
"""What a dropped connection is raised as under the httpx exception the transport reports (aiohttp's
ClientConnectorError, a failed connect, is a ClientOSError)."""


def _connection_cause(exc: BaseException) -> bool:
    """httpx's aiohttp transport reports a dropped connection as a ConnectTimeout (it maps every aiohttp
    ClientConnectionError to one); the aiohttp exception it came from, its __cause__, says what really happened."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, DROPPED_CONNECTION):
            return True
        cause = cause.__cause__
    return False
