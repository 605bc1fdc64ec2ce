"""Run trials model by model: bounded concurrency or an open-loop rate, retries, limits, cache, deadline, budget.

Trials stream in (the plan is never held in memory) and finished records stream out to a sink.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from roadtest.engine.budget import Budget, estimated_tokens_in
from roadtest.engine.cache import ResponseCache, request_key
from roadtest.engine.limits import RateLimiter
from roadtest.engine.replicas import Replica, Replicas
from roadtest.engine.served import combined_identity, endpoint_entry
from roadtest.engine.retry import RetryPolicy, classify_exception, classify_reply, endpoint_failure
from roadtest.engine.records import server_message, trial_record
from roadtest.plan import Trial
from roadtest.plan.trial import group_key
from roadtest.providers import Provider, Redactor, Reply, check_keys, open_replicas, redactor
from roadtest.spec import ModelSpec
from roadtest.spec.hypothesis import Load, load_words

MAX_IN_FLIGHT = 1024


class Sink(Protocol):
    """Where finished trials go (the archive's trials.jsonl). An OSError from it (disk full, read-only) stops
    the engine cleanly: options.stopped = 'disk: ...'."""

    def write(self, record: dict[str, Any]) -> None: ...

    def endpoint(self, model_id: str, identity: dict[str, Any]) -> None: ...


class Events(Protocol):
    """Progress notifications (the CLI draws a progress bar from them)."""

    def model_started(self, label: str, total: int | None) -> None: ...

    def trial_finished(self, record: dict[str, Any]) -> None: ...

    def model_finished(self, label: str) -> None: ...


STOP_PREFIXES = {"deadline": "deadline", "budget": "budget", "endpoint failing: ": "failing", "disk: ": "disk"}
"""The reasons in EngineOptions.stopped: 'deadline', 'budget', 'endpoint failing: <model>: <n> of <planned> calls
failed', 'disk: <the OS's message>'. `stop_kind` maps one to its kind."""


def stop_kind(stopped: str | None) -> str | None:
    """'deadline', 'budget', 'failing' or 'disk' for an EngineOptions.stopped reason (None when not stopped)."""
    if not stopped:
        return None
    return next((kind for prefix, kind in STOP_PREFIXES.items() if stopped.startswith(prefix)), "other")


@dataclass
class EngineOptions:
    """How the engine runs: cache, run deadline (monotonic seconds), budget, retry timing, error-rate stop."""

    cache: ResponseCache | None = None
    deadline: float | None = None
    budget: Budget | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seed: int = 0
    max_error_rate: float = 0.2
    """Stop sending (to every model) once a model's failed calls pass this share of its planned calls (failures
    that say the endpoint is failing: timeouts, dropped connections, 5xx, 401/403/429, unreadable or too large
    bodies; a 400 or 404 is the request's fault and does not count)."""
    stopped: str | None = None
    """Why the engine stopped sending trials early, if it did (see STOP_PREFIXES, stop_kind)."""

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
    redactor: Redactor | None = None
    planned: int | None = None
    """The model's planned calls in this execution (None when unknown: no error-rate stop)."""
    failed: dict[str, int] = field(default_factory=dict)
    """Failed calls (after retries) per model, shared by the model's contexts in one execution."""
    sent: int = 0
    """Calls sent to this endpoint since it was opened (cache hits aside): the first `spec.warmup` are warm-up."""
    replicas: Replicas | None = None
    """The router over the model's endpoints when it has more than one (`provider` is then the first)."""

    @property
    def workers(self) -> int:
        """Calls in flight at the model's normal level: max_concurrency on each replica."""
        return self.spec.max_concurrency * (len(self.replicas) if self.replicas is not None else 1)


def label(model: str, level: str | None, kind: str) -> str:
    if kind == "judge":
        return f"{model} (judge)"
    talk = " conversations" if kind == "conversation" else ""
    if level is None:
        return f"{model} (conversations)" if talk else model
    return f"{model}{talk} @ {load_words(level, short=True)}"


@dataclass
class Conversations:
    """What the engine needs to drive conversation entries (kind 'conversation')."""

    toolboxes: dict[str, Any]
    """scenario id -> roadtest.conversation.tools.ToolBox (with the run's archived lookup tables)."""
    chat_formats: dict[str, str | None] = field(default_factory=dict)
    """scenario id -> the chat format a local chat model's server answers its tools with."""
    archived: dict[str, dict[str, Any]] = field(default_factory=dict)
    """turn id -> its last archived record (a resume replays these and never sends them again)."""
    retry_errors: bool = False
    """A resume with --retry-errors: an archived turn that failed is sent again (the new record supersedes it)."""


class Endpoints:
    """The contexts one model's blocks may call besides its own: a second server of the model for tools (a local
    server started with the tools chat format), a simulated customer's model. Opened on first use, closed with
    the model's run."""

    def __init__(self, home: Context, stack: AsyncExitStack, models: dict[str, ModelSpec], root: Path,
                 recorded: dict[str, dict[str, Any]]) -> None:
        self.home, self.stack, self.models, self.root = home, stack, models, root
        self.recorded = recorded
        self.contexts: dict[tuple[str, str | None], Context] = {(home.spec.id, None): home}
        self.lock = asyncio.Lock()

    async def get(self, model_id: str, chat_format: str | None = None) -> Context:
        key = (model_id, chat_format if self.models[model_id].provider == "local" else None)
        if key in self.contexts:
            return self.contexts[key]
        async with self.lock:
            if key not in self.contexts:
                self.contexts[key] = await self._open(*key)
        return self.contexts[key]

    async def _open(self, model_id: str, chat_format: str | None) -> Context:
        home = self.home
        spec = self.models[model_id]
        redact = redactor(spec)
        opened = await _open_endpoints(self.stack, spec, self.root, redact, chat_format)
        if model_id == home.spec.id:   # the model's own tools server: beside its default endpoint
            entry = {**self.recorded.get(model_id, {}), f"chat_format:{chat_format}": opened.identity}
        else:                          # a simulated customer: recorded unless its own run records it
            entry = self.recorded.get(model_id) or await opened.entry()
        self.recorded[model_id] = entry
        if not _deliver(home.options, home.sink.endpoint, model_id, entry):
            raise _Stopped()
        return Context(opened.providers[0], spec, opened.identity, RateLimiter(spec.rpm, spec.tpm), home.sink,
                       home.events, home.options, random.Random(f"{home.options.seed}/{model_id}/{chat_format}"),
                       redact, None, home.failed, replicas=opened.replicas)


@dataclass
class _Opened:
    """One model's endpoints, open: its providers (one per replica), its identity, its router (several only)."""

    spec: ModelSpec
    providers: list[Provider]
    identity: dict[str, Any]
    redact: Redactor | None
    replicas: Replicas | None

    async def entry(self) -> dict[str, Any]:
        """The manifest's endpoint entry: the identity and the /models entry (with replicas, each replica's)."""
        if self.replicas is None:
            return {**self.identity, "models_entry": _clean(await _models_entry(self.providers[0], self.spec),
                                                            self.redact)}
        entries = await asyncio.gather(*(_models_entry(p, self.spec) for p in self.providers))
        identities = [_clean(p.identity(), self.redact) for p in self.providers]
        return endpoint_entry(identities, [_clean(e, self.redact) for e in entries])


async def _open_endpoints(stack: AsyncExitStack, spec: ModelSpec, root: Path, redact: Redactor | None,
                          chat_format: str | None = None) -> _Opened:
    """Open every endpoint of `spec` (closed with `stack`); with more than one, a router over them."""
    providers = await stack.enter_async_context(open_replicas(spec, root, chat_format))
    if len(providers) == 1:
        return _Opened(spec, providers, _clean(providers[0].identity(), redact), redact, None)
    replicas = Replicas(providers, spec.max_concurrency)
    stack.push_async_callback(replicas.aclose)
    identity = combined_identity([_clean(p.identity(), redact) for p in providers])
    return _Opened(spec, providers, identity, redact, replicas)


class _Stopped(Exception):
    """The disk refused the endpoint's record: the engine stops (options.stopped says why)."""


async def execute(trials: Iterable[Trial], models: dict[str, ModelSpec], root: Path, sink: Sink, events: Events,
                  options: EngineOptions | None = None, totals: dict[tuple, int] | None = None,
                  conversations: Conversations | None = None) -> None:
    """Send every trial; models run one after another so local servers never share the CPU.

    `totals` (planned trials per group_key) sizes the progress bars and the error-rate stop. Conversation
    entries (kind 'conversation') are driven turn by turn with `conversations`."""
    options = options or EngineOptions()
    check_keys(models.values())   # a key too short to redact is refused before any call
    failed: dict[str, int] = {}
    recorded: dict[str, dict[str, Any]] = {}
    for model_id, model_trials in groupby(trials, key=lambda t: t.model):
        if options.stopped:
            return
        spec = models[model_id]
        redact = redactor(spec)
        async with AsyncExitStack() as stack:
            opened = await _open_endpoints(stack, spec, root, redact)
            recorded[model_id] = await opened.entry()
            if not _deliver(options, sink.endpoint, model_id, recorded[model_id]):
                return
            ctx = Context(opened.providers[0], spec, opened.identity, RateLimiter(spec.rpm, spec.tpm), sink, events,
                          options, random.Random(f"{options.seed}/{model_id}"), redact, _planned(totals, model_id),
                          failed, replicas=opened.replicas)
            endpoints = Endpoints(ctx, stack, models, root, recorded)
            for key, block in groupby(model_trials, key=group_key):
                if options.stopped:
                    return
                name = label(*key)
                events.model_started(name, (totals or {}).get(key))
                if key[2] == "conversation":
                    try:
                        await _run_block(ctx, key[1], block, lambda entry: _converse(
                            endpoints, entry, conversations or Conversations({})))
                    except _Stopped:
                        return
                else:
                    await _run_block(ctx, key[1], block)
                events.model_finished(name)


def _planned(totals: dict[tuple, int] | None, model_id: str) -> int | None:
    if not totals:
        return None
    counts = [n for key, n in totals.items() if key and key[0] == model_id]
    return sum(counts) if counts else None


def _clean(value: Any, redact: Redactor | None) -> Any:
    """What the endpoint said about itself, without the key (an endpoint may echo it anywhere)."""
    return redact.json(value) if redact is not None else value


def _deliver(options: EngineOptions, write, *args: Any) -> bool:
    """Hand something to the sink; a full or read-only disk stops the engine instead of crashing it."""
    try:
        write(*args)
    except OSError as exc:
        if not (options.stopped or "").startswith("disk: "):
            options.stopped = f"disk: {exc.strerror or exc}"
        return False
    return True


async def _models_entry(provider: Provider, spec: ModelSpec) -> dict[str, Any] | None:
    """What the endpoint's /models listing says about this model (for drift checks), if it says anything."""
    listing = getattr(provider, "models", None)
    if listing is None:
        return None
    entries = await listing()
    return next((e for e in entries if e.get("id") == spec.request_model), None)


async def _run_block(ctx: Context, level: str | None, block: Iterator[Trial], run=None) -> None:
    """One block at its level; `run(trial) -> bool` does one unit of work (default: one call), False = stop."""
    run = run or (lambda trial: _run_one(ctx, trial))
    load = Load.from_label(level) if level is not None else None
    if load is not None and load.rps is not None:
        await _open_loop(ctx, load.rps, block, run)
    else:
        concurrency = load.concurrency if load is not None and load.concurrency else ctx.workers
        await _closed_loop(concurrency, block, run)


async def _closed_loop(concurrency: int, block: Iterator[Trial], run) -> None:
    """`concurrency` workers pull trials from one shared iterator: never more in flight, never fewer while work remains."""

    async def worker() -> None:
        for trial in block:
            if not await run(trial):
                return

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _converse(endpoints: Endpoints, entry: Trial, conv: Conversations) -> bool:
    """Drive one conversation to its end: each call the state machine asks for is taken from the archive (a
    resume never sends an archived turn again) or sent, its tool results archived with it. False when the run
    must stop sending (the conversation is continued by a resume from its last archived turn)."""
    from roadtest.conversation.dialogue import Dialogue

    home = endpoints.home
    assert entry.dialogue is not None       # a conversation entry has its dialogue
    tools = entry.dialogue.get("protocol") == "tools" and bool(entry.body.get("tools"))
    assistant = await endpoints.get(entry.model, conv.chat_formats.get(entry.scenario) if tools else None)
    dialogue = Dialogue(entry, conv.toolboxes[entry.scenario])
    sent, latency = False, 0.0
    while (trial := dialogue.next_call()) is not None:
        old = conv.archived.get(trial.id)
        if old is not None and not (conv.retry_errors and old.get("error")):
            dialogue.take(old)
            continue
        ctx = assistant if trial.role == "assistant" else await endpoints.get(trial.model)
        record = await _send(ctx, trial)
        if record is None:
            return False
        results = dialogue.take(record)
        if results:
            record["tool_results"] = [r.as_dict() for r in results]
        if not _deliver(home.options, home.sink.write, record):
            return False
        sent, latency = True, latency + (record.get("latency_s") or 0.0)
        _count_failure(ctx, record)   # a simulated customer's failures count against its own endpoint
    if sent:
        home.events.trial_finished({"model": entry.model, "level": entry.level, "kind": "conversation",
                                    "latency_s": latency, "error": {"kind": dialogue.error} if dialogue.error else None})
    return not home.options.stopped


async def _open_loop(ctx: Context, rps: float, block: Iterator[Trial], run=None) -> None:
    """Start a trial every 1/rps seconds whatever the responses do (open loop), up to MAX_IN_FLIGHT."""
    run = run or (lambda trial: _run_one(ctx, trial))
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: set[asyncio.Task] = set()
    for i, trial in enumerate(block):
        delay = start + i / rps - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while len(tasks) >= MAX_IN_FLIGHT:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(run(trial))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if ctx.options.stopped:
            break
    if tasks:
        await asyncio.gather(*tasks)


async def _send(ctx: Context, trial: Trial) -> dict[str, Any] | None:
    """One call within the run's deadline and budget; None when the run stopped sending."""
    cost = ctx.options.budget.estimate(trial, ctx.spec) if ctx.options.budget else 0.0
    if not ctx.options.may_start(cost):
        return None
    record = await call(ctx, trial)
    if ctx.options.budget is not None:
        ctx.options.budget.settle(cost, trial, record or {}, ctx.spec)
    return record


async def _run_one(ctx: Context, trial: Trial) -> bool:
    """Run one trial and hand its record on; False when the run must stop sending."""
    record = await _send(ctx, trial)
    if record is None:
        return False
    if not _deliver(ctx.options, ctx.sink.write, record):
        return False
    ctx.events.trial_finished(record)
    _count_failure(ctx, record)
    return True


def _count_failure(ctx: Context, record: dict[str, Any]) -> None:
    """An endpoint that stopped answering stops the run instead of timing out every remaining call."""
    if not endpoint_failure((record.get("error") or {}).get("kind")):
        return
    failed = ctx.failed[ctx.spec.id] = ctx.failed.get(ctx.spec.id, 0) + 1
    if ctx.planned is not None and failed > ctx.options.max_error_rate * ctx.planned and not ctx.options.stopped:
        ctx.options.stopped = f"endpoint failing: {ctx.spec.id}: {failed} of {ctx.planned} calls failed"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


async def call(ctx: Context, trial: Trial) -> dict[str, Any] | None:
    """One trial: from the cache, or sent with retries. None when the run stopped (deadline, failing endpoint,
    full disk, budget) before the trial finished: resume sends it."""
    cache = ctx.options.cache if trial.cacheable else None
    key = request_key(ctx.identity, trial.endpoint, trial.body) if cache is not None else None
    redactor = ctx.redactor
    if cache is not None and key is not None:
        hit = cache.get(key)
        if hit is not None:   # redacted again: a cache written by an older roadtest may hold the key
            cached = Reply(hit["status"], hit["body"], None, {})
            record = trial_record(trial, cached, hit["latency_s"], _now(), attempts=0, redactor=redactor)
            record["cache"] = {"hit": True, "key": key, "stored_at": hit["created_at"]}
            return record
    attempts, waited = 0, 0.0
    failed_on: Replica | None = None
    warm = ctx.sent < ctx.spec.warmup   # a cold server answers its first calls slowly: their latency is set apart
    ctx.sent += 1
    while True:
        if ctx.limiter.active:
            await ctx.limiter.acquire(estimated_tokens_in(trial) + trial.body.get("max_tokens", 0))
            if ctx.options.deadline is not None and time.monotonic() >= ctx.options.deadline:
                ctx.options.stopped = "deadline"   # the rate limit held it past the deadline: resume sends it
                return None
        replica = await _replica(ctx, trial, failed_on)   # waiting for a slot is not latency: before the timer
        if replica is not None and ctx.replicas is not None and (ctx.options.stopped or _past_deadline(ctx)):
            ctx.replicas.done(replica, None)    # the run stopped (or its deadline passed) while this call waited
            return None
        if replica is not None:   # each replica is a server of its own, cold at first: its first calls are warm-up
            warm = replica.sent <= ctx.spec.warmup
        provider = replica.provider if replica is not None else ctx.provider
        started_at, t0 = _now(), time.perf_counter()
        reply: Reply | None = None
        outcome = None
        try:
            async with asyncio.timeout(ctx.spec.timeout_s):   # the whole call, not one read
                reply = await provider.send(trial.endpoint, trial.body)
            outcome = classify_reply(reply, server_message)
        except Exception as exc:  # noqa: BLE001 - a failed call is data, not a crash
            outcome = classify_exception(exc)
        finally:
            if replica is not None and ctx.replicas is not None:
                ctx.replicas.done(replica, None if outcome is None else endpoint_failure(outcome.kind))
        latency = time.perf_counter() - t0
        attempts += 1
        failed_on = replica if replica is not None and not outcome.ok else None   # a retry goes elsewhere
        if outcome.ok:
            assert reply is not None            # only a reply can be ok
            record = trial_record(trial, reply, latency, started_at, attempts=attempts, waited_s=waited,
                                  redactor=redactor)
            if cache is not None and key is not None:   # what is cached is what is archived: redacted
                cache.put(key, ctx.identity, trial.endpoint, reply.status, record["response"]["body"], latency)
            return _mark_warmup(_mark_replica(record, replica), warm)
        if not outcome.retry or attempts > ctx.spec.max_retries:
            assert outcome.kind is not None and outcome.message is not None     # a failure names both
            return _mark_warmup(_mark_replica(trial_record(trial, reply, latency, started_at,
                                                           (outcome.kind, outcome.message), attempts, waited,
                                                           redactor), replica), warm)
        if ctx.options.stopped:   # the run stopped sending: no retry now, resume sends the trial again
            return None
        wait = ctx.options.retry.backoff(attempts, outcome.retry_after, ctx.rng)
        if ctx.options.deadline is not None and time.monotonic() + wait >= ctx.options.deadline:
            ctx.options.stopped = "deadline"
            return None
        waited += wait
        if not await _sleep_unless_stopped(ctx.options, wait):
            return None


async def _replica(ctx: Context, trial: Trial, avoid: Replica | None) -> Replica | None:
    """The replica this attempt goes to (None: the model has one endpoint), another than `avoid` (the one the
    last attempt failed on) when another can take it. Outside a load level each replica takes at most
    max_concurrency calls at once; a level's traffic is the model's whole, uncapped."""
    if ctx.replicas is None:
        return None
    return await ctx.replicas.acquire(capped=trial.level is None, avoid=avoid)


def _past_deadline(ctx: Context) -> bool:
    if ctx.options.deadline is not None and time.monotonic() >= ctx.options.deadline:
        ctx.options.stopped = "deadline"   # held past the deadline waiting for a slot: resume sends it
        return True
    return False


def _mark_replica(record: dict[str, Any], replica: Replica | None) -> dict[str, Any]:
    if replica is not None:
        record["replica"] = replica.number
    return record


def _mark_warmup(record: dict[str, Any], warm: bool) -> dict[str, Any]:
    if warm:
        record["warmup"] = True
    return record


async def _sleep_unless_stopped(options: EngineOptions, seconds: float, tick: float = 0.25) -> bool:
    """Wait before a retry; False as soon as the run stops sending (a Retry-After may ask for minutes)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if options.stopped:
            return False
        await asyncio.sleep(min(left, tick))
    return not options.stopped
