"""The public façade: check, run, derive (replay), report. Orchestration reads as named steps."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from roadtest.archive import RunArchive, canonical_json, resolve_config
from roadtest.archive.config import model_specs, scenario_specs
from roadtest.archive.run_dir import PLAN, now
from roadtest.archive.trials_file import served_by
from roadtest.errors import AlteredArchive, RoadtestError, RunError
from roadtest.load import LoadedWorkspace, load_workspace
from roadtest.archive.records import record_kind

if TYPE_CHECKING:
    from roadtest.engine import Events, ResponseCache
    from roadtest.engine.runner import Conversations

# The stages below the façade are imported by the functions that use them: `roadtest check` and `--help` never
# load the engine, scoring, statistics or the report (pandas, scipy, matplotlib, weasyprint).

CHARS_PER_TOKEN = 4  # a rough, tokenizer-free estimate for planning only
SCORES, METRICS, VERDICTS = "scores.jsonl", "metrics.json", "verdicts.json"
REPORTS = ["report.html", "report.pdf"]
DERIVED = [SCORES, METRICS, VERDICTS]


def init(target: Path) -> list[Path]:
    """A new workspace: four scenarios (one a conversation with tools), three hypotheses, the bundled local models,
    commented examples."""
    from importlib import resources

    if (target / "roadtest.yaml").exists():
        raise RoadtestError(f"{target} is already a roadtest workspace (it has roadtest.yaml)",
                            f"check it with `roadtest check -w {target}`, or pick a new folder")
    files: dict[Path, bytes] = {}
    source = resources.files("roadtest").joinpath("init_template")

    def collect(node, rel: Path) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            out_rel = rel / (".gitignore" if child.name == "gitignore" else child.name)
            if child.is_dir():
                collect(child, out_rel)
            else:
                files[target / out_rel] = child.read_bytes()

    collect(source, Path())
    taken = sorted(p for p in files if p.exists() or p.is_symlink())
    if taken:
        shown = ", ".join(str(p.relative_to(target)) for p in taken[:5]) + (" ..." if len(taken) > 5 else "")
        raise RoadtestError(f"{target} already has files roadtest init would overwrite: {shown}",
                            "pick an empty or new folder; nothing was written")
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "runs").mkdir(exist_ok=True)
    return sorted(files)


def check(root: Path, allow_outside: bool = False) -> LoadedWorkspace:
    """Load and validate every file; raises InputError listing every problem."""
    return load_workspace(root, allow_outside=allow_outside)


def check_warnings(ws: LoadedWorkspace) -> list[str]:
    """What is valid but cannot come out as the author expects: a log-probability metric in a criterion for a
    model whose log-probabilities are switched off (NOT RUN for that model, so its hypothesis cannot be SUPPORTED)."""
    from roadtest.spec.metrics import DESCRIBED_ONLY, METRICS

    off = [m.id for m in ws.spec.models if not m.logprobs]
    out = []
    for hyp in ws.hypotheses.values():
        for i, crit in enumerate(hyp.spec.criteria):
            if off and crit.metric in METRICS and "logprobs" in METRICS.get(crit.metric).needs:
                out.append(f"{hyp.display}:{hyp.line('criteria', i, 'metric')}: {crit.metric} needs log-probabilities, "
                           f"switched off for {', '.join(off)} (logprobs: false): the criterion is NOT RUN "
                           f"there, so the hypothesis cannot be SUPPORTED for {'it' if len(off) == 1 else 'them'}")
            if crit.metric in DESCRIBED_ONLY:
                out.append(f"{hyp.display}:{hyp.line('criteria', i, 'metric')}: {crit.metric} is described, not "
                           f"decided: no decision rule for it was shown by simulation to hold its error rate, so "
                           f"this criterion is always INCONCLUSIVE")
    for scenario in ws.scenarios.values():
        if scenario.spec.dataset.group and not scenario.spec.dataset.strata:
            out.append(f"{scenario.display}:{scenario.src.line(('dataset', 'group'))}: dataset.group "
                       f"'{scenario.spec.dataset.group}' is read as strata (fixed groups for slices and fairness; "
                       f"they never widen an interval), no longer as clusters. Write `strata: "
                       f"{scenario.spec.dataset.group}`, or `cluster: {scenario.spec.dataset.group}` if items "
                       f"sharing a value are not independent (several questions on one document)")
        spec = scenario.spec
        if spec.kind == "conversation":
            empty = [scenario.item_id(r) for r in scenario.items
                     if not (r.data.get(spec.scoring.expect or "") or r.data.get(spec.scoring.forbid or ""))]
            if empty:
                out.append(f"{scenario.display}:{scenario.src.line(('scoring',))}: {len(empty)} of "
                           f"{len(scenario.items)} cases expect no action and forbid none "
                           f"(e.g. {', '.join(empty[:3])}): their end state always holds, so only the policy can "
                           f"fail them. Give each case its expected or forbidden actions")
        if spec.kind == "conversation" and spec.user.script and spec.user.stop:
            early = [scenario.item_id(r) for r in scenario.items if isinstance(r.data.get(spec.user.script), list)
                     and any(p in str(m) for m in r.data[spec.user.script][:-1] for p in spec.user.stop)]
            if early:
                out.append(f"{scenario.display}:{scenario.src.line(('user', 'stop'))}: in {len(early)} cases a "
                           f"customer message before the last holds a stop phrase (e.g. {', '.join(early[:3])}): "
                           f"the conversation ends there and the later messages are never sent")
        for i, phrase in enumerate(scenario.spec.policy.require if scenario.spec.policy else []):
            if looks_like_a_pattern(phrase):
                out.append(f"{scenario.display}:{scenario.src.line(('policy', 'require', i))}: policy.require[{i}] "
                           f"'{phrase}' looks like a regular expression, but require matches a plain phrase "
                           f"(case-insensitive): every output without this exact text would violate the policy. "
                           f"Write the phrase itself; patterns belong in forbid")
    return out


PATTERN_MARKS = ("(?", ".*", ".+", "\\d", "\\w", "\\s", "\\b", "[", "]", "|", "^", "$")


def looks_like_a_pattern(phrase: str) -> bool:
    """A `require:` phrase written as a regular expression ('(?i)queue: .*')."""
    return any(mark in phrase for mark in PATTERN_MARKS if mark not in ("^", "$")) or phrase.startswith("^") \
        or phrase.endswith("$")


def budget_warnings(specs, max_cost: float | None) -> list[str]:
    """--max-cost counts only priced calls: say which models it cannot count."""
    if max_cost is None:
        return []
    unpriced = [m for m in specs if m.price is None]
    if not unpriced:
        return []
    local = [m.id for m in unpriced if m.provider == "local"]
    remote = [m.id for m in unpriced if m.provider != "local"]
    parts = []
    if remote:
        parts.append(f"{', '.join(remote)} {'has' if len(remote) == 1 else 'have'} no price in roadtest.yaml: "
                     f"{'its' if len(remote) == 1 else 'their'} calls count as free, so --max-cost {max_cost:g} "
                     "cannot stop them (add price: {input_per_mtok: ..., output_per_mtok: ...})")
    if local:
        parts.append(f"{', '.join(local)} {'runs' if len(local) == 1 else 'run'} locally and cost nothing: "
                     f"--max-cost does not limit {'it' if len(local) == 1 else 'them'}")
    return parts


def check_max_cost(max_cost: float | None) -> None:
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost > 0):
        raise RoadtestError(f"--max-cost must be a positive amount, got {max_cost:g}", "e.g. --max-cost 2.50")


@dataclass(frozen=True)
class RunResult:
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


CACHE_PATH = Path(".roadtest") / "cache.sqlite"


def run(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
        command: list[str], options: RunOptions = RunOptions(), warn: Callable[[str], None] = lambda _: None
        ) -> RunResult:
    """Plan, archive the plan, execute, derive. A run that cannot finish keeps what finished (exit code 3)."""
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
    archive = RunArchive.create(ws.runs_dir, config, command, ws.root)
    with archive.lock():   # one writer per run folder: a `run --resume` of this run is refused while it runs
        totals = archive.write_plan(build_trials(ws, sel))
        warnings += _execute(archive, ws.root, events, options, totals, skip=set(), warn=warn)
        return replace(_result(archive), warnings=tuple(warnings))


def resume(root: Path, archive: RunArchive, events: Events, command: list[str],
           options: RunOptions = RunOptions(), warn: Callable[[str], None] = lambda _: None) -> RunResult:
    """Finish an interrupted run from its own archive: finished trials are not sent again."""
    from roadtest.plan.trial import group_key
    from roadtest.providers import check_keys
    check_max_cost(options.max_cost)
    manifest = archive.manifest()
    if manifest["status"] == "complete" and not options.retry_errors:
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
        totals: dict[tuple, int] = {}
        for trial in archive.plan(skip=done):
            totals[group_key(trial)] = totals.get(group_key(trial), 0) + 1
        manifest["resumes"] = manifest.get("resumes", []) + [{"command": command, "at": now(),
                                                              "done_before": len(done),
                                                              "retry_errors": options.retry_errors}]
        archive.write_manifest(manifest)
        check_keys(model_specs(manifest["config"]).values())
        warnings = budget_warnings(model_specs(manifest["config"]).values(), options.max_cost)
        for message in warnings:
            warn(message)
        warnings += _execute(archive, root.resolve(), events, options, totals, skip=done, warn=warn)
        return replace(_result(archive), warnings=tuple(warnings))


def rerun(root: Path, original: RunArchive, into: Path | None, events: Events, command: list[str],
          options: RunOptions = RunOptions(cache=False)) -> tuple[RunResult, dict[str, Any]]:
    """Send the archived plan again (the archive's own configuration, not the workspace's) and compare."""
    from roadtest.compare import compare_runs
    from roadtest.plan.trial import group_key
    from roadtest.providers import check_keys
    if not (original.path / PLAN).is_file():
        raise RoadtestError(f"run {original.run_id} has no plan.jsonl: it cannot be rerun from the archive alone",
                            "rerun it from its workspace with `roadtest run`")
    check_sources(original)   # links, missing or altered sources: nothing is sent from them
    manifest = original.manifest()
    check_keys(model_specs(manifest["config"]).values())
    target = RunArchive.create(into or original.path.parent, manifest["config"], command, root)
    with target.lock():
        target.copy_plan(original)   # the original's plan only if it is the one its run recorded; recorded here
        fresh = target.manifest()
        fresh["rerun_of"] = original.run_id
        target.write_manifest(fresh)
        totals: dict[tuple, int] = {}
        for trial in target.plan():
            totals[group_key(trial)] = totals.get(group_key(trial), 0) + 1
        _execute(target, root.resolve(), events, replace(options, cache=False), totals, skip=set())
        result = _result(target)
        comparison = compare_runs(original, target)
        target.write_derived("rerun.json", canonical_json(comparison, indent=2) + "\n")
        return result, comparison


def diff(a: RunArchive, b: RunArchive) -> dict[str, Any]:
    """What differs between two runs: settings, endpoints, metrics beyond noise, verdicts."""
    from roadtest.compare import compare_runs
    for archive in (a, b):
        check_sources(archive)
        if not (archive.path / VERDICTS).is_file():
            derive(archive)
    return compare_runs(a, b)


def _result(archive: RunArchive) -> RunResult:
    verdicts = derive(archive)
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
    from roadtest.scoring.judging import judge_trials
    config = archive.manifest()["config"]
    models, scenarios = model_specs(config), scenario_specs(config)
    cache = ResponseCache(root / CACHE_PATH, warn=warn) if options.cache else None
    budget = None
    if options.max_cost is not None:
        budget = Budget(options.max_cost)
        budget.spent = sum(Budget.billed(r, models.get(r["model"])) for r in archive.trials())   # a resumed run
    engine = EngineOptions(
        cache=cache, budget=budget,
        deadline=time.monotonic() + options.deadline_s if options.deadline_s is not None else None,
        retry=RetryPolicy(base_s=options.retry_base_s),
        max_error_rate=config.get("workspace", {}).get("max_error_rate", 0.2))
    archive.open_trials()
    talks = conversations(archive, config, retry_errors=options.retry_errors)

    async def phases() -> None:
        await execute(archive.plan(skip), models, root, archive, events, engine, totals, talks)
        if engine.stopped:
            return
        archive.flush()
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


def conversations(archive: RunArchive, config: dict[str, Any], retry_errors: bool = False) -> Conversations | None:
    """What the engine needs for the run's conversation scenarios: their tools with the archived lookup tables,
    the tools chat format, and (a resume) every turn already archived, so none is sent again."""
    from roadtest.engine.runner import Conversations
    from roadtest.archive.config import tool_tables
    from roadtest.conversation.tools import ToolBox

    specs = scenario_specs(config)
    talk = [sid for sid, spec in specs.items() if spec.kind == "conversation"]
    if not talk:
        return None
    archived = {r["trial_id"]: r for r in archive.trials() if r.get("kind") == "turn"}
    return Conversations(
        toolboxes={sid: ToolBox(specs[sid].tools, tool_tables(config, sid)) for sid in talk},
        chat_formats={sid: config["scenarios"][sid].get("tools_chat_format") for sid in talk},
        archived=archived, retry_errors=retry_errors)


def _stop_message(stopped: str, archive: RunArchive) -> tuple[str, str]:
    """Why the engine stopped early, and how to finish the run."""
    from roadtest.engine import stop_kind
    resume = f"roadtest run --resume {archive.run_id}"
    where = f"finished trials are kept in {archive.path}"
    messages = {
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


def _record_execution(archive: RunArchive, options: RunOptions, cache: ResponseCache | None) -> None:
    archive.flush()
    archive.record_sources()
    manifest = archive.manifest()
    for model_id, served in served_by(archive.path).items():
        manifest["endpoints"].setdefault(model_id, {})["served"] = served
    runs = manifest.get("execution", [])
    runs.append({"cache": {**cache.stats(), "unsaved": cache.unsaved, "warnings": list(cache.warnings)}
                 if cache else None, "max_cost": options.max_cost,
                 "deadline_s": options.deadline_s, "finished_at": now()})
    manifest["execution"] = runs
    archive.write_manifest(manifest)
    if cache is not None:
        cache.close()


def check_sources(archive: RunArchive) -> None:
    """Refuse to derive anything from trials or a plan that changed after the run recorded them."""
    altered = archive.altered_sources()
    if altered:
        raise AlteredArchive(
            f"{', '.join(altered)} in {archive.path} no longer match{'es' if len(altered) == 1 else ''} the sha256 recorded when the run ended: "
            "anything derived from them would not be the run's",
            f"restore the original file (`roadtest verify {archive.run_id}` names every mismatch); derived files "
            "can be rebuilt by replay, the archived responses cannot")


def derive(archive: RunArchive) -> dict[str, Any]:
    """Scores, metrics and verdicts from the archive alone (no model calls): what `replay` runs."""
    from roadtest.verdict import RunData, decide, summarise
    check_sources(archive)
    config = archive.manifest()["config"]
    scored = score_archive(archive, config)
    archive.write_lines(SCORES, _score_lines(scored.frame))
    data = RunData.build(config, scored)
    archive.write_derived(METRICS, canonical_json(summarise(data), indent=2) + "\n")
    verdicts = decide(data)
    archive.write_derived(VERDICTS, canonical_json(verdicts, indent=2) + "\n")
    archive.record_hashes(DERIVED)
    return verdicts


def score_archive(archive: RunArchive, config: dict[str, Any]):
    """Every trial scored; conversations replayed from their plan entries and archived turns."""
    from roadtest.scoring import score_trials
    from roadtest.archive.config import tool_tables

    specs = scenario_specs(config)
    talk = [sid for sid, spec in specs.items() if spec.kind == "conversation"]
    if not talk:
        return score_trials(archive.trials, specs, model_specs(config))
    return score_trials(archive.trials, specs, model_specs(config),
                        entries=lambda: (t for t in archive.plan() if t.kind == "conversation"),
                        tables={sid: tool_tables(config, sid) for sid in talk})


def replay(archive: RunArchive, workspace_templates: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Derive everything again from the archive and say, per file, whether it came out as the run wrote it."""
    recorded = dict(archive.manifest().get("files", {}))
    formats = [f for f in ("html", "pdf") if (archive.path / f"report.{f}").is_file()]
    verdicts = derive(archive)
    if formats:
        report(archive, formats, workspace_templates)
    files = archive.manifest().get("files", {})
    outcome = {}
    for name in [*DERIVED, *REPORTS]:
        if name in files:
            outcome[name] = "new" if name not in recorded else ("identical" if recorded[name] == files[name] else "differs")
    return verdicts, outcome


def plan(root: Path, hypotheses: list[str] | None, models: list[str] | None,
         max_cost: float | None = None, allow_outside: bool = False) -> dict[str, Any]:
    """What a run would do, before any model call: trials, token estimates, which criteria n can decide."""
    from roadtest.engine import Budget
    from roadtest.plan import build_trials, select
    from roadtest.verdict.feasibility import feasibility
    check_max_cost(max_cost)
    ws = load_workspace(root, allow_outside=allow_outside)
    sel = select(ws, hypotheses, models)
    config = resolve_config(ws, sel)
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for trial in build_trials(ws, sel):
        entry = counts.setdefault((trial.model, trial.scenario), {"trials": 0, "prompt_chars": 0, "max_out": 0})
        calls = 1
        if trial.kind == "conversation":   # up to max_turns calls; the prompt grows with the conversation
            calls = conversation_calls(trial)
            entry["conversations"] = entry.get("conversations", 0) + 1
            sim = trial.dialogue.get("simulator")
            if sim is not None:
                helper = counts.setdefault((sim["model"], f"{trial.scenario} (customer)"),
                                           {"trials": 0, "prompt_chars": 0, "max_out": 0})
                helper["trials"] += calls
                helper["prompt_chars"] += calls * (len(str(sim["body"])) + 400 * calls)
                helper["max_out"] += calls * sim["body"].get("max_tokens", 0)
        entry["trials"] += calls
        entry["prompt_tokens"] = entry.get("prompt_tokens", 0) + Budget.prompt_bound(trial) * calls + (
            calls * (calls - 1) // 2 * trial.body["max_tokens"] if calls > 1 else 0)
        entry["max_out"] += trial.body["max_tokens"] * calls
    for spec in (ws.scenarios[sid].spec for sid in sel.scenarios):   # judges: one call per judged trial
        for judge in spec.judges():
            judged = sum(c["trials"] for (_, sid), c in list(counts.items()) if sid == spec.id)
            entry = counts.setdefault((judge.model, f"{spec.id} (judge)"), {"trials": 0, "prompt_chars": 0, "max_out": 0})
            entry["trials"] += judged
            entry["prompt_chars"] += judged * (len(judge.rubric) + 600)
            entry["max_out"] += judged * judge.max_new_tokens
    history = _latency_history(ws.runs_dir)
    rows = []
    for (model, scenario), c in counts.items():
        spec = ws.spec.model(model)
        tokens_in = c.get("prompt_tokens", round(c["prompt_chars"] / CHARS_PER_TOKEN))
        cost = None
        if spec.price is not None:
            cost = (tokens_in * spec.price.input_per_mtok + c["max_out"] * spec.price.output_per_mtok) / 1e6
        latency, source = history.get(model, (DEFAULT_LATENCY_S[spec.provider], "a rough default"))
        rows.append({"model": model, "scenario": scenario, "trials": c["trials"], "tokens_in_est": tokens_in,
                     "tokens_out_max": c["max_out"], "cost_max": cost,
                     "time_s_est": c["trials"] * latency / spec.max_concurrency, "latency_source": source,
                     **({"conversations": c["conversations"]} if "conversations" in c else {})})
    priced = [r["cost_max"] for r in rows if r["cost_max"] is not None]
    return {"selection": config["selection"], "trials": rows, "feasibility": feasibility(config),
            "time_s_est": sum(r["time_s_est"] for r in rows), "cost_max": sum(priced) if priced else None,
            "max_cost": max_cost, "warnings": check_warnings(ws) + budget_warnings(model_specs(config).values(), max_cost)}


def conversation_calls(entry) -> int:
    """Calls a conversation is expected to make, for planning: a scripted customer's messages each get about two
    assistant turns (a tool call, then the reply), never more than max_turns; a simulated one, max_turns."""
    setup = entry.dialogue or {}
    script = setup.get("script")
    most = int(setup.get("max_turns", 6))
    return most if script is None else max(1, min(most, 2 * len(script)))


DEFAULT_LATENCY_S = {"local": 0.35, "openai": 1.0}
"""Seconds per call when no earlier run of the model says better (measured: the bundled models on 2 cores)."""


def _latency_history(runs_dir: Path) -> dict[str, tuple[float, str]]:
    """Mean latency per model from the newest run that called it (cached answers do not count)."""
    seen: dict[str, tuple[float, str]] = {}
    runs = sorted((p for p in runs_dir.glob("*/trials.jsonl")), reverse=True) if runs_dir.is_dir() else []
    for trials in runs[:5]:
        totals: dict[str, list[float]] = {}
        try:
            for record in RunArchive(trials.parent).trials():
                if not record.get("error") and not record.get("cache") and not record.get("level") \
                        and record_kind(record) == "model":
                    totals.setdefault(record["model"], []).append(record["latency_s"])
        except RoadtestError:   # a damaged or linked archive: its latencies are not used (verify says why)
            continue
        for model, values in totals.items():
            seen.setdefault(model, (sum(values) / len(values), f"run {trials.parent.name}"))
    return seen


def _score_lines(frame):
    """scores.jsonl, one canonical line per trial, streamed from the frame."""
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        yield canonical_json({c: (None if isinstance(v, float) and v != v else v) for c, v in zip(columns, values)})


def report(archive: RunArchive, formats: list[str], workspace_templates: Path | None = None,
           record: tuple[Path, Path] | None = None) -> list[Path]:
    """Write report.html and/or report.pdf into the run folder; returns the paths written.

    `record`: (workspace, runs folder) whose decision record the document shows, against this run; its snapshot
    is kept in the run folder (decisions.json). Without it (replay), the archived snapshot is shown again."""
    from roadtest.report import build_view, render_html
    from roadtest.decisions.snapshot import SNAPSHOT, archived_snapshot

    manifest = archive.manifest()
    check_sources(archive)
    if not (archive.path / VERDICTS).is_file():
        derive(archive)
    metrics = json.loads((archive.path / METRICS).read_text(encoding="utf-8"))
    verdicts = json.loads((archive.path / VERDICTS).read_text(encoding="utf-8"))
    decisions = _fresh_snapshot(record, [archive]) if record is not None else None
    if decisions is not None:
        archive.write_derived(SNAPSHOT, canonical_json(decisions, indent=2) + "\n")
        archive.record_hashes([SNAPSHOT])
    else:
        decisions = archived_snapshot(archive)
    generated = _to_the_second(manifest.get("finished_at")) or datetime.now(timezone.utc).isoformat(timespec="seconds")
    html = render_html(build_view(manifest, metrics, verdicts, generated, _first_requests(archive),
                                  decisions=decisions), workspace_templates)
    written = _write_report(html, archive.path, formats, archive)
    archive.record_hashes([p.name for p in written])
    return written


def _to_the_second(stamp: str | None) -> str | None:
    """A manifest time (to the millisecond since runs needed an order within a second) as the document prints it."""
    try:
        return datetime.fromisoformat(stamp).isoformat(timespec="seconds") if stamp else stamp
    except ValueError:
        return stamp


def _fresh_snapshot(record: tuple[Path, Path] | None, archives: list[RunArchive]) -> dict[str, Any] | None:
    """The workspace's decision record as the document shows it against these runs (None: no decisions/)."""
    if record is None:
        return None
    from roadtest.decisions.evidence import read_run
    from roadtest.decisions.snapshot import snapshot

    root, runs_dir = record
    return snapshot(root, runs_dir, [read_run(a) for a in archives])


def _first_requests(archive: RunArchive) -> dict[tuple[str, str], dict[str, Any]]:
    """(scenario, model) -> the body of its first original request, as archived (the appendix shows it; for a
    conversation, its first assistant turn)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for record in archive.trials():
        key = (record.get("scenario"), record.get("model"))
        kind = record_kind(record)
        if (kind == "model" or (kind == "turn" and record.get("role") == "assistant")) \
                and record.get("variant", "base") == "base" and not record.get("level") and key not in found:
            found[key] = record["request"]["body"]
    return found


def _write_report(html: str, folder: Path, formats: list[str], archive: RunArchive | None = None) -> list[Path]:
    """Into a run folder (`archive`): written beside the target and renamed over it, never through a link."""
    from roadtest.report import write_pdf
    written = []
    if "html" in formats:
        target = folder / "report.html"
        if archive is not None:
            archive.write_derived(target.name, html)
        else:
            target.write_text(html, encoding="utf-8")
        written.append(target)
    if "pdf" in formats:
        target = folder / "report.pdf"
        if archive is not None:
            with archive.derived_path(target.name) as tmp:
                write_pdf(html, folder, tmp)
        else:
            write_pdf(html, folder, target)
        written.append(target)
    return written


def report_many(archives: list[RunArchive], formats: list[str], out: Path,
                workspace_templates: Path | None = None, record: tuple[Path, Path] | None = None) -> list[Path]:
    """One decision document over several runs (models evaluated at different times): every verdict in one
    Holm family, models side by side on the same items, and a warning when the runs' settings differ."""
    from roadtest.report import build_view, render_html
    from roadtest.verdict import RunData, decide, summarise
    for archive in archives:
        check_sources(archive)
    combined = combine_runs(archives)
    out.mkdir(parents=True, exist_ok=True)
    data = RunData.build(combined["config"], combined["scored"])
    metrics, verdicts = summarise(data), decide(data)
    (out / METRICS).write_text(canonical_json(metrics, indent=2) + "\n", encoding="utf-8")
    (out / VERDICTS).write_text(canonical_json(verdicts, indent=2) + "\n", encoding="utf-8")
    manifest = combined["manifest"]
    for archive in archives:
        if not (archive.path / VERDICTS).is_file():
            derive(archive)
    decisions = _fresh_snapshot(record, archives)
    html = render_html(build_view(manifest, metrics, verdicts, _to_the_second(manifest["finished_at"]),
                                  decisions=decisions),
                       workspace_templates)
    return _write_report(html, out, formats)


def combine_runs(archives: list[RunArchive]) -> dict[str, Any]:
    """Several archives as one: model ids that repeat are suffixed with their run id."""
    import pandas as pd

    from roadtest.compare import compare_runs, setting_changes
    from roadtest.report.diff_view import diff_view
    from roadtest.scoring import Scored

    manifests = [a.manifest() for a in archives]
    seen: set[str] = set()
    frames, judges, talks, models, endpoints = [], [], [], [], {}
    config = json.loads(json.dumps(manifests[0]["config"]))
    config["selection"]["models"] = []
    for archive, manifest in zip(archives, manifests):
        cfg = manifest["config"]
        rename = {m["id"]: (m["id"] if m["id"] not in seen else f"{m['id']}.{archive.run_id}"[:64]) for m in cfg["models"]}
        seen.update(rename.values())
        scored = score_archive(archive, cfg)
        frames.append(scored.frame.assign(model=scored.frame["model"].map(lambda m: rename.get(m, m))))
        judges.append(scored.judges)
        talks += [{**c, "model": rename.get(c.get("model"), c.get("model"))} for c in scored.conversations]
        for m in cfg["models"]:
            models.append({**m, "id": rename[m["id"]]})
            config["selection"]["models"].append(rename[m["id"]])
            endpoints[rename[m["id"]]] = manifest.get("endpoints", {}).get(m["id"], {})
        for key in ("scenarios", "hypotheses"):
            for k, v in cfg[key].items():
                config[key].setdefault(k, v)
        for key in ("hypotheses", "scenarios"):
            config["selection"][key] += [k for k in cfg["selection"][key] if k not in config["selection"][key]]
    config["models"] = models
    warnings, diffs = [], []
    for archive, manifest in zip(archives[1:], manifests[1:]):
        changes = [c for c in setting_changes(manifests[0], manifest) if c.category not in ("model", "endpoint")]
        if changes:
            names = ", ".join(sorted({c.path for c in changes})[:6]) + (" …" if len(changes) > 6 else "")
            warnings.append(f"{archive.run_id} was run with different settings than {archives[0].run_id} "
                            f"({len(changes)} differ: {names}); its numbers are not strictly comparable. "
                            f"See the appendix.")
        for other in (archives[0], archive):
            if not (other.path / VERDICTS).is_file():
                derive(other)
        diffs.append(diff_view(compare_runs(archives[0], archive)))
    manifest = {**manifests[0], "config": config, "endpoints": endpoints, "warnings": warnings, "diffs": diffs,
                "run_ids": [a.run_id for a in archives], "fingerprints": [m["fingerprint"] for m in manifests],
                "finished_at": max(m.get("finished_at") or "" for m in manifests)}
    frame = pd.concat(frames, ignore_index=True).sort_values(["trial_id", "model"], kind="stable")
    return {"config": config, "manifest": manifest,
            "scored": Scored(frame.reset_index(drop=True), pd.concat(judges, ignore_index=True), talks)}


def record_decision(root: Path, request) -> dict[str, Any]:
    """Record a decision (roadtest.decisions.record.DecideRequest): decisions/<date>-<hypothesis>.md and an entry
    of the hash-chained decisions/log.jsonl; nothing is written unless every input checks."""
    from roadtest.decisions.record import decide as write_decision

    return write_decision(root, runs_folder(root), request)


def decision_history(root: Path, hypothesis: str | None = None, model: str | None = None):
    from roadtest.decisions.commands import history as cell_history

    return cell_history(root, runs_folder(root), hypothesis, model)


def gate_run(root: Path, archive: RunArchive):
    from roadtest.decisions.commands import gate as run_gate

    return run_gate(root, archive)


def verify_decisions(root: Path):
    from roadtest.decisions.record import check_record

    return check_record(root, runs_folder(root))


def runs_folder(root: Path) -> Path:
    """The workspace's runs folder (roadtest.yaml's runs_dir when it parses and stays inside, else ./runs)."""
    from roadtest.load.files import read_text
    from roadtest.load.workspace import runs_dir_problem
    from roadtest.load.yamlsrc import parse_yaml

    text, _ = read_text(root / "roadtest.yaml", "roadtest.yaml")
    data = parse_yaml(text, "roadtest.yaml").data if text is not None else None
    value = data.get("runs_dir", "runs") if isinstance(data, dict) else "runs"
    if not isinstance(value, str) or runs_dir_problem(value, root):
        value = "runs"
    return root / value
