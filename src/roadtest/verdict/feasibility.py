"""Before any model call: which criteria can the planned n decide? (statistics.md, power)"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats as sps

from roadtest.archive.config import hypothesis_specs
from roadtest.spec import Criterion
from roadtest.spec.metrics import METRICS

POWER = 0.8


def _z(alpha: float) -> float:
    return float(sps.norm.ppf(1 - alpha))


def family_size(config: dict[str, Any]) -> int:
    """How many verdicts the report will hold (versus criteria skip their own baseline)."""
    models = config["selection"]["models"]
    m = 0
    for hyp in hypothesis_specs(config):
        for crit in hyp.criteria:
            m += sum(1 for model in models if crit.versus is None or crit.versus.model != model)
    return max(m, 1)


def _planned_n(config: dict[str, Any], crit: Criterion) -> tuple[int, str]:
    entry = config["scenarios"][crit.scenario]
    items = entry["group_counts"].get(crit.slice, 0) if crit.slice else entry["items"]
    info = METRICS.get(crit.metric)
    if info.kind == "percentile":
        return items * entry["spec"]["repeats"], "calls"
    return items, "items"


def assess(crit: Criterion, n: int, alpha: float) -> dict[str, Any]:
    """What n can decide: the observed values that would decide the claim at one-sided alpha,
    the effect detectable with 80% power, and the smallest n at which even a perfect result decides it."""
    info = METRICS.get(crit.metric)
    za, zb = _z(alpha), float(sps.norm.ppf(POWER))
    if n <= 0:
        return {"mde": None, "n_min": None, "decidable": "no", "why": "no items"}
    if crit.versus is not None:
        return _versus(info, n, za, zb)
    if info.kind == "percentile":
        return _percentile(crit, info.quantile, n, alpha, za, zb)
    if info.kind == "proportion":
        return _proportion(crit, n, za, zb)
    mde = (za + zb) / math.sqrt(n)
    return {"mde": mde, "n_min": 2, "decidable": "yes" if n >= 2 else "no",
            "why": f"if the true value is ≥ {mde:.3g} SD from the threshold"}


def _proportion(crit: Criterion, n: int, za: float, zb: float) -> dict[str, Any]:
    t = min(max(crit.threshold, 1e-9), 1 - 1e-9)
    se = math.sqrt(t * (1 - t) / n)
    # A perfect result (all 1s for at_least, all 0s for at_most) clears t once n > z^2 t/(1-t) resp. z^2 (1-t)/t.
    ratio = t / (1 - t) if crit.at_least is not None else (1 - t) / t
    n_min = math.floor(za * za * ratio) + 1
    above, below = t + za * se, t - za * se
    out = {"mde": (za + zb) * se, "n_min": n_min, "decide_above": above, "decide_below": below}
    if n < n_min:
        return {**out, "decidable": "no", "why": f"needs ≥ {n_min} items even if every one passes"}
    claim_high = crit.at_least is not None
    parts = []
    if 0 < above < 1:
        parts.append(f"{'SUPPORTED' if claim_high else 'REFUTED'} if it comes out ≥ {above:.3g}")
    if 0 < below < 1:
        parts.append(f"{'REFUTED' if claim_high else 'SUPPORTED'} if ≤ {below:.3g}")
    return {**out, "decidable": "yes", "why": ", ".join(parts) or "yes"}


def _percentile(crit: Criterion, q: float, n: int, alpha: float, za: float, zb: float) -> dict[str, Any]:
    """Exceedances of the threshold are Binomial(n, 1 - q) when the q-quantile sits exactly at it."""
    tail = 1 - q
    allowed = int(sps.binom.ppf(alpha, n, tail))
    if sps.binom.cdf(allowed, n, tail) >= alpha:
        allowed -= 1
    n_min = math.ceil(math.log(alpha) / math.log(q))
    out = {"mde": (za + zb) * math.sqrt(q * tail / n), "n_min": n_min, "max_exceedances": allowed}
    if crit.at_most is None:
        return {**out, "decidable": "yes", "why": "if the calls clearly exceed the threshold"}
    if allowed < 0:
        return {**out, "decidable": "no", "why": f"needs ≥ {n_min} calls even if none is slow"}
    return {**out, "decidable": "yes",
            "why": f"SUPPORTED if at most {allowed} of {n} calls exceed {crit.threshold:g}"}


def _versus(info, n: int, za: float, zb: float) -> dict[str, Any]:
    if info.kind == "proportion":
        mde = (za + zb) * math.sqrt(0.5 / n)   # var(d) <= 0.5 for two independent proportions near 0.5
        return {"mde": mde, "n_min": 2, "decidable": "yes",
                "why": f"if the true gap beyond the margin is ≥ {mde:.3g} (less when the models agree often)"}
    mde = (za + zb) / math.sqrt(n)
    return {"mde": mde, "n_min": 2, "decidable": "yes", "why": f"if the true gap beyond the margin is ≥ {mde:.3g} SD"}


def feasibility(config: dict[str, Any], alpha: float = 0.05) -> dict[str, Any]:
    """Per criterion: planned n, the family-wise alpha it must pass (Holm's strictest step), MDE, n_min."""
    m = family_size(config)
    rows = []
    for hyp in hypothesis_specs(config):
        for i, crit in enumerate(hyp.criteria):
            n, unit = _planned_n(config, crit)
            a = (1 - crit.confidence) / m
            rows.append({"hypothesis": hyp.id, "index": i, "scenario": crit.scenario, "metric": crit.metric,
                         "direction": crit.direction, "threshold": crit.threshold,
                         "versus": crit.versus.model if crit.versus else None, "slice": crit.slice,
                         "n": n, "n_unit": unit, "alpha": a, **assess(crit, n, a)})
    return {"family_size": m, "alpha": alpha, "power": POWER, "criteria": rows}
