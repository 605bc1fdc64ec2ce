"""Retry timing and rate limits, on a simulated clock (no server needed to know the arithmetic)."""

from __future__ import annotations

import random
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest

from roadtest.engine.limits import Bucket
from roadtest.engine.retry import RETRYABLE_STATUS, RetryPolicy, classify_reply, parse_retry_after
from roadtest.providers import Reply


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("per_minute,amount", [(10_000, 1_000), (10_000, 50), (600, 1), (60, 1), (1_000, 4_000)])
def test_a_bucket_never_lets_through_more_than_its_rate(per_minute, amount):
    clock = Clock()
    bucket = Bucket(per_minute, clock)
    sent = []                              # (time, amount) of every request let through in ten minutes
    while clock.t < 600:
        wait = bucket.wait_for(amount)
        if wait == 0:
            sent.append(clock.t)
        else:
            clock.t += wait
    per_second = per_minute / 60
    for start in range(0, 540, 7):        # every 60-second window
        in_window = sum(amount for t in sent if start <= t < start + 60)
        assert in_window <= per_minute + max(1.0, per_second) + amount
    assert len(sent) * amount >= per_minute * 10 * 0.95          # and it does not throttle below the rate


def test_retry_after_seconds_and_http_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("inf") is None and parse_retry_after("nan") is None
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    now = datetime(2026, 11, 29, 8, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(datetime(2026, 11, 29, 8, 0, 30, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(30.0)


def test_backoff_grows_with_jitter_honours_retry_after_and_caps_it():
    policy = RetryPolicy(base_s=0.5, factor=2.0, max_backoff_s=30.0, jitter=0.5, max_retry_after_s=300.0)
    rng = random.Random(0)
    for attempt in range(1, 10):
        nominal = min(30.0, 0.5 * 2 ** (attempt - 1))
        assert 0.5 * nominal <= policy.backoff(attempt, None, rng) <= 1.5 * nominal
    assert len({policy.backoff(1, None, rng) for _ in range(20)}) > 1          # jittered
    assert policy.backoff(1, 12.0, rng) == 12.0                                 # Retry-After wins when longer
    assert policy.backoff(1, 86_400.0, rng) == 300.0                            # but a day is not waited


def test_only_rate_limits_and_server_errors_are_retried():
    for status in (400, 401, 403, 404, 408, 409, 413, 422):
        outcome = classify_reply(Reply(status, {"error": {"message": "no"}}, None, {}), lambda r: "no")
        assert not outcome.retry and outcome.kind == f"http_{status}"
    assert RETRYABLE_STATUS == {429, 500, 502, 503, 504}
    limited = classify_reply(Reply(429, {}, None, {"retry-after": "2"}), lambda r: "slow down")
    assert limited.retry and limited.retry_after == 2.0


def _as_transport_raises(exc: BaseException) -> BaseException:
    """`exc` as httpx's aiohttp transport hands it on (mapped to an httpx exception, the original its __cause__)."""
    from httpx_aiohttp.transport import map_aiohttp_exceptions

    try:
        with map_aiohttp_exceptions():
            raise exc
    except BaseException as mapped:  # noqa: BLE001 - whatever the transport raises is what the engine sees
        return mapped


def _connection_key():
    from aiohttp.client_reqrep import ConnectionKey

    return ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize("make,kind", [
    (lambda a: a.ServerDisconnectedError(), "connection"),            # reported as a ConnectTimeout: not a timeout
    (lambda a: a.ClientOSError(104, "Connection reset by peer"), "connection"),
    (lambda a: a.ClientConnectionResetError("Cannot write to closing transport"), "connection"),
    (lambda a: a.ClientConnectorError(_connection_key(), OSError(111, "Connection refused")), "connection"),
    (lambda a: a.ClientPayloadError("Response payload is not completed"), "connection"),
    (lambda a: a.SocketTimeoutError("Timeout on reading data from socket"), "timeout"),
    (lambda a: a.ServerTimeoutError("Timeout"), "timeout"),
    (lambda a: ValueError("not an HTTP failure"), "exception"),      # not mapped: a bug, never retried
])
def test_transport_failures_are_classified_by_what_really_happened(make, kind):
    import aiohttp

    from roadtest.engine.retry import classify_exception

    outcome = classify_exception(_as_transport_raises(make(aiohttp)))
    assert outcome.kind == kind and not outcome.ok
    assert outcome.retry == (kind != "exception")


def test_a_timeout_of_the_whole_call_and_a_too_large_body():
    import asyncio

    from roadtest.engine.retry import classify_exception
    from roadtest.providers import ResponseTooLarge

    assert classify_exception(asyncio.TimeoutError()).kind == "timeout"
    assert classify_exception(ConnectionResetError(104, "reset")).kind == "connection"
    too_large = classify_exception(ResponseTooLarge(200, 10, 11))
    assert too_large.kind == "too_large" and not too_large.retry
