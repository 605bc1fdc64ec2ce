"""Run trials model by model: bounded concurrency or an open-loop rate, retries, limits, cache, deadline, budget.

Trials stream in (the plan is never held in memory) and finished records stream out to a sink.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from roadtest.engine.cache import ResponseCache, request_key
from roadtest.engine.limits import RateLimiter
from roadtest.engine.policy import RetryPolicy, classify_exception, classify_reply
from roadtest.engine.records import server_message, trial_record
from roadtest.plan import Trial
from roadtest.providers import Provider, Reply, open_provider, redact
from roadtest.spec import ModelSpec

MAX_IN_FLIGHT = 1024
CHARS_PER_TOKEN = 4


class Sink(Protocol):
    """Where finished trials go (the archive's trials.jsonl)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def endpoint(self, model_id: str, identity: dict[str, Any]) -> None: ...


class Events(Protocol):
    """Progress notifications (the CLI draws a progress bar from them)."""

    def model_started(self, label: str, total: int | None) -> None: ...

    def trial_finished(self, record: dict[str, Any]) -> None: ...

    def model_finished(self, label: str) -> None: ...


class Budget:
    """--max-cost: refuses a trial whose estimated cost would take the run's spending past the limit.

    The limit is for the whole run: a resumed run starts from what its archive already spent.

    The estimate is meant to be an upper bound: prompt tokens from a generous characters-per-token
    rule plus a per-message allowance for chat templates, scaled up by the worst under-estimate seen
    so far for the model; the answer at its max_tokens.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.scale: dict[str, float] = {}

    @staticmethod
    def prompt_bound(trial: Trial) -> int:
        return len(prompt_text(trial)) // 3 + 10 * len(trial.body.get("messages") or []) + 10

    def estimate(self, trial: Trial, spec: ModelSpec) -> float:
        if spec.price is None:
            return 0.0
        if spec.id in self.scale:
            tokens_in = self.prompt_bound(trial) * self.scale[spec.id]
        else:   # nothing measured yet: a byte-level tokenizer never makes more tokens than UTF-8 bytes
            tokens_in = len(prompt_text(trial).encode("utf-8")) + 10 * len(trial.body.get("messages") or []) + 10
        return (tokens_in * spec.price.input_per_mtok + trial.body.get("max_tokens", 0) * spec.price.output_per_mtok) / 1e6

    def reserve(self, cost: float) -> bool:
        if self.spent + self.reserved + cost > self.limit:
            return False
        self.reserved += cost
        return True

    def settle(self, reserved: float, trial: Trial, record: dict[str, Any], spec: ModelSpec) -> None:
        self.reserved -= reserved
        usage = record.get("usage") or {}
        if usage.get("prompt_tokens"):
            ratio = usage["prompt_tokens"] / self.prompt_bound(trial)
            self.scale[spec.id] = max(self.scale.get(spec.id, 1.0), ratio)
        self.spent += self.billed(record, spec)

    @staticmethod
    def billed(record: dict[str, Any], spec: ModelSpec | None) -> float:
        """What one archived call cost (nothing when unpriced or answered from the cache)."""
        if spec is None or spec.price is None or record.get("cache") is not None:
            return 0.0
        usage = record.get("usage") or {}
        return (usage.get("prompt_tokens", 0) * spec.price.input_per_mtok
                + usage.get("completion_tokens", 0) * spec.price.output_per_mtok) / 1e6


def prompt_text(trial: Trial) -> str:
    """All the text a trial sends: the completion prompt, or every chat message's content."""
    return trial.body.get("prompt") or "".join(m.get("content", "") for m in trial.body.get("messages") or [])


def estimated_tokens_in(trial: Trial) -> int:
    return max(1, len(prompt_text(trial)) // CHARS_PER_TOKEN)


@dataclass
class EngineOptions:
    """How the engine runs: cache, run deadline (monotonic seconds), budget, retry timing."""

    cache: ResponseCache | None = None
    deadline: float | None = None
    budget: Budget | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seed: int = 0
    stopped: str | None = None
    """Why the engine stopped sending trials early ('deadline', 'budget'), if it did."""

    def may_start(self, cost: float) -> bool:
        if self.stopped:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = "deadline"
            return False
        if self.budget is not None and not self.budget.reserve(cost):
            self.stopped = "budget"
            return False
        return True


@dataclass
class Context:
    """One model's run: its provider, limits and where results go."""

    provider: Provider
    spec: ModelSpec
    identity: dict[str, Any]
    limiter: RateLimiter
    sink: Sink
    events: Events
    options: EngineOptions
    rng: random.Random


def group_key(t: Trial) -> tuple[str, str | None, str]:
    return (t.model, t.level, t.kind)


def label(model: str, level: str | None, kind: str) -> str:
    if kind == "judge":
        return f"{model} (judge)"
    if level is None:
        return model
    return f"{model} @ {level[1:]} in flight" if level.startswith("c") else f"{model} @ {level[1:]} req/s"


async def execute(trials: Iterable[Trial], models: dict[str, ModelSpec], root: Path, sink: Sink, events: Events,
                  options: EngineOptions | None = None, totals: dict[tuple, int] | None = None) -> None:
    """Send every trial; models run one after another so local servers never share the CPU."""
    options = options or EngineOptions()
    for model_id, model_trials in groupby(trials, key=lambda t: t.model):
        if options.stopped:
            return
        spec = models[model_id]
        async with open_provider(spec, root) as provider:
            identity = provider.identity()
            sink.endpoint(model_id, {**identity, "models_entry": await _models_entry(provider, spec)})
            ctx = Context(provider, spec, identity, RateLimiter(spec.rpm, spec.tpm), sink, events, options,
                          random.Random(f"{options.seed}/{model_id}"))
            for key, block in groupby(model_trials, key=group_key):
                name = label(*key)
                events.model_started(name, (totals or {}).get(key))
                await _run_block(ctx, key[1], block)
                events.model_finished(name)


async def _models_entry(provider: Provider, spec: ModelSpec) -> dict[str, Any] | None:
    """What the endpoint's /models listing says about this model (for drift checks), if it says anything."""
    listing = getattr(provider, "models", None)
    if listing is None:
        return None
    entries = await listing()
    return next((e for e in entries if e.get("id") == spec.request_model), None)


async def _run_block(ctx: Context, level: str | None, block: Iterator[Trial]) -> None:
    if level is not None and level.startswith("r"):
        await _open_loop(ctx, float(level[1:]), block)
    else:
        concurrency = int(level[1:]) if level is not None else ctx.spec.max_concurrency
        await _closed_loop(ctx, concurrency, block)


async def _closed_loop(ctx: Context, concurrency: int, block: Iterator[Trial]) -> None:
    """`concurrency` workers pull trials from one shared iterator: never more in flight, never fewer while work remains."""

    async def worker() -> None:
        for trial in block:
            if not await _run_one(ctx, trial):
                return

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _open_loop(ctx: Context, rps: float, block: Iterator[Trial]) -> None:
    """Start a trial every 1/rps seconds whatever the responses do (open loop), up to MAX_IN_FLIGHT."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: set[asyncio.Task] = set()
    for i, trial in enumerate(block):
        delay = start + i / rps - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while len(tasks) >= MAX_IN_FLIGHT:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(_run_one(ctx, trial))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if ctx.options.stopped:
            break
    if tasks:
        await asyncio.gather(*tasks)


async def _run_one(ctx: Context, trial: Trial) -> bool:
    """Run one trial and hand its record on; False when the run must stop sending."""
    cost = ctx.options.budget.estimate(trial, ctx.spec) if ctx.options.budget else 0.0
    if not ctx.options.may_start(cost):
        return False
    record = await call(ctx, trial)
    if ctx.options.budget is not None:
        ctx.options.budget.settle(cost, trial, record or {}, ctx.spec)
    if record is None:
        return False
    ctx.sink.write(record)
    ctx.events.trial_finished(record)
    return True


def key_redactor(spec: ModelSpec):
    """A function removing the model's API key from text, or None when the model has no key set."""
    if not spec.api_key_env or not os.environ.get(spec.api_key_env):
        return None
    return lambda text: redact(text, spec)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


async def call(ctx: Context, trial: Trial) -> dict[str, Any] | None:
    """One trial: from the cache, or sent with retries. None when the deadline cut it short (resume sends it)."""
    cache = ctx.options.cache if trial.cacheable else None
    key = request_key(ctx.identity, trial.endpoint, trial.body) if cache is not None else None
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            reply = Reply(hit["status"], hit["body"], None, {})
            record = trial_record(trial, reply, hit["latency_s"], _now(), attempts=0, redactor=key_redactor(ctx.spec))
            record["cache"] = {"hit": True, "key": key, "stored_at": hit["created_at"]}
            return record
    redactor = key_redactor(ctx.spec)
    attempts, waited = 0, 0.0
    while True:
        if ctx.limiter.active:
            await ctx.limiter.acquire(estimated_tokens_in(trial) + trial.body.get("max_tokens", 0))
            if ctx.options.deadline is not None and time.monotonic() >= ctx.options.deadline:
                ctx.options.stopped = "deadline"   # the rate limit held it past the deadline: resume sends it
                return None
        started_at, t0 = _now(), time.perf_counter()
        reply = None
        try:
            async with asyncio.timeout(ctx.spec.timeout_s):   # the whole call, not one read
                reply = await ctx.provider.send(trial.endpoint, trial.body)
            outcome = classify_reply(reply, server_message)
        except Exception as exc:  # noqa: BLE001 - a failed call is data, not a crash
            outcome = classify_exception(exc)
        latency = time.perf_counter() - t0
        attempts += 1
        if outcome.ok:
            if cache is not None:
                cache.put(key, ctx.identity, trial.endpoint, reply.status, reply.body, latency)
            return trial_record(trial, reply, latency, started_at, attempts=attempts, waited_s=waited,
                                redactor=redactor)
        if not outcome.retry or attempts > ctx.spec.max_retries:
            return trial_record(trial, reply, latency, started_at, (outcome.kind, outcome.message),
                                attempts, waited, redactor)
        wait = ctx.options.retry.backoff(attempts, outcome.retry_after, ctx.rng)
        if ctx.options.deadline is not None and time.monotonic() + wait >= ctx.options.deadline:
            ctx.options.stopped = "deadline"
            return None
        waited += wait
        await asyncio.sleep(wait)
