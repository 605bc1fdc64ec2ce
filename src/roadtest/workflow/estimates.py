"""What a run would do, before any model call: trials, token and cost bounds, time, which criteria n can decide."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from roadtest.archive import RunArchive, resolve_config
from roadtest.archive.config import model_specs
from roadtest.errors import RoadtestError
from roadtest.load import load_workspace
from roadtest.plan.tokens import CHARS_PER_TOKEN, tokens_bound
from roadtest.workflow.workspace import budget_warnings, check_max_cost, check_warnings

if TYPE_CHECKING:
    from roadtest.plan.trial import Trial


DEFAULT_LATENCY_S = {"local": 0.35, "openai": 1.0}
"""Seconds per call when no earlier run of the model says better (measured: the bundled models on 2 cores)."""


def plan(root: Path, hypotheses: list[str] | None, models: list[str] | None,
         max_cost: float | None = None, allow_outside: bool = False) -> dict[str, Any]:
    """What a run would do, before any model call: trials, token estimates, which criteria n can decide."""
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
            assert trial.dialogue is not None  # a conversation entry always carries its dialogue
            sim = trial.dialogue.get("simulator")
            if sim is not None:
                helper = counts.setdefault((sim["model"], f"{trial.scenario} (customer)"),
                                           {"trials": 0, "prompt_chars": 0, "max_out": 0})
                helper["trials"] += calls
                helper["prompt_chars"] += calls * (len(str(sim["body"])) + 400 * calls)
                helper["max_out"] += calls * sim["body"].get("max_tokens", 0)
        entry["trials"] += calls
        entry["prompt_tokens"] = entry.get("prompt_tokens", 0) + tokens_bound(trial) * calls + (
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
        model_spec = ws.spec.model(model)
        tokens_in = c.get("prompt_tokens", round(c["prompt_chars"] / CHARS_PER_TOKEN))
        cost, price = None, model_spec.price
        if price is not None:
            cost = price.cost(tokens_in, c["max_out"])
        latency, source = history.get(model, (DEFAULT_LATENCY_S[model_spec.provider], "a rough default"))
        rows.append({"model": model, "scenario": scenario, "trials": c["trials"], "tokens_in_est": tokens_in,
                     "tokens_out_max": c["max_out"], "cost_max": cost,
                     "time_s_est": c["trials"] * latency / (model_spec.max_concurrency * model_spec.replica_count), "latency_source": source,
                     **({"conversations": c["conversations"]} if "conversations" in c else {})})
    priced = [r["cost_max"] for r in rows if r["cost_max"] is not None]
    return {"selection": config["selection"], "trials": rows, "feasibility": feasibility(config),
            "time_s_est": sum(r["time_s_est"] for r in rows), "cost_max": sum(priced) if priced else None,
            "max_cost": max_cost, "warnings": check_warnings(ws) + budget_warnings(model_specs(config).values(), max_cost)}


def conversation_calls(entry: Trial) -> int:
    """Calls a conversation is expected to make, for planning: a scripted customer's messages each get about two
    assistant turns (a tool call, then the reply), never more than max_turns; a simulated one, max_turns."""
    setup = entry.dialogue or {}
    script = setup.get("script")
    most = int(setup.get("max_turns", 6))
    return most if script is None else max(1, min(most, 2 * len(script)))


def _latency_history(runs_dir: Path) -> dict[str, tuple[float, str]]:
    """Mean latency per model from the newest run that called it (cached answers do not count)."""
    seen: dict[str, tuple[float, str]] = {}
    runs = sorted((p for p in runs_dir.glob("*/trials.jsonl")), reverse=True) if runs_dir.is_dir() else []
    for trials in runs[:5]:
        totals: dict[str, list[float]] = {}
        try:
            for row in RunArchive(trials.parent).rows():
                if row.kind == "model" and row.error is None and row.cache is None and not row.level:
                    totals.setdefault(row.model, []).append(row.latency_s)
        except RoadtestError:   # a damaged or linked archive: its latencies are not used (verify says why)
            continue
        for model, values in totals.items():
            seen.setdefault(model, (sum(values) / len(values), f"run {trials.parent.name}"))
    return seen
