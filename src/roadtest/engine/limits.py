"""Requests-per-minute and tokens-per-minute limits: token buckets that make callers wait, never fail."""

from __future__ import annotations

import asyncio
import time


class Bucket:
    """Refills `rate` units per second up to `capacity` (one second's worth).

    A request larger than the capacity is let through when the bucket is full and paid for in full: the
    level goes below zero and later requests wait until it is paid back, so over any stretch of time the
    units sent stay within the per-minute rate (plus at most one second's worth and one request).
    """

    def __init__(self, per_minute: float, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is now); takes it when it is."""
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(amount, self.capacity)
        if self.level >= need - 1e-9:   # float rounding must not leave a caller waiting nanoseconds forever
            self.level -= amount
            return 0.0
        return (need - self.level) / self.rate


class RateLimiter:
    """One per model: waits until both the request and its estimated tokens fit their budgets."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.requests = Bucket(rpm) if rpm else None
        self.tokens = Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int) -> None:
        if not self.active:
            return
        async with self._lock:  # first come, first served
            for bucket, amount in ((self.requests, 1.0), (self.tokens, float(tokens))):
                while bucket is not None:
                    wait = bucket.wait_for(amount)
                    if wait == 0:
                        break
                    await asyncio.sleep(wait)
