"""Which model is best (a confidence set), exploratory pairwise comparisons, settings robustness, and
run-to-run variability.

Every comparison of two models on one scenario goes through `judge` with the claim 'better by more than 0':
the same test and the same interval (one-sided 95% bounds, a 90% interval) as a `versus` criterion of a
hypothesis on the same pair. Nothing here decides a hypothesis.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, cast

import numpy as np
import pandas as pd

from roadtest import stats
from roadtest.archive.config import hypothesis_specs
from roadtest.scoring.metrics.variability import repeat_matrix
from roadtest.spec.metrics import METRICS
from roadtest.stats import rules as R
from roadtest.verdict.data import RunData
from roadtest.verdict.decide import failing
from roadtest.verdict.choice import SEED
from roadtest.verdict.judge import INCONCLUSIVE, SUPPORTED, judge

RANK_B = 4_000
RANK_METRIC = "accuracy"
ALPHA = 0.05


def healthy(data: RunData, scenario: str) -> list[str]:
    """The models with trials on this scenario whose endpoint did not fail beyond max_error_rate: an outage is
    not evidence, so a failing model enters no ranking or comparison."""
    return [m for m in data.model_ids if data.has_trials(scenario, m) and not failing(data, scenario, m)]


def _item_matrix(data: RunData, scenario: str, metric: str, variant: str | None = None,
                 models: list[str] | None = None) -> pd.DataFrame | None:
    """models x items of one metric (item means) on the items every model was scored on."""
    columns = {}
    for model in models or data.model_ids:
        if not data.has_trials(scenario, model):
            return None
        sample = data.sample(metric, scenario, model, variant=variant)
        if sample.n == 0:
            return None
        columns[model] = sample.by_item()
    matrix = pd.concat(columns, axis=1, join="inner").T
    return matrix if matrix.shape[1] >= 2 else None


def compare(data: RunData, scenario: str, metric: str, a: str, b: str, variant: str | None = None):
    """'a is better than b' on the same items, through judge (positive difference = a better)."""
    sa = data.sample(metric, scenario, a, variant=variant)
    sb = data.sample(metric, scenario, b, variant=variant)
    va, ia, _, ca = sa.raw()
    vb, ib, _, _ = sb.raw()
    return judge(metric, va, {"versus": {"model": b, "by_at_least": 0.0}}, items=ia, baseline=vb,
                 baseline_items=ib, clusters=ca)


def _best(data: RunData, sid: str, matrix: pd.DataFrame, higher: bool, metric: str) -> dict[str, Any]:
    """The best-model set. Two models: the comparison itself (the same test and bound as everywhere else: the
    loser is out when 'the leader is better' is shown, and is at most the gap's upper bound behind). Three or
    more: Hsu's multiple comparisons with the best, simultaneous over the models."""
    models = list(matrix.index)
    r = R.best_set(matrix.to_numpy(float), names=models, alpha=ALPHA, seed=SEED, B=RANK_B,
                   higher_is_better=higher)
    in_set, behind, method = list(r.in_set), [float(v) for v in r.behind], r.method
    if len(models) == 2:
        means = list(r.means)
        lead = 0 if (means[0] >= means[1]) == higher else 1
        j = compare(data, sid, metric, models[lead], models[1 - lead])
        in_set = [True, True]
        in_set[1 - lead] = j.verdict != SUPPORTED
        behind = [0.0, 0.0]
        behind[1 - lead] = float(max(j.upper, 0.0)) if j.upper is not None else float("inf")
        method = f"the paired comparison of the two models ({j.method})"
    names = [m for m, s in zip(models, in_set) if s]
    rest = [f"{m} is at most {b:.3g} behind the best" for m, s, b in zip(models, in_set, behind) if not s]
    sentence = (f"The best on {metric} is in {{{', '.join(names)}}} with {1 - ALPHA:.0%} confidence"
                + ("; " + "; ".join(rest) if rest else "") + ".")
    return {
        "models": models, "estimates": [float(v) for v in r.means], "in_set": in_set,
        "behind": behind, "n": r.n, "confidence": 1 - ALPHA, "method": method,
        "sentence": sentence, "rank_probs": [[float(p) for p in row] for row in r.rank_probs],
        "rank_probs_note": "descriptive: how often each model had each rank over bootstrap resamples of the "
                           "items; the confidence set above is the claim",
        "seed": r.seed, "B": r.B,
    }


def rank_summary(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Per scenario the best-model confidence set (multiple comparisons with the best); across scenarios,
    the model x scenario interaction of each pair (a gap that changes sign is not averaged away)."""
    models = data.model_ids
    higher = METRICS.get(metric).direction == "higher"
    out: dict[str, Any] = {"metric": metric, "scenarios": {}, "interaction": []}
    if len(models) < 2:
        return out
    diffs: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for sid in data.scenario_ids:
        live = healthy(data, sid)
        matrix = _item_matrix(data, sid, metric, models=live) if len(live) >= 2 else None
        if matrix is None:
            continue
        out["scenarios"][sid] = _best(data, sid, matrix, higher, metric)
        for a, b in combinations(live, 2):
            pair = _item_matrix(data, sid, metric, models=[a, b])   # the pair's own shared items
            if pair is None:
                continue
            d = pair.loc[a].to_numpy(float) - pair.loc[b].to_numpy(float)
            diffs.setdefault((a, b), {})[sid] = d if higher else -d
    for (a, b), per in diffs.items():
        if len(per) < 2:
            continue
        try:
            h = R.scenario_interaction(per, ALPHA)
        except R.StatsInputError:
            continue
        signs = {np.sign(g) for g in h.gaps if g != 0}
        out["interaction"].append({
            "a": a, "b": b, "scenarios": list(per), "gaps": list(h.gaps), "ses": list(h.ses), "p": h.p,
            "q_cochran": h.q_cochran, "p_cochran": h.p_cochran, "i2": h.i2, "significant": h.significant,
            "opposite_signs": len(signs) > 1, "method": h.method,
            "sentence": (f"{a} vs {b}: which is better depends on the scenario (interaction p = {h.p:.3g}); "
                         "no average over scenarios is reported" if h.significant else
                         f"{a} vs {b}: no evidence that the gap differs between scenarios (p = {h.p:.3g})"),
        })
    return out


def _criteria_index(data: RunData) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """(scenario, metric, baseline) -> the hypothesis criteria that compare that pair."""
    index: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for hyp in hypothesis_specs(data.config):
        for i, crit in enumerate(hyp.criteria):
            if crit.baseline is not None and crit.load is None and crit.slice is None:
                index.setdefault((crit.scenario, crit.metric, crit.baseline), []).append(
                    {"hypothesis": hyp.id, "criterion": i, "claim": crit.direction, "margin": crit.threshold})
    return index


def pairwise_scan(data: RunData, metric: str = RANK_METRIC) -> list[dict[str, Any]]:
    """Every scenario x model pair, exploratory: the paired difference (positive = a better) with the same test
    and 90% interval as a `versus` criterion, and a Benjamini-Hochberg q over the scan."""
    models = data.model_ids
    crits = _criteria_index(data)
    rows = []
    for sid in data.scenario_ids:
        live = healthy(data, sid)
        for a, b in combinations([m for m in models if m in live], 2):
            j = compare(data, sid, metric, a, b)
            if j.method == "none":
                continue
            towards_a = (j.estimate or 0) >= 0
            rows.append({"scenario": sid, "metric": metric, "a": a, "b": b, "difference": j.estimate,
                         "lo": j.lower, "hi": j.upper, "confidence": 2 * j.confidence - 1, "n": j.n,
                         "test": j.method, "p": j.p_supported if towards_a else j.p_refuted,
                         "leader": a if towards_a else b, "shown": j.verdict != INCONCLUSIVE,
                         "correlation": j.correlation, "se": j.se_paired, "se_unpaired": j.se_unpaired,
                         "criteria": crits.get((sid, metric, b), []) + crits.get((sid, metric, a), [])})
    if rows:
        for row, q in zip(rows, R.benjamini_hochberg([r["p"] for r in rows])):
            row["q_bh"] = float(q)
            row["wording"] = wording(row)
    return rows


def wording(row: dict[str, Any]) -> str:
    """The one sentence for a comparison: shown better, or not shown to differ with the gap the data allow."""
    a, b, lo, hi = row["a"], row["b"], row["lo"], row["hi"]
    span = f"between {lo:+.3g} and {hi:+.3g}" if lo is not None and hi is not None else "of any size"
    if row["shown"]:
        ahead = (row["difference"] or 0) > 0
        winner, loser = (a, b) if ahead else (b, a)
        low, high = (lo, hi) if ahead else (-hi, -lo)
        return (f"{winner} is better than {loser} by between {low:.3g} and {high:.3g} "
                f"({row['confidence']:.0%} interval)")
    return f"{a} and {b} are not shown to differ: the data allow a gap ({a} minus {b}) {span}"


def variability_summary(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Run-to-run variability per scenario x model, for scenarios with repeats > 1 (descriptive)."""
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


def _paired_gap(data: RunData, sid: str, metric: str, a: str, b: str, variant: str | None) -> pd.Series | None:
    matrix = _item_matrix(data, sid, metric, variant=variant, models=[a, b])
    if matrix is None:
        return None
    return cast(pd.Series, matrix.loc[a] - matrix.loc[b])  # one row label each: a Series over the items


def sensitivity(data: RunData, metric: str = RANK_METRIC) -> dict[str, Any]:
    """Settings variants: each model's score under each, the gap between the two leading models under each
    (same test and interval as any comparison), and the model x setting interaction with its interval."""
    out: dict[str, Any] = {}
    higher = METRICS.get(metric).direction == "higher"
    sign = 1.0 if higher else -1.0
    for sid in data.scenario_ids:
        variants = [f"setting:{v.name}" for v in data.scenarios[sid].variants]
        if not variants:
            continue
        rows = {}
        live = healthy(data, sid)
        for label in [None, *variants]:
            scores = {}
            for m in live:
                sample = data.sample(metric, sid, m, variant=label)
                if sample.n:
                    scores[m] = float(sample.values.mean())
            if scores:
                rows[label or "base"] = scores
        if "base" not in rows:
            continue
        models = list(rows["base"])
        rows = {k: v for k, v in rows.items() if set(v) == set(models)}
        shifts = {m: max(abs(r[m] - rows["base"][m]) for r in rows.values()) for m in models}
        order = sorted(models, key=lambda m: -rows["base"][m] if higher else rows["base"][m])
        entry: dict[str, Any] = {"metric": metric, "scores": rows, "largest_shift": shifts, "leader": order[0],
                                 "reversed_by": [], "gaps": [], "interactions": []}
        if len(order) > 1:
            a, b = order[0], order[1]
            entry.update(a=a, b=b)
            base_gap = _paired_gap(data, sid, metric, a, b, None)
            for label in [None, *variants]:
                if label is not None and label not in rows:
                    continue
                j = compare(data, sid, metric, a, b, variant=label)
                entry["gaps"].append({"variant": label or "base", "estimate": j.estimate, "lower": j.lower,
                                      "upper": j.upper, "n": j.n, "verdict": j.verdict, "method": j.method})
                if label is not None and (j.estimate or 0) < 0 and j.verdict != SUPPORTED:
                    entry["reversed_by"].append(label)
                gap = _paired_gap(data, sid, metric, a, b, label) if label else None
                if label is None or gap is None or base_gap is None:
                    continue
                shared = gap.index.intersection(base_gap.index)
                if len(shared) < 2:
                    continue
                try:
                    inter = R.setting_interaction(sign * gap[shared].to_numpy(float),
                                                  sign * base_gap[shared].to_numpy(float), ALPHA)
                except R.StatsInputError:
                    continue
                shown = inter.lower > 0 or inter.upper < 0
                entry["interactions"].append({
                    "variant": label, "estimate": inter.estimate,
                    "lower": None if not np.isfinite(inter.lower) else inter.lower,
                    "upper": None if not np.isfinite(inter.upper) else inter.upper, "n": inter.n,
                    "method": inter.method, "shown": bool(shown),
                    "sentence": (f"under {label.split(':', 1)[1]} the gap between {a} and {b} changes by "
                                 f"{inter.estimate:+.3g} (90% interval {inter.lower:+.3g} to {inter.upper:+.3g})"
                                 + ("" if shown else ": not shown to change"))})
        out[sid] = entry
    return out
