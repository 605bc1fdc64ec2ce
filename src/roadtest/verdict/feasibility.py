"""Before any model call: which criteria can the planned n decide, with the test that will decide them?

Exact where the rule is exact (the exact binomial, order statistics, the exact paired 0/1 test), at the alpha
of the test that decides in the criterion's family: under `decision: all` a criterion is supported at its own
alpha (intersection-union) and refuted at Holm's strictest step, alpha / m (m criteria in the hypothesis);
`decision: any` the mirror image.
"""

from __future__ import annotations

import math
from typing import Any

from roadtest.archive.config import hypothesis_specs
from roadtest.spec import Criterion
from roadtest.spec.metrics import DESCRIBED_ONLY, METRICS, MetricInfo
from roadtest.stats import rules as R
from roadtest.stats.rules import MIN_CLUSTERS, SKEWED_MIN_N, SKEWED_UPPER_TABLE
from roadtest.stats.rules.power import Side
from roadtest.verdict.choice import POWER, paired_rule, signed_margin
from roadtest.verdict.judge import alpha_of


def _planned_n(config: dict[str, Any], crit: Criterion) -> tuple[int, str]:
    entry = config["scenarios"][crit.scenario]
    items = entry["group_counts"].get(crit.slice, 0) if crit.slice else entry["items"]
    clusters = entry.get("cluster_counts")
    if clusters and not crit.slice:
        return len(clusters), "clusters"
    return items, "items"


def _smallest_k(n: int, t: float, alpha: float, side: str) -> int | None:
    """The count of n that decides the claim at the exact binomial test, or None if none does."""
    ks = range(n, -1, -1) if side == "at_least" else range(0, n + 1)
    found = None
    for k in ks:
        b = R.proportion(k, n, alpha)
        ok = b.lower > t if side == "at_least" else b.upper < t
        if not ok:
            break
        found = k
    return found


def assess(crit: Criterion, n: int, unit: str, alpha_support: float, alpha_refute: float,
           repeats: int = 1) -> dict[str, Any]:
    """What n can decide: the observed result that would decide the claim, the effect detectable with 80% power
    at the alpha that supports it, and the smallest n at which even a perfect result decides it."""
    info = METRICS.get(crit.metric)
    if n <= 0:
        return {"mde": None, "n_min": None, "decidable": "no", "why": "no items"}
    if crit.metric in DESCRIBED_ONLY:
        return {"mde": None, "n_min": None, "decidable": "no",
                "why": f"{crit.metric} is described, not decided: no decision rule for it was shown to hold"}
    if unit == "clusters" and n < MIN_CLUSTERS:
        return {"mde": None, "n_min": MIN_CLUSTERS, "decidable": "no",
                "why": f"needs at least {MIN_CLUSTERS} clusters for any verdict (has {n})"}
    if crit.baseline is not None:
        return _comparison(crit, info, n, unit, alpha_support)
    if info.kind == "percentile":
        q = info.quantile
        assert q is not None  # every percentile metric of the catalogue names its quantile
        lower, upper = R.min_units_for_percentile(q, alpha_support)
        need = upper if crit.at_most is not None else lower
        if n < need:
            return {"mde": None, "n_min": need, "decidable": "no",
                    "why": f"needs ≥ {need} items even if every call is on the claimed side (the item is the unit)"}
        side = "at_least" if crit.at_most is not None else "at_most"   # p_q <= t  <=>  share at or below t >= q
        k = _smallest_k(n, q, alpha_support, side)
        if crit.at_most is not None and k is not None:
            why = f"SUPPORTED if at most {n - k} of {n} items are slower than {crit.threshold:g}"
        else:
            why = "if the calls are clearly on the claimed side of the threshold"
        return {"mde": None, "n_min": need, "decidable": "yes", "why": why + (
            f" ({repeats} calls per item: the item is the unit)" if repeats > 1 else "")}
    if info.skewed:
        if crit.at_most is not None:
            need = SKEWED_UPPER_TABLE[0][1]
            return {"mde": None, "n_min": need, "decidable": "yes" if n >= need else "no",
                    "why": f"an upper bound on a mean of skewed data needs {_skewed_upper_needs()}; "
                           "a percentile claim is distribution-free"}
        return {"mde": None, "n_min": SKEWED_MIN_N, "decidable": "yes" if n >= SKEWED_MIN_N else "no",
                "why": f"a lower bound on a mean of skewed data needs ≥ {SKEWED_MIN_N} items"}
    if info.kind == "proportion" and 0 < crit.threshold < 1 and unit == "items":
        return _proportion(crit, n, alpha_support, alpha_refute, repeats)
    sd_mde = R.mde_mean_t(max(n, 2), 1.0, POWER, alpha_support) if n >= 2 else None
    return {"mde": sd_mde, "n_min": 2, "decidable": "yes" if n >= 2 else "no",
            "why": f"if the true value is ≥ {sd_mde:.3g} SD from the threshold" if sd_mde else "needs 2 items"}


def _skewed_upper_needs() -> str:
    """'≥ 100 items (SD of log values ≤ 0.5) or ≥ 200 (≤ 0.75)', from the rule's own table."""
    (first_sd, first_n), *rest = SKEWED_UPPER_TABLE
    return " or ".join([f"≥ {first_n} items (SD of log values ≤ {first_sd:g})",
                        *(f"≥ {items} (≤ {sd:g})" for sd, items in rest)])


def _proportion(crit: Criterion, n: int, alpha: float, alpha_refute: float, repeats: int) -> dict[str, Any]:
    t = crit.threshold
    side: Side = "at_least" if crit.at_least is not None else "at_most"
    edge = t if side == "at_least" else 1 - t
    n_min = math.floor(math.log(alpha) / math.log(edge)) + 1
    mde = R.mde_exact_binomial(n, t, POWER, alpha, side)
    out = {"mde": None if math.isnan(mde) else mde, "n_min": n_min}
    if n < n_min:
        return {**out, "decidable": "no", "why": f"needs ≥ {n_min} items even if every one is on the claimed side"}
    k_sup = _smallest_k(n, t, alpha, side)
    k_ref = _smallest_k(n, t, alpha_refute, "at_most" if side == "at_least" else "at_least")
    parts = []
    if k_sup is not None:
        parts.append(f"SUPPORTED with {'≥' if side == 'at_least' else '≤'} {k_sup} of {n}")
    if k_ref is not None:
        parts.append(f"REFUTED with {'≤' if side == 'at_least' else '≥'} {k_ref} of {n}")
    text = ", ".join(parts) or "yes"
    if repeats > 1:
        text += f" (counted per item; {repeats} repeats per item can only lower these counts)"
    return {**out, "decidable": "yes", "why": text}


def _comparison(crit: Criterion, info: MetricInfo, n: int, unit: str, alpha: float) -> dict[str, Any]:
    """A comparison with a baseline model, under the paired rule that will decide it (its fewest units and its
    alpha per side: a skewed metric's means are compared at alpha / 2 per side, from 40 items)."""
    rule = paired_rule(info, clustered=unit == "clusters")
    if rule is None:
        return {"mde": None, "n_min": None, "decidable": "no",
                "why": f"{crit.metric} has no value per item: it cannot be compared item by item"}
    if n < rule.min_units:
        return {"mde": None, "n_min": rule.min_units, "decidable": "no",
                "why": f"needs ≥ {rule.min_units} {rule.unit}: {rule.floor()}"}
    margin = signed_margin(crit.direction, crit.threshold)
    a = rule.alpha(alpha)
    if rule.exact_binary:
        psi = 0.4  # a typical share of items on which two models disagree
        try:
            mde = R.mde_paired_binary(n, psi, margin, POWER, a) if margin is not None else None
        except R.StatsInputError:
            mde = None
        if mde is not None and math.isnan(mde):
            mde = None
        why = (f"if the true gap beyond the margin is ≥ {mde:.3g} (when the models disagree on 40% of items)"
               if mde is not None else "only if the models disagree rarely or the gap is large")
        if margin is None:
            why = "if the gap's 90% interval fits within ± the margin (needs a margin well above 2 SE of the gap)"
        return {"mde": mde, "n_min": rule.min_units, "decidable": "yes", "why": why}
    mde = R.mde_mean_t(n, 1.0, POWER, a)
    per_side = f" (at {a:g} per side: a skewed metric)" if rule.alpha_share < 1 else ""
    unit = "cluster" if rule.clustered else "item"
    return {"mde": mde, "n_min": rule.min_units, "decidable": "yes",
            "why": f"if the true gap beyond the margin is ≥ {mde:.3g} SD of the {unit} differences{per_side}"}


def prompt_modes(config: dict[str, Any], scenario: str) -> dict[str, str]:
    """model -> the mode it is prompted in on this scenario (its own `mode:`, else the scenario's)."""
    models = {m["id"]: m for m in config.get("models", [])}
    spec = config["scenarios"][scenario]["spec"]
    return {m: (models.get(m) or {}).get("mode") or spec.get("mode", "chat") for m in config["selection"]["models"]}


def warnings(config: dict[str, Any]) -> list[str]:
    """Designs that cannot say what they seem to: stochastic variants without repeats, comparisons between
    models prompted in different modes (per scenario, and per comparison criterion)."""
    out = []
    for sid in config["selection"]["scenarios"]:
        spec = config["scenarios"][sid]["spec"]
        modes = prompt_modes(config, sid)
        if len(set(modes.values())) > 1:
            groups = {md: [m for m, x in modes.items() if x == md] for md in sorted(set(modes.values()))}
            out.append(f"{sid}: " + " and ".join(f"{', '.join(ms)} prompted in {md} mode" for md, ms in groups.items())
                       + ": every comparison between them on this scenario is confounded with the prompt format")
        stochastic = [v["name"] for v in spec.get("variants", [])
                      if ((v.get("sampling") or {}).get("temperature") or 0) > 0]
        if stochastic and spec.get("repeats", 1) < 2:
            out.append(f"{sid}: variant {', '.join(stochastic)} samples at temperature > 0 with one draw per item: "
                       "its score mixes the setting with the luck of one draw; give the scenario `repeats: 3` or "
                       "more to measure the setting")
    for hyp in hypothesis_specs(config):
        for i, crit in enumerate(hyp.criteria):
            modes = prompt_modes(config, crit.scenario)
            if crit.baseline is None or crit.baseline not in modes:
                continue
            others = {m: md for m, md in modes.items() if md != modes[crit.baseline]}
            if others:
                out.append(f"{hyp.id} criteria[{i}]: {', '.join(others)} prompted in "
                           f"{'/'.join(sorted(set(others.values())))} mode and {crit.baseline} in "
                           f"{modes[crit.baseline]} mode: the comparison is confounded with the prompt format")
    return out


def feasibility(config: dict[str, Any], alpha: float = 0.05) -> dict[str, Any]:
    """Per criterion: planned n, the alpha of the test that supports it, MDE, n_min; and design warnings."""
    rows = []
    for hyp in hypothesis_specs(config):
        m = len(hyp.criteria)
        for i, crit in enumerate(hyp.criteria):
            n, unit = _planned_n(config, crit)
            a = alpha_of(crit.confidence)
            a_sup, a_ref = (a, a / m) if hyp.decision == "all" else (a / m, a)
            repeats = int(config["scenarios"][crit.scenario]["spec"].get("repeats", 1))
            rows.append({"hypothesis": hyp.id, "index": i, "scenario": crit.scenario, "metric": crit.metric,
                         "direction": crit.direction, "threshold": crit.threshold, "versus": crit.baseline,
                         "slice": crit.slice, "n": n, "n_unit": unit, "alpha": a_sup, "alpha_refute": a_ref,
                         **assess(crit, n, unit, a_sup, a_ref, repeats)})
    return {"alpha": alpha, "power": POWER, "criteria": rows, "warnings": warnings(config),
            "family": "SUPPORTED at each criterion's alpha under `decision: all` (intersection-union), REFUTED "
                      "at Holm's steps over the hypothesis's criteria (the mirror image under `decision: any`)"}
