"""Replicas: several endpoints serving one model (a list of `base_url`s, or `replicas: N` local servers).

Each call goes to the replica in rotation with the fewest calls in flight (ties: the one sent the fewest, then the
lowest index). Outside a load level a replica takes at most `max_concurrency` calls at once (a caller waits for a
free slot); inside one the level is the whole model's traffic, routed the same way without a cap. A replica whose
calls fail FAILURES_OUT times in a row with endpoint failures (roadtest.engine.retry.endpoint_failure) is taken
out of rotation and probed (GET <base>/models) after a pause that doubles up to LONGEST_PAUSE_S; it is put back
when the probe answers 200, or when a call to it succeeds. With no replica in rotation every replica is used
again: a total outage ends in the run's error-rate stop ("endpoint failing"), never in a worse model.

What each replica said about itself, and whether one of them serves a different model under the same name, is
roadtest.engine.served's (the report and `diff` read it without the engine).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

FAILURES_OUT = 3
"""Endpoint failures in a row that take a replica out of rotation."""
FIRST_PAUSE_S = 1.0
"""How long a replica out of rotation rests before its first probe; each failed probe doubles it..."""
LONGEST_PAUSE_S = 30.0
"""... up to this."""


@dataclass(eq=False)
class Replica:
    """One endpoint of a model and what the router knows about it."""

    index: int
    """0-based position in the model's endpoints (rows and the manifest name it 1-based: `number`)."""
    provider: Any
    in_flight: int = 0
    sent: int = 0
    """Attempts sent to it so far."""
    failures: int = 0
    """Endpoint failures in a row (an answer, even a 400, resets it)."""
    in_rotation: bool = True
    taken_out: int = 0
    """Times it was taken out of rotation."""
    probation: bool = False
    """Put back by a probe, not yet by an answer: one call at a time, and the first endpoint failure takes it out
    again (a server that answers /models but fails its completions must not attract the calls)."""
    pause: float = 0.0
    """The rest before its next probe; it doubles with every failed probe and every return to failing, and is
    forgotten once a call succeeds."""

    @property
    def number(self) -> int:
        """The replica as trial rows and the manifest name it: 1-based."""
        return self.index + 1


Probe = Callable[[Replica], Awaitable[bool]]
"""Whether a replica out of rotation answers again."""


async def probe_models(replica: Replica) -> bool:
    """The default probe: the provider's `alive()` (GET <base>/models answers 200)."""
    alive = getattr(replica.provider, "alive", None)
    return bool(await alive()) if alive is not None else True


class Replicas:
    """The router in front of one model's replicas (one per opened endpoint set; see the module docstring)."""

    def __init__(self, providers: Sequence[Any], cap: int, probe: Probe = probe_models,
                 failures_out: int = FAILURES_OUT, first_pause_s: float = FIRST_PAUSE_S,
                 longest_pause_s: float = LONGEST_PAUSE_S) -> None:
        self.replicas = [Replica(i, p) for i, p in enumerate(providers)]
        self.cap = cap
        """Calls in flight per replica outside a load level (the model's max_concurrency)."""
        self.probe = probe
        self.failures_out = failures_out
        self.first_pause_s, self.longest_pause_s = first_pause_s, longest_pause_s
        self._waiters: list[asyncio.Future] = []
        self._probes: dict[int, asyncio.Task] = {}

    def __len__(self) -> int:
        return len(self.replicas)

    def choose(self, capped: bool = True, avoid: Replica | None = None) -> Replica | None:
        """The replica the next call goes to, or None when every usable one is at its cap (`capped`); a replica
        on probation takes one call at a time. `avoid` (the replica a retry's last attempt failed on) is chosen
        only when no other can take the call now."""
        pool = [r for r in self.replicas if r.in_rotation] or self.replicas
        pool = [r for r in pool if not (r.probation and r.in_flight >= 1)]
        if capped:
            pool = [r for r in pool if r.in_flight < self.cap]
        others = [r for r in pool if r is not avoid]
        pool = others or pool
        return min(pool, key=lambda r: (r.in_flight, r.sent, r.index)) if pool else None

    async def acquire(self, capped: bool = True, avoid: Replica | None = None) -> Replica:
        """A replica for one attempt, its slot taken (waits for a free slot when `capped` and all are busy).
        Hand it back with `done`."""
        while True:
            replica = self.choose(capped, avoid)
            if replica is not None:
                replica.in_flight += 1
                replica.sent += 1
                return replica
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def done(self, replica: Replica, failed: bool | None) -> None:
        """The attempt on `replica` ended: `failed` says whether with an endpoint failure (None: it did not end
        with an outcome, e.g. it was cancelled)."""
        replica.in_flight -= 1
        if failed:
            replica.failures += 1
            if replica.in_rotation and (replica.probation or replica.failures >= self.failures_out):
                self._take_out(replica)
        elif failed is not None:
            replica.failures, replica.probation, replica.pause = 0, False, 0.0   # it answers: healthy again
            if not replica.in_rotation:
                self._put_back(replica)
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _take_out(self, replica: Replica) -> None:
        replica.in_rotation, replica.probation = False, False
        replica.taken_out += 1
        replica.pause = self.first_pause_s if replica.pause == 0 else min(replica.pause * 2, self.longest_pause_s)
        task = self._probes.get(replica.index)
        if task is None or task.done():
            self._probes[replica.index] = asyncio.get_running_loop().create_task(self._probe_until_back(replica))

    def _put_back(self, replica: Replica) -> None:
        replica.in_rotation, replica.failures = True, 0
        self._wake()

    async def _probe_until_back(self, replica: Replica) -> None:
        while not replica.in_rotation:
            await asyncio.sleep(replica.pause)
            if replica.in_rotation:
                return
            try:
                answered = await self.probe(replica)
            except Exception:  # noqa: BLE001 - a probe that fails is a replica still down
                answered = False
            if answered:
                replica.probation = True   # until a call succeeds: a listing is not an answer
                self._put_back(replica)
                return
            replica.pause = min(replica.pause * 2, self.longest_pause_s)

    async def aclose(self) -> None:
        """Stop probing (the model's run ended)."""
        tasks = [t for t in self._probes.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._probes.clear()
