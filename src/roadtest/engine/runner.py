"""Run trials model by model, each with its own bounded concurrency, streaming results to a sink."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Protocol

from roadtest.engine.records import trial_record
from roadtest.plan import Trial
from roadtest.providers import Provider, open_provider, redact
from roadtest.spec import ModelSpec


class Sink(Protocol):
    """Where finished trials go (the archive's trials.jsonl)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def endpoint(self, model_id: str, identity: dict[str, Any]) -> None: ...


class Events(Protocol):
    """Progress notifications (the CLI draws a progress bar from them)."""

    def model_started(self, model_id: str, total: int) -> None: ...

    def trial_finished(self, record: dict[str, Any]) -> None: ...

    def model_finished(self, model_id: str) -> None: ...


async def execute(trials: Iterable[Trial], models: dict[str, ModelSpec], root: Path,
                  sink: Sink, events: Events) -> None:
    """Send every trial; models run one after another so local servers never share the CPU."""
    for model_id, group in groupby(trials, key=lambda t: t.model):
        batch = list(group)
        spec = models[model_id]
        label = model_id + (" (judge)" if batch[0].kind == "judge" else "")
        events.model_started(label, len(batch))
        async with open_provider(spec, root) as provider:
            sink.endpoint(model_id, provider.identity())
            await _run_model(provider, spec, batch, sink, events)
        events.model_finished(label)


async def _run_model(provider: Provider, spec: ModelSpec, batch: list[Trial], sink: Sink, events: Events) -> None:
    queue: asyncio.Queue[Trial] = asyncio.Queue()
    for trial in batch:
        queue.put_nowait(trial)

    async def worker() -> None:
        while not queue.empty():
            trial = queue.get_nowait()
            record = await call_once(provider, spec, trial)
            sink.write(record)
            events.trial_finished(record)

    workers = [asyncio.create_task(worker()) for _ in range(min(spec.max_concurrency, len(batch)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()


async def call_once(provider: Provider, spec: ModelSpec, trial: Trial) -> dict[str, Any]:
    """One call; whatever happens becomes a record."""
    started_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    start = time.perf_counter()
    try:
        reply = await provider.send(trial.endpoint, trial.body)
        return trial_record(trial, reply, None, time.perf_counter() - start, started_at,
                            lambda s: redact(s, spec))
    except Exception as exc:  # noqa: BLE001 - a failed call is data, not a crash
        return trial_record(trial, None, exc, time.perf_counter() - start, started_at,
                            lambda s: redact(s, spec))
