"""Rank stability, exploratory pairwise comparisons (Benjamini-Hochberg) and run-to-run variability."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from roadtest import stats
from roadtest.scoring.metrics.variability import repeat_matrix
from roadtest.spec.metrics import METRICS
from roadtest.verdict.data import RunData

RANK_SEED = 20240611
RANK_B = 10_000
RANK_METRIC = "accuracy"


def _item_matrix(data: RunData, scenario: str, metric: str, variant: str | None = None) -> pd.DataFrame | None:
    """models x items of one metric on the items every model was scored on."""
    columns = {}
    for model in data.model_ids:
        if not data.has_trials(scenario, model):
            return None
        sample = data.sample(metric, scenario, model, variant=variant)
        if sample.n == 0:
            return None
        columns[model] = sample.by_item()
    matrix = pd.concat(columns, axis=1, join="inner").T
    return matrix if matrix.shape[1] >= 2 else None


def _ranks(scores, models: list[str], higher: bool) -> dict[str, Any]:
    r = stats.rank_probabilities(scores, seed=RANK_SEED, B=RANK_B, names=tuple(models), higher_is_better=higher)
    return {
        "models": list(r.names), "estimates": [float(v) for v in r.estimates],
        "rank_probs": [[float(p) for p in row] for row in r.rank_probs],
        "rank_interval": [list(iv) for iv in r.rank_interval],
        "pairwise_better": [[float(p) for p in row] for row in r.pairwise],
        "pairwise_p_holm": [[float(p) for p in row] for row in r.p_adjusted],
        "headline": list(r.headline), "tied_groups": [list(g) for g in r.tied_groups],
        "seed": r.seed, "B": r.B,
    }


def _separation(a: np.ndarray, b: np.ndarray, higher: bool) -> dict[str, Any]:
    """The gap between two models on the same items and the n that would tell them apart."""
    d = a - b
    gap = float(d.mean()) if higher else float(-d.mean())
    var = float(d.var(ddof=1)) if d.size > 1 else 0.0
    return {"gap": gap, "var_d": var, "n": int(d.size),
            "n_to_separate": stats.required_n_paired(var, gap) if var > 0 and gap != 0 else None}


def rank_summary(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Per scenario and overall (stratified, plain mean of scenario scores): P(rank), tied groups, gaps."""
    models = data.model_ids
    higher = METRICS.get(metric).direction == "higher"
    out: dict[str, Any] = {"metric": metric, "scenarios": {}, "overall": None}
    if len(models) < 2:
        return out
    matrices = {}
    for sid in data.scenario_ids:
        matrix = _item_matrix(data, sid, metric)
        if matrix is None:
            continue
        matrices[sid] = matrix
        entry = _ranks(matrix.to_numpy(), models, higher)
        entry["separation"] = _top_pair(matrix, entry, higher)
        out["scenarios"][sid] = entry
    if len(matrices) >= 2:
        entry = _ranks({s: m.to_numpy() for s, m in matrices.items()}, models, higher)
        entry["separation"] = _top_pair_overall(matrices, entry, higher)
        entry["scenarios"] = list(matrices)
        out["overall"] = entry
    return out


def _leaders(ranks: dict[str, Any], higher: bool) -> tuple[int, int]:
    order = sorted(range(len(ranks["models"])), key=lambda i: -ranks["estimates"][i] if higher else ranks["estimates"][i])
    return order[0], order[1]


def _top_pair_overall(matrices: dict[str, pd.DataFrame], ranks: dict[str, Any], higher: bool) -> dict[str, Any]:
    """The aggregate gap (mean of scenario gaps) and the items per scenario that would separate it."""
    first, second = _leaders(ranks, higher)
    seps = [_separation(m.iloc[first].to_numpy(), m.iloc[second].to_numpy(), higher) for m in matrices.values()]
    gap = float(np.mean([s["gap"] for s in seps]))
    var_sum = sum(s["var_d"] for s in seps)
    per_scenario = stats.required_n_paired(var_sum / len(seps) ** 2, gap) if var_sum > 0 and gap != 0 else None
    return {"leader": ranks["models"][first], "runner_up": ranks["models"][second],
            "tied": ranks["headline"][first] == ranks["headline"][second], "gap": gap,
            "n": int(sum(s["n"] for s in seps)), "n_to_separate": per_scenario, "per": "scenario"}


def _top_pair(matrix: pd.DataFrame, ranks: dict[str, Any], higher: bool) -> dict[str, Any]:
    first, second = _leaders(ranks, higher)
    sep = _separation(matrix.iloc[first].to_numpy(), matrix.iloc[second].to_numpy(), higher)
    return {"leader": ranks["models"][first], "runner_up": ranks["models"][second],
            "tied": ranks["headline"][first] == ranks["headline"][second], **sep}


def pairwise_scan(data: RunData, metric: str = RANK_METRIC) -> list[dict[str, Any]]:
    """Every scenario x model pair, exploratory: paired difference, p-value, BH-adjusted q over the scan."""
    models = data.model_ids
    rows = []
    for sid in data.scenario_ids:
        matrix = _item_matrix(data, sid, metric)
        if matrix is None:
            continue
        for a, b in combinations(models, 2):
            x, y = matrix.loc[a].to_numpy(), matrix.loc[b].to_numpy()
            res = stats.paired_difference(x, y)
            binary = np.isin(x, (0, 1)).all() and np.isin(y, (0, 1)).all()
            if binary:
                p = stats.mcnemar_exact(int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum()))
                test = "exact McNemar"
            elif res.n <= 20:
                p, test = stats.sign_flip_test(x - y), "exact sign-flip"
            elif res.se == 0:   # every item differs by the same amount: the exact two-sided sign-flip p
                p, test = (1.0 if res.mean == 0 else min(1.0, 2 * 0.5 ** res.n)), "exact sign-flip (constant)"
            else:
                p, test = float(2 * stats.mean_p_greater(abs(res.mean), res.se, 0.0, df=res.n - 1)), "paired t"
            rows.append({"scenario": sid, "a": a, "b": b, "difference": res.mean, "lo": res.lo, "hi": res.hi,
                         "se": res.se, "se_unpaired": res.se_unpaired, "correlation": res.correlation,
                         "n": res.n, "test": test, "p": p})
    if rows:
        for row, q in zip(rows, stats.benjamini_hochberg([r["p"] for r in rows])):
            row["q_bh"] = float(q)
    return rows


def variability_summary(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Run-to-run variability per scenario x model, for scenarios with repeats > 1."""
    out: dict[str, Any] = {}
    for sid in data.scenario_ids:
        if data.scenarios[sid].repeats < 2:
            continue
        for model in data.model_ids:
            wide = repeat_matrix(data.trials(sid, model)) if data.has_trials(sid, model) else None
            if wide is None:
                continue
            v = stats.variability(wide.to_numpy())
            out.setdefault(sid, {})[model] = {
                "metric": metric, "repeats": v.k, "items": v.n_items, "run_scores": list(v.run_scores),
                "run_sd": v.run_sd, "flip_rate": v.flip_rate, "within_item_variance": v.within_item_variance,
                "icc": v.icc, "item_se": v.item_se,
            }
    return out


def sensitivity(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Settings variants: how far each moves the metric, next to the gap between models, and reversals."""
    out: dict[str, Any] = {}
    higher = METRICS.get(metric).direction == "higher"
    for sid in data.scenario_ids:
        variants = [f"setting:{v.name}" for v in data.scenarios[sid].variants]
        if not variants:
            continue
        rows = {}
        for label in [None, *variants]:
            matrix = _item_matrix(data, sid, metric, variant=label)
            if matrix is not None:
                rows[label or "base"] = {m: float(matrix.loc[m].mean()) for m in matrix.index}
        if "base" not in rows:
            continue
        models = list(rows["base"])
        shifts = {m: max(abs(r[m] - rows["base"][m]) for r in rows.values()) for m in models}
        order = sorted(models, key=lambda m: -rows["base"][m] if higher else rows["base"][m])
        gap = abs(rows["base"][order[0]] - rows["base"][order[1]]) if len(order) > 1 else None
        reversals = []
        if len(order) > 1:
            for label, scores in rows.items():
                flipped = sorted(models, key=lambda m: -scores[m] if higher else scores[m])
                if label != "base" and flipped[0] != order[0]:
                    reversals.append(label)
        out[sid] = {"metric": metric, "scores": rows, "largest_shift": shifts, "model_gap": gap,
                    "leader": order[0], "reversed_by": reversals}
    return out
