"""Criteria x metrics -> verdicts, through `judge`, one family per (hypothesis, model).

`decision: all`: a hypothesis is SUPPORTED when every criterion is supported at its alpha (an
intersection-union test needs no adjustment) and REFUTED when a criterion is refuted after Holm's correction
over the hypothesis's criteria; `decision: any` is the mirror image. A model's verdicts therefore never depend
on which other models or runs are in the document. A model whose calls failed beyond `max_error_rate` is NOT
DECIDED (an outage is not evidence about the model), and so is every comparison against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from roadtest.archive.config import hypothesis_specs
from roadtest.spec import Criterion
from roadtest.spec.hypothesis import COMPARISONS
from roadtest.stats.rules import holm
from roadtest.verdict.data import RunData
from roadtest.verdict.judge import Judgement, alpha_of, judge

SUPPORTED, REFUTED, INCONCLUSIVE = "SUPPORTED", "REFUTED", "INCONCLUSIVE"
NOT_RUN, NOT_APPLICABLE, NOT_DECIDED = "NOT RUN", "NOT APPLICABLE", "NOT DECIDED"
FAILURE_METRICS = ("error_rate", "timeout_rate")
"""Criteria about failures themselves: decided even when the endpoint fails."""

CONVENTION = (
    "Each criterion is decided by one-sided bounds at its confidence (95% unless stated), from the rule that "
    "holds its error rate for that kind of metric (exact binomial and Clopper-Pearson for shares, the item as "
    "the unit for repeats and percentiles, the exact paired test for comparisons of 0/1 scores): SUPPORTED when "
    "the bound lies on the claimed side of the threshold, REFUTED when it lies wholly on the other side, "
    "INCONCLUSIVE otherwise. Each hypothesis is decided for each model on its own: with `decision: all` it is "
    "SUPPORTED when every criterion is (no adjustment is needed for that), and REFUTED when one criterion is "
    "refuted after Holm's correction over the hypothesis's criteria; `decision: any` is the mirror image. "
    "Other models and other runs in the document never change a model's verdict. For an open criterion, the "
    "fresh sample size is the number of new items that gives an 80% chance of a decision, at the alpha of the "
    "test that decides, if the true value is the one observed; adding items to this sample and testing again "
    "is not valid."
)


@dataclass(frozen=True)
class CriterionVerdict:
    """The decision on one criterion for one model, with the numbers behind it (from `judge`)."""

    index: int
    scenario: str
    metric: str
    direction: str
    threshold: float
    versus: str | None
    """The baseline model of a comparison (versus, no_worse_than, equivalent_to)."""
    slice: str | None
    confidence: float
    verdict: str
    load: str | None = None
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    n: int = 0
    unit: str = "items"
    method: str = ""
    p_supported: float | None = None
    p_refuted: float | None = None
    p_value: float | None = None
    """The p-value on the side the evidence points to (raw)."""
    p_adjusted: float | None = None
    """That side's p-value as the family uses it (Holm over the hypothesis's criteria, or unadjusted)."""
    mde: float | None = None
    n_needed: int | None = None
    """A fresh sample of this many units gives an 80% chance of deciding it (at the observed value)."""
    correlation: float | None = None
    se_unpaired: float | None = None
    robust_to_settings: bool = False
    variants: list = field(default_factory=list)
    """robust_to_settings: the comparison under every settings variant."""
    note: str = ""


def _counted(data: RunData, scenario: str, model: str):
    """The scenario x model rows an outage is measured on: a conversation the archive ends before it did (a
    stopped run: `incomplete`) was never sent, so it is neither a failure nor a success."""
    part = data.trials(scenario, model)
    return part[part["error"].fillna("") != "incomplete"] if "ended" in part else part


def _error_share(data: RunData, scenario: str, model: str) -> float:
    part = _counted(data, scenario, model)
    return float(part["error"].notna().mean()) if len(part) else 0.0


def failing(data: RunData, scenario: str, model: str) -> str:
    """Why this model's evidence on this scenario is an outage, or ''."""
    part = _counted(data, scenario, model)
    if part.empty:
        return ""
    share = _error_share(data, scenario, model)
    ceiling = float(data.config.get("workspace", {}).get("max_error_rate", 0.2))
    if share > ceiling:
        errors = part["error"].dropna().astype(str)
        customer = int(errors.str.startswith("simulator:").sum())
        if "ended" in part:
            own = len(errors) - customer
            parts = ([f"{model}'s endpoint failed in {own}"] if own else []) + (
                [f"the simulated customer's endpoint failed in {customer}"] if customer else [])
            return (f"{' and '.join(parts)} of {len(part)} conversations on {scenario} ({share:.0%}, above "
                    f"max_error_rate {ceiling:g}): an outage is not evidence about the model")
        return (f"{model}'s endpoint failed {len(errors)} of {len(part)} calls on {scenario} ({share:.0%}, above "
                f"max_error_rate {ceiling:g}): an outage is not evidence about the model")
    return ""


def _values(data: RunData, crit: Criterion, model: str, variant: str | None):
    sample = data.sample(crit.metric, crit.scenario, model, crit.slice, variant=variant)
    values, items, strata, clusters = sample.raw()
    return sample, values, items, strata, clusters


def judge_one(crit: Criterion, model: str, data: RunData, variant: str | None,
              power_alpha: float | None = None) -> tuple[Judgement, str]:
    """The criterion's judgement for one model (and the sample's note)."""
    sample, values, items, strata, clusters = _values(data, crit, model, variant)
    baseline = baseline_items = None
    if crit.direction in COMPARISONS:
        assert crit.baseline is not None  # a comparison always names the model it is made against
        other, b_values, b_items, _, _ = _values(data, crit, crit.baseline, variant)
        baseline, baseline_items = b_values, b_items
        note = "; ".join(x for x in (sample.note, other.note) if x)
    else:
        note = sample.note
    return judge(crit.metric, values, crit.claim, items=items, baseline=baseline, baseline_items=baseline_items,
                 strata=strata, clusters=clusters, confidence=crit.confidence, power_alpha=power_alpha), note


def judge_criterion(index: int, crit: Criterion, model: str, data: RunData) -> CriterionVerdict:
    base = CriterionVerdict(index, crit.scenario, crit.metric, crit.direction, crit.threshold, crit.baseline,
                            crit.slice, crit.confidence, NOT_RUN, crit.load.label if crit.load else None,
                            robust_to_settings=crit.robust_to_settings)
    if crit.baseline is not None and crit.baseline == model:
        return replace(base, verdict=NOT_APPLICABLE, note="the baseline of its own comparison")
    if not data.has_trials(crit.scenario, model):
        return replace(base, note="no trials for this model and scenario")
    if crit.baseline is not None and not data.has_trials(crit.scenario, crit.baseline):
        return replace(base, note=f"no trials for {crit.baseline}")
    if crit.metric not in FAILURE_METRICS:
        down = [m for m in (model, crit.baseline) if m is not None and failing(data, crit.scenario, m)]
        if down:
            return replace(base, verdict=NOT_DECIDED, note=failing(data, crit.scenario, down[0]))
    variant = f"load:{crit.load.label}" if crit.load else None
    j, note = judge_one(crit, model, data, variant)
    row = _row(base, j, note)
    if crit.robust_to_settings:
        row = _robust(row, crit, model, data, j)
    return row


def _row(base: CriterionVerdict, j: Judgement, note: str) -> CriterionVerdict:
    decided = j.method != "none"
    return replace(base, verdict=j.verdict if decided else INCONCLUSIVE, estimate=j.estimate, lower=j.lower,
                   upper=j.upper, n=j.n, unit=j.unit, method=j.method, p_supported=j.p_supported,
                   p_refuted=j.p_refuted, p_value=j.p_value, mde=j.mde,
                   n_needed=j.n_fresh if j.verdict == INCONCLUSIVE else None,
                   correlation=j.correlation, se_unpaired=j.se_unpaired,
                   note="; ".join(x for x in (note, j.reason) if x))


def _robust(row: CriterionVerdict, crit: Criterion, model: str, data: RunData, base_j: Judgement) -> CriterionVerdict:
    """Holds only if it holds under the original settings and every variant (intersection-union); fails when it
    fails under one of them after Holm over them."""
    spec = data.scenarios[crit.scenario]
    names = [v.name for v in spec.variants]
    if not names:
        return replace(row, note="; ".join(x for x in (row.note, "robust_to_settings: the scenario has no settings "
                                                                   "variants, so only its own settings count") if x))
    judged = [("original", base_j)] + [(n, judge_one(crit, model, data, f"setting:{n}")[0]) for n in names]
    alpha = alpha_of(crit.confidence)
    ps = [j.p_supported for _, j in judged]
    pr = holm([j.p_refuted for _, j in judged])
    variants = [{"variant": n, "verdict": j.verdict, "estimate": j.estimate, "lower": j.lower, "upper": j.upper,
                 "n": j.n, "p_supported": j.p_supported, "p_refuted": j.p_refuted} for n, j in judged]
    p_sup, p_ref = float(max(ps)), float(min(pr))
    verdict = SUPPORTED if p_sup < alpha else REFUTED if p_ref < alpha else INCONCLUSIVE
    held = sum(j.verdict == SUPPORTED for _, j in judged)
    note = f"robust_to_settings: supported under {held} of {len(judged)} settings (all must hold)"
    return replace(row, verdict=verdict, p_supported=p_sup, p_refuted=p_ref, p_value=min(p_sup, p_ref),
                   variants=variants, note="; ".join(x for x in (row.note, note) if x))


def apply_family(decision: str, rows: list[CriterionVerdict]) -> list[CriterionVerdict]:
    """One (hypothesis, model) family. all: SUPPORTED at each criterion's alpha, REFUTED after Holm over the
    criteria; any: SUPPORTED after Holm, REFUTED at each alpha."""
    live = [i for i, r in enumerate(rows) if r.verdict in (SUPPORTED, REFUTED, INCONCLUSIVE) and r.p_supported is not None]
    if not live:
        return rows
    adjusted_side = "p_refuted" if decision == "all" else "p_supported"
    adjusted = holm([getattr(rows[i], adjusted_side) for i in live])
    out = list(rows)
    for i, p_adj in zip(live, adjusted):
        r = rows[i]
        assert r.p_supported is not None and r.p_refuted is not None  # live; a judgement sets both together
        alpha = alpha_of(r.confidence)
        p_sup = float(p_adj) if adjusted_side == "p_supported" else r.p_supported
        p_ref = float(p_adj) if adjusted_side == "p_refuted" else r.p_refuted
        verdict = SUPPORTED if p_sup < alpha else REFUTED if p_ref < alpha else INCONCLUSIVE
        note = r.note
        if verdict == INCONCLUSIVE and r.verdict != INCONCLUSIVE:
            note = "; ".join(x for x in (note, f"its bound excludes the threshold, but not after Holm's correction "
                                               f"over the {len(live)} criteria of this hypothesis") if x)
        towards_support = r.p_supported <= r.p_refuted
        out[i] = replace(r, verdict=verdict, note=note,
                         p_adjusted=p_sup if towards_support else p_ref)
    return out


def _resize(rows: list[CriterionVerdict], hyp_crits: list[Criterion], decision: str, model: str,
            data: RunData) -> list[CriterionVerdict]:
    """Fresh-sample sizes at the alpha of the test that would decide: Holm's first step (alpha / m) on the
    adjusted side, alpha on the other."""
    m = sum(r.p_supported is not None and r.verdict in (SUPPORTED, REFUTED, INCONCLUSIVE) for r in rows)
    out = []
    for r, crit in zip(rows, hyp_crits):
        if r.verdict != INCONCLUSIVE or r.p_supported is None or m <= 1 or r.variants:
            out.append(r)
            continue
        assert r.p_refuted is not None  # a judgement sets it together with p_supported
        towards_support = r.p_supported <= r.p_refuted
        adjusted = (decision == "all") != towards_support
        if not adjusted:
            out.append(r)
            continue
        variant = f"load:{crit.load.label}" if crit.load else None
        j, _ = judge_one(crit, model, data, variant, power_alpha=alpha_of(crit.confidence) / m)
        out.append(replace(r, n_needed=j.n_fresh))
    return out


def combine(decision: str, verdicts: list[str]) -> str:
    """all: every criterion must hold; any: one is enough. NOT RUN / NOT APPLICABLE criteria do not count;
    one NOT DECIDED criterion (an endpoint that failed) leaves the hypothesis NOT DECIDED."""
    if NOT_DECIDED in verdicts:
        return NOT_DECIDED
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


def family_sentence(decision: str, m: int) -> str:
    if decision == "all":
        return (f"Decided for each model on its own: SUPPORTED when all {m} criteria are, each at its alpha "
                f"(intersection-union); REFUTED when one is, after Holm's correction over the {m}.")
    return (f"Decided for each model on its own: SUPPORTED when one of the {m} criteria is, after Holm's "
            f"correction over the {m}; REFUTED when all are, each at its alpha (intersection-union).")


def decide(data: RunData) -> dict[str, Any]:
    """verdicts.json: every hypothesis x model, every criterion, one family per (hypothesis, model)."""
    models = data.model_ids
    out = []
    for hyp in hypothesis_specs(data.config):
        per_model = {}
        for model in models:
            rows = [judge_criterion(i, crit, model, data) for i, crit in enumerate(hyp.criteria)]
            rows = _resize(apply_family(hyp.decision, rows), hyp.criteria, hyp.decision, model, data)
            outage = sorted({r.note for r in rows if r.verdict == NOT_DECIDED})
            per_model[model] = {"verdict": combine(hyp.decision, [c.verdict for c in rows]),
                                "criteria": [asdict(c) for c in rows], "not_decided": outage}
        out.append({"id": hyp.id, "title": hyp.title, "decision": hyp.decision, "gate": hyp.gate,
                    "family": family_sentence(hyp.decision, len(hyp.criteria)), "models": per_model})
    return {"alpha": 0.05, "correction": "per hypothesis and model: intersection-union and Holm",
            "convention": CONVENTION, "hypotheses": out}


def not_decided(verdicts: dict[str, Any]) -> list[str]:
    """Every (hypothesis, model) left NOT DECIDED by a failing endpoint, as one line each."""
    return [f"{h['id']} · {m}: {'; '.join(v.get('not_decided') or []) or 'an endpoint failed'}"
            for h in verdicts["hypotheses"] for m, v in h["models"].items() if v["verdict"] == NOT_DECIDED]
