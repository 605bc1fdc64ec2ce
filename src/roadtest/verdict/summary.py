"""metrics.json: every metric of every scenario x model (and settings variant) with its interval and n,
plus the detail the report shows: groups, counterfactual groups, failure examples, judges, sensitivity.

When a selected scenario is a conversation, a top-level "conversations" section (absent otherwise, so a run
without conversations writes what it always wrote): conversations[scenario][model], over the original
conversations (variant base) = {conversations, errors (failed calls), incomplete, ended: {reason: n},
tools: {name: {calls, invalid}}, tool_calls, invalid_tool_calls, simulator: {turns, faults, by_kind: {kind: n},
examples: [{conversation, turn, kinds, text}]} or null (a script), pass_all_k: {k, cases, passed} or null
(one repeat), transcripts: [{conversation, item, repeat, variant, resolved, end_state, violation, ended, missing,
forbidden, events: [{turn, role, text, tool?, valid?, error?, violation?, reasons?}], events_left_off?}]}."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from roadtest.scoring.metrics.fairness import group_scores, swap_pairs
from roadtest.scoring.metrics.failures import FAILURE_MODES
from roadtest.scoring.toxicity import classifier_name
from roadtest.spec.metrics import METRICS, expand
from roadtest.verdict.data import RunData
from roadtest.scoring.metrics.efficiency import live
from roadtest.verdict.choice import SEED, TABLE_CONFIDENCE
from roadtest.verdict.estimates import DESCRIPTIVE_B, estimate
from roadtest.verdict.judge import interval
from roadtest.verdict.traffic import load_summary
from roadtest.verdict.ranking import pairwise_scan, rank_summary, sensitivity, variability_summary

EXAMPLES = 5


def summarise(data: RunData) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for sid in data.scenario_ids:
        wanted = expand(data.scenarios[sid].metrics, data.scenarios[sid])
        per_model: dict[str, Any] = {}
        for model in data.model_ids:
            trials = data.trials(sid, model)
            if trials.empty:
                continue
            variants = {"base": _metrics(data, sid, model, wanted, None)}
            for v in data.scenarios[sid].variants:
                variants[f"setting:{v.name}"] = _metrics(data, sid, model, wanted, f"setting:{v.name}")
            per_model[model] = {
                "variants": variants, "groups": _groups(trials), "counterfactual_groups": _cf_groups(trials),
                "failures": _failures(trials),
            }
        scenarios[sid] = per_model
    out = {"confidence": TABLE_CONFIDENCE, "bootstrap": {"seed": SEED, "B": DESCRIPTIVE_B},
           "metrics": {m: {"family": i.family, "direction": i.direction, "unit": i.unit, "kind": i.kind,
                           "description": i.description} for m, i in METRICS.items()},
           "toxicity_classifier": classifier_name(),
           "scenarios": scenarios, "ranks": rank_summary(data), "comparisons": pairwise_scan(data),
           "variability": variability_summary(data), "sensitivity": sensitivity(data), "load": load_summary(data),
           "judges": _judges(data), "models": _models(data)}
    if any(data.scenarios[sid].kind == "conversation" for sid in data.scenario_ids):
        out["conversations"] = _conversations(data)
    return out


def _metrics(data: RunData, sid: str, model: str, wanted: list[str], variant: str | None) -> dict[str, Any]:
    part = data.trials(sid, model, variant)
    base = part[part["variant"] == "base"]
    return {"trials": int(len(base)), "items": int(base["item"].nunique()),
            "metrics": {m: estimate(data.sample(m, sid, model, variant=variant)).as_dict() for m in wanted}}


def _groups(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """Accuracy of each dataset group, with its n and Wilson (or t) interval."""
    per = group_scores(trials)
    out = []
    for group, part in per.groupby("group", sort=True):
        x = part["score"].to_numpy(float)
        out.append({"group": str(group), **_share(x)})
    return out


def _share(x: np.ndarray) -> dict[str, Any]:
    """A group's accuracy (item means) with the interval of the rule that decides shares."""
    iv = interval("accuracy", x)
    return {"n": int(x.size), "value": float(x.mean()), "lo": iv.lo, "hi": iv.hi, "method": iv.method}


def _cf_groups(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """Accuracy per swapped group on the items that have a swappable term (original text where it already fits)."""
    cf = trials[trials["variant"].str.startswith("cf:")]
    if cf.empty:
        return []
    items = cf["item"].unique()
    base = trials[(trials["variant"] == "base") & trials["item"].isin(items)].groupby("item")["score"].mean()
    kind = cf["variant"].iloc[0].split(":")[1]
    from roadtest.plan.counterfactual import table

    out = []
    for group in table(kind).groups:
        swapped = cf[cf["variant"] == f"cf:{kind}:{group}"].groupby("item")["score"].mean()
        scores = swapped.reindex(base.index).fillna(base).dropna()   # unjudged outputs have no score
        if scores.empty:
            continue
        out.append({"group": group, "swap": kind, **_share(scores.to_numpy(float))})
    return out


def _failures(trials: pd.DataFrame) -> dict[str, Any]:
    """Each failure mode: its count over the original calls and up to five real examples (one per item);
    then the outputs that were answered but wrong, broke the policy, read as toxic, or flipped under a swap."""
    calls = trials[trials["variant"] == "base"]
    out = {}
    for mode, flag in FAILURE_MODES.items():
        hit = calls[flag(calls).astype(bool)]
        out[mode] = {"count": int(len(hit)), "calls": int(len(calls)),
                     "examples": [_example(r) for r in _one_per_item(hit)]}
    answered = calls[calls["error"].isna()]
    for kind, found in (("wrong_answer", _wrong(answered)), ("policy_violation", _policy(answered)),
                        ("toxic_output", _toxic(answered)), ("counterfactual_flip", _flips(trials))):
        if found is not None:
            out[kind] = found
    return out


def _one_per_item(hit: pd.DataFrame):
    return hit.drop_duplicates("item").head(EXAMPLES).itertuples()


def _example(r: Any, **extra: Any) -> dict[str, Any]:
    return {"trial_id": r.trial_id, "item": r.item, "output": _text(r.output), "error": _text(r.error),
            "message": _text(r.error_message), "finish_reason": _text(r.finish_reason),
            **{k: _text(v) for k, v in extra.items()}}


def _text(value: Any) -> Any:
    """None for a missing value, however the frame holds it (frames of several runs concatenated turn None
    into NaN)."""
    return None if value is None or (isinstance(value, float) and value != value) else value


def _flagged(rated: pd.DataFrame, hit: pd.DataFrame, extra) -> dict[str, Any] | None:
    if rated.empty:
        return None
    return {"count": int(len(hit)), "calls": int(len(rated)),
            "examples": [_example(r, **extra(r)) for r in _one_per_item(hit)]}


def _wrong(answered: pd.DataFrame) -> dict[str, Any] | None:
    """Well-formed answers that scored 0 (malformed ones are format violations), with what was extracted and
    the reference answer (a pattern, for the regex rule)."""
    score = pd.to_numeric(answered["score"], errors="coerce")
    rated = answered[score.notna()]
    hit = rated[(score[score.notna()] == 0) & rated["format_ok"].astype(bool) & ~rated["empty"].astype(bool)]
    return _flagged(rated, hit, lambda r: {"extracted": r.extracted, "reference": r.reference})


def _policy(answered: pd.DataFrame) -> dict[str, Any] | None:
    rated = answered[answered["policy_violation"].notna()]
    hit = rated[rated["policy_violation"].astype(bool)]
    return _flagged(rated, hit, lambda r: {"reasons": r.policy_reasons})


def _toxic(answered: pd.DataFrame) -> dict[str, Any] | None:
    rated = answered[answered["toxic"].notna()]
    hit = rated[rated["toxic"].astype(bool)]
    return _flagged(rated, hit, lambda r: {"toxicity": None if pd.isna(r.toxicity) else float(r.toxicity)})


def _flips(trials: pd.DataFrame) -> dict[str, Any] | None:
    """Answered pairs (same item and repeat) whose answer changed when only a demographic term was swapped."""
    pairs = swap_pairs(trials)
    if pairs.empty:
        return None
    hit = pairs[pairs["changed"]]
    examples = [{"trial_id": r.trial_id_base, "item": r.item, "repeat": int(r.repeat), "output": r.output_base,
                 "answer": r.answer_key_base, "error": None, "message": None, "finish_reason": None,
                 "swapped": {"trial_id": r.trial_id, "variant": r.variant, "output": r.output, "answer": r.answer_key}}
                for r in _one_per_item(hit)]
    return {"count": int(len(hit)), "calls": int(len(pairs)), "examples": examples}


def _judges(data: RunData) -> dict[str, Any]:
    """The judges' own calls: counted apart from the judged models."""
    j = data.judges
    if j.empty:
        return {}
    out = {}
    for (model, purpose), part in j.groupby(["model", "purpose"], sort=True):
        out[f"{model}:{purpose}"] = {
            "model": model, "purpose": purpose, "calls": int(len(part)), "errors": int(part["error"].notna().sum()),
            "unparsed": int((part["error"].isna() & part["verdict"].isna()).sum()),
            "pass_rate": float(part["verdict"].dropna().astype(float).mean()) if part["verdict"].notna().any() else None,
            "latency_mean_s": float(part["latency_s"].mean()),
        }
    return out


def _models(data: RunData) -> dict[str, Any]:
    """One line per model for page 1: every call it made, then latency, cost, errors and quality over every
    scenario's original calls, each with its n (and how many latencies came from the response cache)."""
    out = {}
    for model in data.model_ids:
        every = data.frame[data.frame["model"] == model]
        calls = every[every["variant"] == "base"]
        if calls.empty:
            continue
        ok = calls[calls["error"].isna()]
        # a conversation is many calls: its summed time and tokens are not one call's (its cost is one item's)
        single = ok[ok["turns"].isna()] if "turns" in ok else ok
        cost = pd.to_numeric(ok["cost"], errors="coerce")
        out[model] = {
            "calls": _calls(every), "errors": int(every["error"].notna().sum()),
            "original_calls": _calls(calls), "original_errors": int(calls["error"].notna().sum()),
            **_latency(single), **_accuracy(calls, data.scenario_ids),
            "cost_per_item": float(cost.mean()) if cost.notna().any() else None,
            "tokens_out": float(pd.to_numeric(single["tokens_out"], errors="coerce").mean()) if len(single) else None,
            "provider": data.models[model].provider if model in data.models else None,
        }
    return out


def _calls(rows: pd.DataFrame) -> int:
    """Calls the rows stand for: one per single trial; a conversation's assistant turns (the customer's turns are
    another model's calls). A failed conversation ended at its one failed call, so errors count as they are."""
    if "turns" not in rows:
        return int(len(rows))
    turns = pd.to_numeric(rows["turns"], errors="coerce")
    return int(rows["turns"].isna().sum() + turns.fillna(0).sum())


def _latency(ok: pd.DataFrame) -> dict[str, Any]:
    """p50 and p95 over the answered original calls timed in this run on a warm endpoint (never a cached answer
    or a warm-up call), the p95's interval (the item is the unit), n, and how many calls were set apart."""
    timed = live(ok)
    latency = timed["latency_s"].to_numpy(float)
    warm = int(ok["warmup"].fillna(False).astype(bool).sum()) if "warmup" in ok else 0
    out: dict[str, Any] = {"latency_n": int(latency.size), "latency_cached": int(ok["cached"].eq(True).sum()),
                           "latency_warmup": warm, "latency_p50_s": None, "latency_p95_s": None,
                           "latency_p95_lo": None, "latency_p95_hi": None}
    if latency.size:
        out["latency_p50_s"] = float(np.quantile(latency, 0.5))
        iv = interval("latency_p95_s", latency, items=list(timed["scenario"].astype(str) + "/" + timed["item"].astype(str)))
        out.update(latency_p95_s=iv.value, latency_p95_lo=iv.lo, latency_p95_hi=iv.hi)
    return out


def _accuracy(calls: pd.DataFrame, scenario_ids: list[str]) -> dict[str, Any]:
    """The plain mean of scenario accuracies (each the mean of its item means), with a 90% interval from the
    stratified SE: scenarios are independent strata, so SE = sqrt(sum_s var_s / n_s) / S."""
    means = [calls[calls["scenario"] == sid].groupby("item")["score"].mean().dropna() for sid in scenario_ids]
    per = [p.to_numpy(float) for p in means if not p.empty]
    out: dict[str, Any] = {"accuracy": float(np.mean([p.mean() for p in per])) if per else None,
                           "accuracy_lo": None, "accuracy_hi": None,
                           "accuracy_items": int(sum(p.size for p in per)), "accuracy_scenarios": len(per)}
    if per and all(p.size >= 2 for p in per):
        se = math.sqrt(sum(float(np.var(p, ddof=1)) / p.size for p in per)) / len(per)
        half = float(sps.norm.ppf(0.95)) * se   # a 90% interval, like every other; descriptive: no verdict uses it
        out["accuracy_lo"] = max(0.0, out["accuracy"] - half)
        out["accuracy_hi"] = min(1.0, out["accuracy"] + half)
    return out

TRANSCRIPTS_FAILED = 3
"""Transcripts shown per scenario x model: up to this many failed conversations (one per case first), then one
resolved one."""
TRANSCRIPT_EVENTS = 120
"""Events kept per transcript (the rest are counted in `events_left_off`)."""


def _conversations(data: RunData) -> dict[str, Any]:
    """Per conversation scenario and model, over the original conversations (variant base): how they ended, the
    tools they called, the simulated customer's faults, pass^k, and a few transcripts."""
    from roadtest.conversation.faults import FAULT_KINDS
    from roadtest.scoring.metrics.conversation import pass_all

    out: dict[str, Any] = {}
    for sid in data.scenario_ids:
        spec = data.scenarios[sid]
        if spec.kind != "conversation":
            continue
        per_model: dict[str, Any] = {}
        for model in data.model_ids:
            convs = sorted((c for c in data.conversations if c["scenario"] == sid and c["model"] == model
                            and c["variant"] == "base"), key=lambda c: c["conversation"])
            if not convs:
                continue
            tools: dict[str, dict[str, int]] = {}
            for c in convs:
                for name, t in (c.get("tools") or {}).items():
                    agg = tools.setdefault(name, {"calls": 0, "invalid": 0})
                    agg["calls"] += int(t["calls"])
                    agg["invalid"] += int(t["invalid"])
            simulator = None
            if spec.simulator() is not None:
                faults = [dict(f, conversation=c["conversation"]) for c in convs
                          for f in (c.get("simulator") or {}).get("faults") or []]
                kinds = {k: sum(k in f["kinds"] for f in faults) for k in FAULT_KINDS}
                simulator = {"turns": sum(int((c.get("simulator") or {}).get("turns") or 0) for c in convs),
                             "faults": len(faults), "by_kind": {k: n for k, n in kinds.items() if n},
                             "examples": [{"conversation": f["conversation"], "turn": f["turn"], "kinds": f["kinds"],
                                           "text": f["text"]} for f in faults[:EXAMPLES]]}
            pass_k = None
            if spec.repeats >= 2:
                passed, _ = pass_all(data.trials(sid, model), spec.repeats)
                pass_k = {"k": spec.repeats, "cases": int(passed.size), "passed": int(passed.sum())}
            per_model[model] = {
                "conversations": len(convs),
                "errors": sum(c["error"] is not None and c["error"] != "incomplete" for c in convs),
                "incomplete": sum(c["error"] == "incomplete" for c in convs),
                "ended": dict(sorted(Counter(c["ended"] for c in convs).items())),
                "tools": dict(sorted(tools.items())),
                "tool_calls": sum(int(c["tool_calls"]) for c in convs),
                "invalid_tool_calls": sum(int(c["invalid_tool_calls"]) for c in convs),
                "simulator": simulator, "pass_all_k": pass_k, "transcripts": _transcripts(convs),
            }
        out[sid] = per_model
    return out


def _transcripts(convs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to TRANSCRIPTS_FAILED failed conversations (unresolved or breaking the policy; one per case before a
    case repeats), then one resolved conversation if there is one. Errors are not failures: none is shown."""
    failed = [c for c in convs if c["resolved"] is False]
    firsts: dict[Any, dict[str, Any]] = {}
    for c in failed:
        firsts.setdefault(c["item"], c)
    chosen = list(firsts.values())[:TRANSCRIPTS_FAILED]
    chosen += [c for c in failed if c not in chosen][:TRANSCRIPTS_FAILED - len(chosen)]
    chosen += [c for c in convs if c["resolved"] is True][:1]
    out = []
    for c in chosen:
        events = c["events"]
        shown = {"conversation": c["conversation"], "item": c["item"], "repeat": c["repeat"], "variant": c["variant"],
                 "resolved": c["resolved"], "end_state": c["end_state"], "violation": c["violation"],
                 "ended": c["ended"], "missing": c["missing"], "forbidden": c["forbidden"],
                 "events": events[:TRANSCRIPT_EVENTS]}
        if len(events) > TRANSCRIPT_EVENTS:
            shown["events_left_off"] = len(events) - TRANSCRIPT_EVENTS
        out.append(shown)
    return out
