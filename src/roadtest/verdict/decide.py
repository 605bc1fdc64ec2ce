"""Criteria x metrics -> verdicts: one-sided bounds, Holm over the whole report, combined per hypothesis."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Callable


import pandas as pd

from roadtest import stats
from roadtest.archive.config import hypothesis_specs
from roadtest.spec import Criterion
from roadtest.verdict.data import RunData
from roadtest.verdict.estimates import Evidence, evidence, paired_evidence

SUPPORTED, REFUTED, INCONCLUSIVE = "SUPPORTED", "REFUTED", "INCONCLUSIVE"
NOT_RUN, NOT_APPLICABLE = "NOT RUN", "NOT APPLICABLE"

CONVENTION = (
    "Each criterion is decided by one-sided bounds at its confidence (95% unless stated): "
    "SUPPORTED when the whole bound lies on the claimed side of the threshold, REFUTED when it lies "
    "wholly on the other side, INCONCLUSIVE otherwise. All verdicts in this document form one family: "
    "a criterion is SUPPORTED or REFUTED only if its one-sided p-value also survives Holm's correction. "
    "Items are the unit: repeats are averaged per item first. For an INCONCLUSIVE criterion, the detectable "
    "effect is at 80% power and alpha 0.05 at the current n; the n that would decide it assumes the observed "
    "effect is the true one and tests at the criterion's own Holm step (alpha divided by the verdicts still "
    "in play), so it is larger than a single test would need."
)


@dataclass(frozen=True)
class CriterionVerdict:
    """The decision on one criterion for one model, with the numbers behind it."""

    index: int
    scenario: str
    metric: str
    direction: str
    threshold: float
    versus: str | None
    slice: str | None
    confidence: float
    verdict: str
    load: str | None = None
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    n: int = 0
    method: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    mde: float | None = None
    n_needed: int | None = None
    correlation: float | None = None
    se_unpaired: float | None = None
    p_mcnemar: float | None = None
    """versus on a 0/1 metric: exact McNemar p-value of 'no difference' (two-sided)."""
    note: str = ""


def _provisional(crit: Criterion, ev: Evidence) -> tuple[str, float]:
    """Verdict from the bounds alone, and the one-sided p-value on the side the evidence points to."""
    claim_above = crit.direction in ("at_least", "versus")
    p_support = ev.p_greater if claim_above else ev.p_less
    p_refute = ev.p_less if claim_above else ev.p_greater
    t = crit.threshold
    if ev.lower is not None and ev.upper is not None:
        if (claim_above and ev.lower > t) or (not claim_above and ev.upper < t):
            return SUPPORTED, p_support
        if (claim_above and ev.upper < t) or (not claim_above and ev.lower > t):
            return REFUTED, p_refute
    return INCONCLUSIVE, min(p_support, p_refute)


@dataclass(frozen=True)
class Judged:
    """A provisional verdict and how to size the study that would decide it."""

    row: CriterionVerdict
    need: Callable[[float], int | None] | None = None


def judge_criterion(index: int, crit: Criterion, model: str, data: RunData) -> Judged:
    base = CriterionVerdict(index, crit.scenario, crit.metric, crit.direction, crit.threshold,
                            crit.versus.model if crit.versus else None, crit.slice, crit.confidence, NOT_RUN,
                            crit.load.label if crit.load else None)
    if crit.versus is not None and crit.versus.model == model:
        return Judged(replace(base, verdict=NOT_APPLICABLE, note="the baseline of its own comparison"))
    if not data.has_trials(crit.scenario, model):
        return Judged(replace(base, note="no trials for this model and scenario"))
    variant = f"load:{crit.load.label}" if crit.load else None
    sample = data.sample(crit.metric, crit.scenario, model, crit.slice, variant=variant)
    res = None
    if crit.versus is None:
        ev = evidence(sample, crit.threshold, crit.confidence)
    else:
        if not data.has_trials(crit.scenario, crit.versus.model):
            return Judged(replace(base, note=f"no trials for {crit.versus.model}"))
        theirs = data.sample(crit.metric, crit.scenario, crit.versus.model, crit.slice, variant=variant)
        joined = pd.concat([sample.by_item().rename("a"), theirs.by_item().rename("b")], axis=1, join="inner")
        clusters = None
        if sample.groups is not None:
            groups = dict(zip(sample.items or (), sample.groups))
            labels = [groups[i] for i in joined.index]
            clusters = labels if len(set(labels)) >= 2 else None
        a, b = joined["a"].to_numpy(), joined["b"].to_numpy()
        ev, res = paired_evidence(a, b, sample.info.direction == "higher", crit.threshold, crit.confidence, clusters)
        base = replace(base, p_mcnemar=_mcnemar(a, b))
    if ev.n == 0:
        return Judged(replace(base, note=ev.note or "no values"))
    verdict, p = _provisional(crit, ev)
    return Judged(replace(
        base, verdict=verdict, estimate=ev.estimate, lower=ev.lower, upper=ev.upper, n=ev.n, method=ev.method,
        p_value=p, mde=stats.minimum_detectable_effect(ev.se, 1 - crit.confidence) if ev.se is not None else None,
        correlation=res.correlation if res else None, se_unpaired=res.se_unpaired if res else None, note=ev.note,
    ), ev.need)


def _mcnemar(a, b) -> float | None:
    binary = all(set(map(float, x)) <= {0.0, 1.0} for x in (a, b))
    if not binary or len(a) == 0:
        return None
    return stats.mcnemar_exact(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()))


def apply_holm(judged: list[Judged]) -> list[CriterionVerdict]:
    """One family: adjust every p-value together; a verdict that does not survive is INCONCLUSIVE.

    An INCONCLUSIVE verdict gets the n that would decide it at its own Holm step, alpha / (m - rank).
    """
    rows = [j.row for j in judged]
    tested = [i for i, r in enumerate(rows) if r.p_value is not None]
    if not tested:
        return rows
    adjusted = stats.holm([rows[i].p_value for i in tested])
    order = sorted(range(len(tested)), key=lambda k: rows[tested[k]].p_value)
    step = {tested[k]: len(tested) - rank for rank, k in enumerate(order)}
    for i, p_adj in zip(tested, adjusted):
        row = replace(rows[i], p_adjusted=float(p_adj))
        alpha = 1 - row.confidence
        if row.verdict in (SUPPORTED, REFUTED) and not p_adj < alpha:
            row = replace(row, verdict=INCONCLUSIVE,
                          note=(row.note + "; " if row.note else "") + "bounds decide it, but not after Holm's correction")
        if row.verdict == INCONCLUSIVE and judged[i].need is not None:
            row = replace(row, n_needed=judged[i].need(alpha / step[i]))
        rows[i] = row
    return rows


def combine(decision: str, verdicts: list[str]) -> str:
    """all: every criterion must hold; any: one is enough. NOT RUN / NOT APPLICABLE criteria do not count."""
    live = [v for v in verdicts if v not in (NOT_RUN, NOT_APPLICABLE)]
    if not live:
        return NOT_RUN if NOT_RUN in verdicts else NOT_APPLICABLE
    if decision == "all":
        if REFUTED in live:
            return REFUTED
        if all(v == SUPPORTED for v in live) and NOT_RUN not in verdicts:
            return SUPPORTED
        return INCONCLUSIVE
    if SUPPORTED in live:
        return SUPPORTED
    if all(v == REFUTED for v in live) and NOT_RUN not in verdicts:
        return REFUTED
    return INCONCLUSIVE


def decide(data: RunData) -> dict[str, Any]:
    """verdicts.json: every hypothesis x model, every criterion, Holm over all of them."""
    models = data.model_ids
    hypotheses = hypothesis_specs(data.config)
    keys, judged = [], []
    for hyp in hypotheses:
        for model in models:
            for i, crit in enumerate(hyp.criteria):
                keys.append((hyp.id, model))
                judged.append(judge_criterion(i, crit, model, data))
    rows = apply_holm(judged)
    out = []
    for hyp in hypotheses:
        per_model = {}
        for model in models:
            crits = [r for k, r in zip(keys, rows) if k == (hyp.id, model)]
            per_model[model] = {"verdict": combine(hyp.decision, [c.verdict for c in crits]),
                                "criteria": [asdict(c) for c in crits]}
        out.append({"id": hyp.id, "title": hyp.title, "decision": hyp.decision, "gate": hyp.gate,
                    "models": per_model})
    return {"alpha": 0.05, "correction": "holm", "family_size": sum(r.p_value is not None for r in rows),
            "convention": CONVENTION, "hypotheses": out}
