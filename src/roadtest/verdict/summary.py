"""metrics.json: every metric of every scenario x model (and settings variant) with its interval and n,
plus the detail the report shows: groups, counterfactual groups, failure examples, judges, sensitivity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from roadtest import stats
from roadtest.scoring.metrics.fairness import group_scores
from roadtest.scoring.metrics.failures import FAILURE_MODES
from roadtest.scoring.toxicity import classifier_name
from roadtest.spec.metrics import METRICS, expand
from roadtest.verdict.data import RunData
from roadtest.verdict.estimates import BOOT_SEED, estimate
from roadtest.verdict.load import load_summary
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
    return {"confidence": 0.95, "bootstrap": {"seed": BOOT_SEED, "B": stats.intervals.DEFAULT_B},
            "metrics": {m: {"family": i.family, "direction": i.direction, "unit": i.unit, "kind": i.kind,
                            "description": i.description} for m, i in METRICS.items()},
            "toxicity_classifier": classifier_name(),
            "scenarios": scenarios, "ranks": rank_summary(data), "comparisons": pairwise_scan(data),
            "variability": variability_summary(data), "sensitivity": sensitivity(data), "load": load_summary(data),
            "judges": _judges(data), "models": _models(data)}


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
    if np.all((x == 0) | (x == 1)):
        lo, hi = stats.wilson_interval(int(x.sum()), x.size)
        return {"n": int(x.size), "value": float(x.mean()), "lo": lo, "hi": hi}
    value, lo, hi = stats.mean_interval(x)
    return {"n": int(x.size), "value": value, "lo": lo, "hi": hi}


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
        scores = swapped.reindex(base.index).fillna(base)
        out.append({"group": group, "swap": kind, **_share(scores.to_numpy(float))})
    return out


def _failures(trials: pd.DataFrame) -> dict[str, Any]:
    """Each failure mode: its count over the original calls and up to five real examples."""
    calls = trials[trials["variant"] == "base"]
    out = {}
    for mode, flag in FAILURE_MODES.items():
        hit = calls[flag(calls).astype(bool)]
        out[mode] = {"count": int(len(hit)), "calls": int(len(calls)), "examples": [
            {"trial_id": r.trial_id, "item": r.item, "output": r.output, "error": r.error,
             "message": r.error_message, "finish_reason": r.finish_reason}
            for r in hit.drop_duplicates("item").head(EXAMPLES).itertuples()]}
    return out


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
    """One line per model for page 1: latency, cost, errors and quality over every scenario's original calls."""
    out = {}
    frame = data.frame[data.frame["variant"] == "base"]
    for model in data.model_ids:
        calls = frame[frame["model"] == model]
        if calls.empty:
            continue
        ok = calls[calls["error"].isna()]
        latency = ok["latency_s"].to_numpy(float)
        cost = pd.to_numeric(ok["cost"], errors="coerce")
        accuracy = [float(calls[calls["scenario"] == sid].groupby("item")["score"].mean().mean())
                    for sid in data.scenario_ids if not calls[calls["scenario"] == sid].empty]
        out[model] = {
            "calls": int(len(calls)), "errors": int(calls["error"].notna().sum()),
            "latency_p50_s": float(np.quantile(latency, 0.5)) if latency.size else None,
            "latency_p95_s": float(np.quantile(latency, 0.95)) if latency.size else None,
            "cost_per_item": float(cost.mean()) if cost.notna().any() else None,
            "tokens_out": float(pd.to_numeric(ok["tokens_out"], errors="coerce").mean()) if len(ok) else None,
            "accuracy": float(np.mean(accuracy)) if accuracy else None,
            "provider": data.models[model].provider if model in data.models else None,
        }
    return out
