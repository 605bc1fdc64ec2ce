"""A run: planned, archived and executed (run); an interrupted one finished from its own archive (resume); an
archived one sent again and compared (rerun). A run that cannot finish keeps what finished (exit code 3)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from roadtest.archive import RunArchive, canonical_json, resolve_config
from roadtest.archive.config import model_specs
from roadtest.archive.records import record_kind
from roadtest.archive.run_dir import PLAN, now
from roadtest.archive.trials_file import served_by
from roadtest.errors import RoadtestError, RunError
from roadtest.load import load_workspace
from roadtest.plan.shards import Shard
from roadtest.workflow.archives import find_run
from roadtest.workflow.deriving import check_sources, derive
from roadtest.workflow.workspace import budget_warnings, check_max_cost, check_warnings

if TYPE_CHECKING:
    from roadtest.engine import Events, ResponseCache
    from roadtest.engine.runner import Conversations
    from roadtest.plan.trial import Trial

CACHE_PATH = Path(".roadtest") / "cache.sqlite"


@dataclass(frozen=True)
class RunResult:
    """A finished run: its archive, how many trials it counts (a retried trial once), how many of them failed or
    came from the response cache, its verdicts, and the warnings given on the way."""

    archive: RunArchive
    trials: int
    errors: int
    cached: int
    verdicts: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    """How a run executes (none of this changes what is measured, so none of it is in the fingerprint)."""

    cache: bool = True
    max_cost: float | None = None
    deadline_s: float | None = None
    retry_base_s: float = 0.5
    retry_errors: bool = False
    """Resume: also send again the trials whose archived call failed (the new record supersedes the old)."""
    allow_outside: bool = False
    """Let the workspace name files outside its folder (--allow-outside-paths)."""


def check_request(resume: str | None, retry_errors: bool, retry_base_s: float) -> None:
    """The run's options checked before anything starts: --retry-base in range, --retry-errors only with --resume."""
    if not (math.isfinite(retry_base_s) and 0 <= retry_base_s <= 60):
        raise RoadtestError(f"--retry-base must be between 0 and 60 seconds, got {retry_base_s:g}",
                            "e.g. --retry-base 0.5")
    if retry_errors and resume is None:
        raise RoadtestError("--retry-errors works with --resume: it sends a run's failed calls again",
                            "e.g. roadtest run --resume latest --retry-errors")


def start(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
          command: list[str], options: RunOptions, warn: Callable[[str], None], resume_ref: str | None = None,
          shard: Shard | None = None, runs_dir: Path | None = None) -> RunResult:
    """`roadtest run`: a new run of the selection (with `shard`, only that slice of its plan), or, given
    `resume_ref` (id, folder or 'latest'), that run finished as it was planned."""
    if resume_ref is None:
        return run(root, hypotheses, models, events, command, options, warn, shard=shard, runs_dir=runs_dir)
    if hypotheses or models or shard:
        raise RoadtestError("--resume finishes a run as it was planned; -H, -m and --shard do not apply",
                            f"run `roadtest run --resume {resume_ref}` alone (a shard's run stays that shard)")
    return resume(root, find_run(root, resume_ref), events, command, options, warn)


def run(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
        command: list[str], options: RunOptions = RunOptions(), warn: Callable[[str], None] = lambda _: None,
        shard: Shard | None = None, runs_dir: Path | None = None) -> RunResult:
    """Plan, archive the plan, execute, derive. A run that cannot finish keeps what finished (exit code 3).

    With `shard` the archive holds the whole plan but only that slice of it is sent (roadtest.plan.shards): its
    own run folder (`...-s<K>of<N>`, under `runs_dir` when given), with the fingerprint every shard of the
    workspace shares; `roadtest merge` joins the shards into one run."""
    from roadtest.plan import build_trials, select
    from roadtest.providers import check_keys
    check_max_cost(options.max_cost)
    ws = load_workspace(root, allow_outside=options.allow_outside)
    sel = select(ws, hypotheses, models)
    config = resolve_config(ws, sel)
    check_keys(model_specs(config).values())          # a short key is refused before an archive exists
    warnings = check_warnings(ws) + budget_warnings(model_specs(config).values(), options.max_cost)
    for message in warnings:
        warn(message)
    archive = RunArchive.create(runs_dir or ws.runs_dir, config, command, ws.root, shard=shard)
    with archive.lock():   # one writer per run folder: a `run --resume` of this run is refused while it runs
        totals = archive.write_plan(build_trials(ws, sel))
        if shard is not None:
            totals = _totals(_slice(archive, archive.plan()))
        warnings += _execute(archive, ws.root, events, options, totals, skip=set(), warn=warn)
        return replace(result_of(archive), warnings=tuple(warnings))


def resume(root: Path, archive: RunArchive, events: Events, command: list[str],
           options: RunOptions = RunOptions(), warn: Callable[[str], None] = lambda _: None) -> RunResult:
    """Finish an interrupted run from its own archive: finished trials are not sent again."""
    from roadtest.providers import check_keys
    check_max_cost(options.max_cost)
    if archive.manifest_record().status == "complete" and not options.retry_errors:
        raise RoadtestError(f"run {archive.run_id} is already complete",
                            f"see `roadtest report {archive.run_id}`; to send its failed calls again: "
                            f"`roadtest run --resume {archive.run_id} --retry-errors`")
    if not (archive.path / PLAN).is_file():
        raise RoadtestError(f"run {archive.run_id} has no plan.jsonl to resume from",
                            "start a new run with `roadtest run`")
    with archive.lock():   # a second resume (or the run itself, still going) is refused here, before any read
        archive.check_resumable()   # a plan never written whole, changed or unreadable records: refused
        archive.repair_trials()
        manifest = archive.manifest()   # read again under the lock
        done = archive.done_ids(answered_only=options.retry_errors)
        totals = _totals(_slice(archive, archive.plan(skip=done)))
        manifest["resumes"] = manifest.get("resumes", []) + [{"command": command, "at": now(),
                                                              "done_before": len(done),
                                                              "retry_errors": options.retry_errors}]
        archive.write_manifest(manifest)
        models = archive.specs().models.values()
        check_keys(models)
        warnings = budget_warnings(models, options.max_cost)
        for message in warnings:
            warn(message)
        warnings += _execute(archive, root.resolve(), events, options, totals, skip=done, warn=warn)
        return replace(result_of(archive), warnings=tuple(warnings))


def rerun(root: Path, original: RunArchive, into: Path | None, events: Events, command: list[str],
          options: RunOptions = RunOptions(cache=False)) -> tuple[RunResult, dict[str, Any]]:
    """Send the archived plan again (the archive's own configuration, not the workspace's) and compare."""
    from roadtest.compare import compare_runs
    from roadtest.providers import check_keys
    if not (original.path / PLAN).is_file():
        raise RoadtestError(f"run {original.run_id} has no plan.jsonl: it cannot be rerun from the archive alone",
                            "rerun it from its workspace with `roadtest run`")
    check_sources(original)   # links, missing or altered sources: nothing is sent from them
    check_keys(original.specs().models.values())
    shard = original.manifest_record().shard   # a shard's rerun sends that shard again
    target = RunArchive.create(into or original.path.parent, original.config().dump(), command, root,
                               shard=Shard.from_record(shard) if shard is not None else None)
    with target.lock():
        target.copy_plan(original)   # the original's plan only if it is the one its run recorded; recorded here
        fresh = target.manifest()
        fresh["rerun_of"] = original.run_id
        target.write_manifest(fresh)
        _execute(target, root.resolve(), events, replace(options, cache=False), _totals(_slice(target, target.plan())),
                 skip=set())
        result = result_of(target)
        comparison = compare_runs(original, target)
        target.write_derived("rerun.json", canonical_json(comparison, indent=2) + "\n")
        return result, comparison


def trial_label(record: dict[str, Any]) -> str:
    """The progress bar a finished trial counts on: its model, and its load level or kind (judge, customer)."""
    from roadtest.engine.runner import label

    return label(record["model"], record.get("level"), record_kind(record))


def _totals(trials: Iterable[Trial]) -> dict[tuple, int]:
    """Planned trials per progress group (model, level, kind), in the order the plan first names each."""
    from roadtest.plan.trial import group_key

    totals: dict[tuple, int] = {}
    for trial in trials:
        totals[group_key(trial)] = totals.get(group_key(trial), 0) + 1
    return totals


def _slice(archive: RunArchive, trials: Iterable[Trial]) -> Iterator[Trial]:
    """The planned trials this run sends: all of them, or a shard's run its own slice."""
    record = archive.manifest_record().shard
    if record is None:
        yield from trials
        return
    shard = Shard.from_record(record)
    yield from (t for t in trials if shard.owns(t))


def result_of(archive: RunArchive, verdicts: dict[str, Any] | None = None) -> RunResult:
    """A finished archive as a RunResult: its trials counted (a retried trial once), its verdicts (derived again
    unless given: a merge hands over the verdicts it has just derived)."""
    verdicts = derive(archive) if verdicts is None else verdicts
    last = archive.outcomes()   # a retried trial counts once, as its last record
    errors = sum(e for e, _ in last.values())
    cached = sum(c for _, c in last.values())
    return RunResult(archive, len(last), errors, cached, verdicts)


def _execute(archive: RunArchive, root: Path, events: Events, options: RunOptions, totals: dict[tuple, int],
             skip: set[str], warn: Callable[[str], None] = lambda _: None) -> list[str]:
    """The models' trials, then the judges' trials about them (judges read the archived outputs).

    Returns the warnings the response cache gave (moved aside, locked, unwritable); they were also passed to `warn`.
    """
    from roadtest.engine import Budget, EngineOptions, ResponseCache, RetryPolicy, execute, stop_kind
    from roadtest.plan.trial import group_key
    specs = archive.specs()
    models, scenarios = specs.models, specs.scenarios
    cache = ResponseCache(root / CACHE_PATH, warn=warn) if options.cache else None
    budget = None
    if options.max_cost is not None:
        budget = Budget(options.max_cost)
        budget.spent = sum(Budget.billed(r, models.get(r["model"])) for r in archive.trials())   # a resumed run
    engine = EngineOptions(
        cache=cache, budget=budget,
        deadline=time.monotonic() + options.deadline_s if options.deadline_s is not None else None,
        retry=RetryPolicy(base_s=options.retry_base_s),
        max_error_rate=archive.config().max_error_rate)
    archive.open_trials()
    talks = conversations(archive, retry_errors=options.retry_errors)

    async def phases() -> None:
        await execute(_slice(archive, archive.plan(skip)), models, root, archive, events, engine, totals, talks)
        if engine.stopped:
            return
        archive.flush()
        from roadtest.scoring.judging import judge_trials   # pandas and scipy: only once the models have answered
        done = archive.done_ids(answered_only=options.retry_errors)
        judges = [t for t in judge_trials(archive.trials(), scenarios, models) if t.id not in done]
        await execute(judges, models, root, archive, events, engine, Counter(group_key(t) for t in judges))

    try:
        asyncio.run(phases())
    except KeyboardInterrupt:
        archive.finish("interrupted")
        raise RunError(f"interrupted; finished trials are kept in {archive.path}",
                       f"finish it with: roadtest run --resume {archive.run_id}") from None
    except BaseException:
        archive.finish("failed")
        raise
    finally:
        _record_execution(archive, options, cache)
    if engine.stopped:
        if stop_kind(engine.stopped) == "disk" and archive.write_failure is not None:
            raise archive.write_failure          # the archive's own words: which file, what to free, how to resume
        archive.finish(f"stopped: {engine.stopped}")
        derive(archive)
        raise RunError(*_stop_message(engine.stopped, archive))
    archive.finish("complete")
    return list(cache.warnings) if cache is not None else []


def conversations(archive: RunArchive, retry_errors: bool = False) -> Conversations | None:
    """What the engine needs for the run's conversation scenarios: their tools with the archived lookup tables,
    the tools chat format, and (a resume) every turn already archived, so none is sent again."""
    from roadtest.engine.runner import Conversations
    from roadtest.conversation.tools import ToolBox

    specs, config = archive.specs().scenarios, archive.config()
    talk = [sid for sid, spec in specs.items() if spec.kind == "conversation"]
    if not talk:
        return None
    archived = {r["trial_id"]: r for r in archive.trials() if r.get("kind") == "turn"}
    return Conversations(
        toolboxes={sid: ToolBox(specs[sid].tools, config.scenarios[sid].tool_rows()) for sid in talk},
        chat_formats={sid: config.scenarios[sid].tools_chat_format for sid in talk},
        archived=archived, retry_errors=retry_errors)


def _stop_message(stopped: str, archive: RunArchive) -> tuple[str, str]:
    """Why the engine stopped early, and how to finish the run."""
    from roadtest.engine import stop_kind
    resume = f"roadtest run --resume {archive.run_id}"
    where = f"finished trials are kept in {archive.path}"
    messages: dict[str | None, tuple[str, str]] = {
        "deadline": (f"stopped before the end: the deadline passed; {where}",
                     f"finish it with: {resume} (with a later deadline)"),
        "budget": (f"stopped before the end: the next calls would exceed --max-cost; {where}",
                   f"finish it with: {resume} (with a larger budget)"),
        "failing": (f"stopped before the end: {stopped} (more than max_error_rate of its planned calls): the "
                    f"endpoint is failing, which says nothing about the model; {where}",
                    f"check that the endpoint answers, then: {resume} --retry-errors"),
        "disk": (f"stopped before the end: the archive could not be written ({stopped.removeprefix('disk: ')}); "
                 f"{where}", f"free some space or make the run folder writable, then: {resume}"),
    }
    return messages.get(stop_kind(stopped), (f"stopped before the end: {stopped}; {where}", f"finish it with: {resume}"))


def record_served(manifest: dict[str, Any], folder: Path) -> None:
    """Into the manifest's endpoint entries: the model names and system fingerprints the answers in `folder`'s
    trials.jsonl carried (`served`), per replica too, with a replica serving another model under the same name
    flagged (`replica_drift`). A run records it as each execution ends, a merge over the merged trials."""
    for model_id, served in served_by(folder).items():
        manifest["endpoints"].setdefault(model_id, {})["served"] = served
    replicated = {m: e for m, e in manifest["endpoints"].items() if e.get("replicas")}
    if replicated:
        from roadtest.archive.trials_file import served_by_endpoint
        from roadtest.engine.served import record_served as record_replicas

        per_replica = served_by_endpoint(folder)[1]
        for model_id, entry in replicated.items():
            record_replicas(entry, per_replica.get(model_id, {}))


def _record_execution(archive: RunArchive, options: RunOptions, cache: ResponseCache | None) -> None:
    archive.flush()
    archive.record_sources()
    manifest = archive.manifest()
    record_served(manifest, archive.path)
    runs = manifest.get("execution", [])
    runs.append({"cache": {**cache.stats(), "unsaved": cache.unsaved, "warnings": list(cache.warnings)}
                 if cache else None, "max_cost": options.max_cost,
                 "deadline_s": options.deadline_s, "finished_at": now()})
    manifest["execution"] = runs
    archive.write_manifest(manifest)
    if cache is not None:
        cache.close()

