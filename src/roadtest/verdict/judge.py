"""One door for every verdict: `judge(metric, values, claim, ...)`, a pure function of raw per-call values.

Every verdict in a report goes through it, and the simulations in the tests call it. The rules are those of
`roadtest.stats.rules` (shown by simulation to hold their error rate at the boundary, on both sides:
benchmarks/simulations/RESULTS.md):

- a 0/1 metric with one call per item: the exact binomial test and the Clopper-Pearson bound that inverts it;
  with repeats, or scores in [0, 1]: effective-n Clopper-Pearson (the item is the unit);
- a mean of a skewed metric (latency, tokens, cost): bootstrap-t for the lower bound, an upper bound only
  from the n where one was shown to hold, else INCONCLUSIVE with the reason;
- a percentile: the item-fraction rule (repeats of an item are not independent calls);
- clusters (`cluster:` in the dataset reference): no verdict below 10 clusters, effective-n CP on cluster
  means below 40, Hall's t on cluster means from 40;
- fairness_gap: square-and-add intervals on Clopper-Pearson limits for the pairwise group differences, the
  gap's bounds built from them (Bonferroni over the pairs for the lower bound);
- a comparison on the same items: the exact unconditional test ordered by Tango's score for 0/1 scores
  (any margin), else the sign-flip / paired t combined with Hall's skew-corrected t (for latency, tokens and
  cost at alpha / 2 per side, and only from 40 items).

Statistics without a simulated rule (ECE, run SD, ICC) are described, never decided.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence, cast

import numpy as np
import pandas as pd

from roadtest.spec.hypothesis import CLAIMS, COMPARISONS
from roadtest.spec.metrics import METRICS, MetricInfo
from roadtest.stats import rules as R
from roadtest.stats.rules.power import Side
from roadtest.verdict.choice import (
    FRESH_CAP, POWER, SEED, TABLE_CONFIDENCE, PairedRule, paired_rule, rule_of, signed_margin,
)

SUPPORTED, REFUTED, INCONCLUSIVE = "SUPPORTED", "REFUTED", "INCONCLUSIVE"
THRESHOLDS = tuple(c for c in CLAIMS if c not in COMPARISONS)


def alpha_of(confidence: float) -> float:
    """The one-sided alpha of a bound at `confidence` (rounded: 1 - 0.95 is not 0.05 in floating point)."""
    return round(1 - confidence, 12)


class JudgeInputError(ValueError):
    """A claim or values `judge` cannot decide (a wrong key, no baseline for a comparison, ...)."""


@dataclass(frozen=True)
class Judgement:
    """A verdict and the numbers behind it.

    `estimate`, `lower` and `upper` are of the quantity the claim is about: the metric itself for a threshold,
    the difference in the metric's better direction (positive = this model better) for a comparison. `lower`
    and `upper` are one-sided bounds at `confidence` (together a 2 * confidence - 1 interval): the interval
    that decided the verdict. `p_supported` is the p-value of the claim, `p_refuted` of its negation; each is
    below alpha exactly when the verdict says so. `n` counts the independent units (`unit`).
    `n_fresh` (INCONCLUSIVE verdicts only) is the size of a fresh sample, in `unit`, that gives an 80% chance of a
    decision at alpha `power_alpha` if the true value is the one observed, under the rule that decides (None when
    no such n exists); `mde` is the smallest distance from the threshold that the current n detects with 80% power.
    """

    verdict: str
    claim: str
    threshold: float
    estimate: float | None
    lower: float | None
    upper: float | None
    p_supported: float
    p_refuted: float
    n: int
    method: str
    confidence: float
    unit: str = "items"
    reason: str = ""
    mde: float | None = None
    n_fresh: int | None = None
    power_alpha: float | None = None
    correlation: float | None = None
    se_paired: float | None = None
    se_unpaired: float | None = None
    pairs: tuple = field(default=())
    """fairness_gap: the pairwise group differences with their simultaneous bounds."""

    @property
    def p_value(self) -> float:
        """The p-value on the side the evidence points to."""
        return min(self.p_supported, self.p_refuted)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pairs"] = [dict(p) for p in self.pairs]
        return out


def metric_info(metric: str | MetricInfo) -> MetricInfo:
    if isinstance(metric, MetricInfo):
        return metric
    if metric not in METRICS:
        raise JudgeInputError(f"unknown metric {metric!r}; see `roadtest check --metrics`")
    return METRICS.get(metric)


def parse_claim(claim: Mapping[str, Any]) -> tuple[str, float, str | None]:
    """(kind, threshold or margin, baseline model) of a claim as written in a hypothesis."""
    if not isinstance(claim, Mapping):
        raise JudgeInputError(f"a claim is a mapping such as {{'at_least': 0.9}}, got {claim!r}")
    given = [k for k in THRESHOLDS + COMPARISONS if claim.get(k) is not None]
    if len(given) != 1:
        raise JudgeInputError("a claim needs exactly one of at_least, at_most, versus, no_worse_than, "
                              f"equivalent_to (got {', '.join(given) or 'none'})")
    kind = given[0]
    value = claim[kind]
    if kind in THRESHOLDS:
        return kind, _finite(value, kind), None
    if not isinstance(value, Mapping):
        raise JudgeInputError(f"{kind} takes {{model: ..., {'by_at_least' if kind == 'versus' else 'margin'}: ...}}")
    if kind == "versus":
        margin = _finite(value.get("by_at_least", 0.0), "by_at_least")
        if margin < 0:
            raise JudgeInputError("versus: by_at_least must be >= 0 (use no_worse_than for a negative margin)")
    else:
        margin = _finite(value.get("margin"), "margin")
        if margin <= 0:
            raise JudgeInputError(f"{kind}: margin must be > 0")
    return kind, margin, value.get("model")


def _finite(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise JudgeInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise JudgeInputError(f"{name} must be a finite number, got {value!r}")
    return out


def judge(metric: str | MetricInfo, values: Sequence[float] | np.ndarray, claim: Mapping[str, Any], *,
          items: Sequence[Any] | None = None, baseline: Sequence[float] | np.ndarray | None = None,
          baseline_items: Sequence[Any] | None = None, strata: Sequence[Any] | None = None,
          clusters: Sequence[Any] | None = None, confidence: float = 0.95,
          power_alpha: float | None = None) -> Judgement:
    """Decide one claim about one metric from raw per-call values.

    values: one value per call; items: the item of each call (repeats share a label; default: every call its
    own item). baseline (with baseline_items, default items): the other model's per-call values on the same
    items, for versus / no_worse_than / equivalent_to. strata: the dataset's groups (fixed strata: slices and
    fairness_gap; they never widen an interval). clusters: real clusters (one label per call, constant within
    an item). claim: {"at_least": t}, {"at_most": t}, {"versus": {"model": B, "by_at_least": m}},
    {"no_worse_than": {"model": B, "margin": m}} or {"equivalent_to": {"model": B, "margin": m}}.
    confidence: of each one-sided bound (alpha = 1 - confidence). power_alpha: the alpha at which `n_fresh`
    is computed (the family's; default alpha).
    """
    info = metric_info(metric)
    if not 0.5 < confidence < 1:
        raise JudgeInputError(f"confidence must be between 0.5 and 1, got {confidence}")
    alpha = alpha_of(confidence)
    power_alpha = alpha if power_alpha is None else power_alpha
    kind, threshold, _ = parse_claim(claim)
    x = np.asarray(values, dtype=float).ravel()
    if x.size and not np.all(np.isfinite(x)):
        raise JudgeInputError("values must be finite numbers")
    if kind in COMPARISONS:
        if baseline is None:
            raise JudgeInputError(f"{kind} compares two models on the same items: give baseline=")
        return _compare(info, kind, threshold, x, items, np.asarray(baseline, dtype=float).ravel(),
                        baseline_items, clusters, confidence, power_alpha)
    if x.size == 0:
        return _undecided(kind, threshold, confidence, "no values")
    rule = rule_of(info, x)
    if rule == "described":
        return _undecided(kind, threshold, confidence,
                          f"{info.id} is described, not decided: no decision rule for it was shown by simulation "
                          "to hold its error rate", estimate=None, n=x.size)
    try:
        if rule == "fairness":
            if strata is None:
                raise JudgeInputError("fairness_gap needs the strata (the dataset's groups) of the values")
            gap = R.fairness_gap(x, list(map(str, strata)), items, alpha)
            bounds, pairs = gap.gap, tuple(asdict(p) for p in gap.pairs)
        else:
            bounds = R.one_sample(rule, x, items, clusters, strata, alpha, seed=SEED, q=info.quantile)
            pairs = ()
    except R.StatsInputError as exc:
        return _undecided(kind, threshold, confidence, str(exc), n=x.size)
    return _from_bounds(bounds, kind, threshold, confidence, rule, x, info, pairs,
                        lambda: _fresh_one(rule, bounds, kind, threshold, x, info, power_alpha), power_alpha, clusters)


def _undecided(kind: str, threshold: float, confidence: float, reason: str, estimate: float | None = None,
               n: int = 0) -> Judgement:
    return Judgement(INCONCLUSIVE, kind, threshold, estimate, None, None, 1.0, 1.0, int(n), "none", confidence,
                     reason=reason)


def _finite_or_none(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _from_bounds(b: R.Bounds, kind: str, threshold: float, confidence: float, rule: str, x: np.ndarray,
                 info: MetricInfo, pairs: tuple, fresh, power_alpha: float, clusters) -> Judgement:
    """`fresh` computes the fresh-sample size; only an open verdict needs one."""
    if kind == "at_least":
        p_sup, p_ref = b.p_at_least(threshold), b.p_at_most(threshold)
    else:
        p_sup, p_ref = b.p_at_most(threshold), b.p_at_least(threshold)
    alpha = alpha_of(confidence)
    verdict = SUPPORTED if p_sup < alpha else REFUTED if p_ref < alpha else INCONCLUSIVE
    unit = "clusters" if clusters is not None and "clusters" in b.details else "items"
    lower = _finite_or_none(b.lower)
    if lower is not None and b.domain[0] == 0.0:
        lower = max(lower, 0.0)   # a positive quantity (latency, tokens, cost, a share) is never bounded below 0
    return Judgement(verdict, kind, threshold, _finite_or_none(b.estimate), lower,
                     _finite_or_none(b.upper), float(p_sup), float(p_ref), int(b.n), b.method, confidence, unit,
                     b.reason, _mde_one(rule, b, kind, threshold, info, alpha),
                     fresh() if verdict == INCONCLUSIVE else None, power_alpha, pairs=pairs)


# ---------------------------------------------------------------------------------------------------------
# Comparisons on the same items
# ---------------------------------------------------------------------------------------------------------

def _compare(info: MetricInfo, kind: str, margin: float, a: np.ndarray, items, b: np.ndarray, items_b, clusters,
             confidence: float, power_alpha: float) -> Judgement:
    rule = paired_rule(info, np.concatenate([a, b]), clustered=clusters is not None)
    if rule is None:
        return _undecided(kind, margin, confidence, f"{info.id} has no value per item: it cannot be compared "
                                                    "item by item")
    if a.size == 0 or b.size == 0:
        return _undecided(kind, margin, confidence, "no shared items")
    higher = info.direction == "higher"
    ia = np.arange(a.size) if items is None else np.asarray(list(items), dtype=object)
    ib = ia if items_b is None else np.asarray(list(items_b), dtype=object)
    if items_b is None and b.size != a.size:
        raise JudgeInputError(f"values has {a.size} calls and baseline {b.size}: give baseline_items")
    shared = set(map(str, ia)) & set(map(str, ib))
    keep_a = np.array([str(i) in shared for i in ia])
    keep_b = np.array([str(i) in shared for i in ib])
    if not shared:
        return _undecided(kind, margin, confidence, "no shared items")
    a, ia, b, ib = a[keep_a], ia[keep_a], b[keep_b], ib[keep_b]
    cl = None if clusters is None else np.asarray(list(clusters), dtype=object)[keep_a]
    better, worse, ibt, iwt = (a, b, ia, ib) if higher else (b, a, ib, ia)
    cl_b = cl
    if cl is not None and not higher:  # clusters are labelled on A's calls: carry them over to B's items
        of_item = dict(zip(map(str, ia), cl))
        cl_b = np.array([of_item[str(i)] for i in ib], dtype=object)
    alpha = alpha_of(confidence)
    try:
        pb = R.paired(rule.kind, better, worse, [str(i) for i in ibt], None if cl_b is None else list(cl_b), 0.0,
                      alpha, items_b=[str(i) for i in iwt], seed=SEED)
    except R.StatsInputError as exc:
        return _undecided(kind, margin, confidence, str(exc), n=len(shared))
    d = pb.difference
    target = signed_margin(kind, margin)
    if target is not None:
        p_sup, p_ref = d.p_at_least(target), d.p_at_most(target)
        threshold = target
    else:  # two one-sided tests for 'within the margin'; 'outside' needs one side at alpha / 2
        p_sup = max(d.p_at_least(-margin), d.p_at_most(margin))
        p_ref = min(1.0, 2 * min(d.p_at_most(-margin), d.p_at_least(margin)))
        threshold = margin
    verdict = SUPPORTED if p_sup < alpha else REFUTED if p_ref < alpha else INCONCLUSIVE
    reason = pb.reason
    if kind == "equivalent_to":
        reason = "; ".join(r for r in (reason, "shown outside the margin needs one side at alpha / 2") if r)
    fresh = _fresh_paired(rule, better, worse, ibt, iwt, target, pb, power_alpha) if verdict == INCONCLUSIVE else None
    return Judgement(verdict, kind, threshold, _finite_or_none(d.estimate), _finite_or_none(d.lower),
                     _finite_or_none(d.upper), float(p_sup), float(p_ref), int(d.n), pb.method, confidence,
                     rule.unit, reason, None, fresh, power_alpha,
                     pb.correlation, _finite_or_none(pb.se_paired), _finite_or_none(pb.se_unpaired))


# ---------------------------------------------------------------------------------------------------------
# Power: a fresh sample, for the test that decides
# ---------------------------------------------------------------------------------------------------------

def _stable(r: R.RequiredN | None) -> int | None:
    return None if r is None or r.stable is None else int(r.stable)


def _fresh_one(rule: str, b: R.Bounds, kind: str, t: float, x: np.ndarray, info: MetricInfo,
               alpha: float) -> int | None:
    """Units of a fresh sample for an 80% chance of deciding, if the observed value is the true one."""
    est = b.estimate
    try:
        if rule in ("binary", "bounded"):
            if not 0 < t < 1 or not 0 <= est <= 1 or est == t or _approx_n(t, est, alpha) > FRESH_CAP:
                return None
            per_unit = max(1.0, float(b.details.get("n_eff", b.n)) / max(b.n, 1))
            if "clusters" in b.details:
                return _stable(R.required_clusters(t, est, per_unit, POWER, alpha))
            return _stable(R.required_n_bounded_mean(t, est, per_unit, POWER, alpha))
        if rule == "percentile":
            q = info.quantile
            assert q is not None  # every percentile metric of the catalogue names its quantile
            share = float(np.mean(x <= t))
            if share in (0.0, 1.0) or share == q:
                return None
            return _stable(R.required_n_percentile(q, share, POWER, alpha))
        if rule in ("skewed", "symmetric"):
            sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
            if sd <= 0 or est == t:
                return None
            if rule == "skewed" and est < t:  # an upper bound decides: gated by the SD of log values
                sd_log = float(b.details.get("sd_log", math.inf))
                return _stable(R.required_n_skewed_mean(abs(est - t), sd, sd_log, POWER, alpha))
            return _stable(R.required_n_mean_t(abs(est - t), sd, POWER, alpha))
    except (R.StatsInputError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return None


def _approx_n(t: float, p: float, alpha: float) -> float:
    """The normal-approximation n of a one-sample test of a share (a cheap guard before the exact search)."""
    from scipy.stats import norm

    z = norm.isf(alpha) * math.sqrt(t * (1 - t)) + norm.isf(1 - POWER) * math.sqrt(max(p * (1 - p), 1e-12))
    return (z / (p - t)) ** 2


def _mde_one(rule: str, b: R.Bounds, kind: str, t: float, info: MetricInfo, alpha: float) -> float | None:
    """Smallest distance from the threshold the current n detects with 80% power (one call per item)."""
    try:
        if rule == "binary" and 0 < t < 1 and "clusters" not in b.details:
            v = R.mde_exact_binomial(int(b.n), t, POWER, alpha, cast(Side, kind))  # a one-sample claim's kind
            return None if math.isnan(v) else float(v)
    except (R.StatsInputError, ValueError):
        return None
    return None


def _fresh_paired(rule: PairedRule, better: np.ndarray, worse: np.ndarray, ib, iw, target: float | None,
                  pb: R.PairedBounds, alpha: float) -> int | None:
    """Units (items, or clusters when clusters decide) of a fresh paired sample for an 80% chance of supporting
    the claim at the observed effect, under the rule that decides it: at its share of alpha and never below
    the fewest units it decides from."""
    est = pb.difference.estimate
    if target is None or est is None or not math.isfinite(est) or est <= target:
        return None   # equivalence: no exact power computed; or the evidence points the other way
    alpha = rule.alpha(alpha)
    try:
        if rule.clustered:   # the continuous rule on cluster-mean pseudo-values: SD = SE x sqrt(C)
            sd = float(pb.se_paired) * math.sqrt(pb.n)
            return _stable(R.required_n_mean_t(est - target, sd, POWER, alpha, min_n=rule.min_units)) \
                if math.isfinite(sd) and sd > 0 else None
        ya, yb = _item_means(better, ib), _item_means(worse, iw)
        keys = sorted(set(ya) & set(yb))
        a, b = np.array([ya[k] for k in keys]), np.array([yb[k] for k in keys])
        if rule.exact_binary:
            # one random call per item and model decides: an item right a share a_i of A's calls is a 1 of A
            # with probability a_i, so the table's cells are expected at mean(a (1 - b)) and mean((1 - a) b)
            # (with one call per item, the discordant counts themselves)
            p10, p01 = float(np.mean(a * (1 - b))), float(np.mean((1 - a) * b))
            return _stable(R.required_n_paired_binary(p10, p01, target, POWER, alpha))
        sd = float(np.std(a - b, ddof=1)) if len(keys) > 1 else 0.0
        return _stable(R.required_n_mean_t(est - target, sd, POWER, alpha, min_n=rule.min_units)) if sd > 0 else None
    except (R.StatsInputError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _item_means(x: np.ndarray, items) -> dict[str, float]:
    """Each item's mean over its calls (repeats averaged: the item is the unit)."""
    return cast(dict[str, float], pd.Series(x).groupby(np.asarray([str(i) for i in items])).mean().to_dict())


# ---------------------------------------------------------------------------------------------------------
# The interval of a metric table: the same rules, two-sided
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """A metric's estimate with an interval from the same rules that decide (each end a one-sided bound at
    (1 + confidence) / 2: at the default 90%, the one-sided 95% bounds of a verdict), or a descriptive
    bootstrap interval for statistics no rule decides."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int
    method: str
    note: str = ""


def interval(metric: str | MetricInfo, values: Sequence[float] | np.ndarray, *, items=None, strata=None, clusters=None,
             confidence: float = TABLE_CONFIDENCE) -> Interval:
    """The table interval of a metric from raw per-call values (None ends where no bound exists). The default
    90% interval is the one-sided 95% lower and upper bounds that decide claims: one quantity, one interval."""
    info = metric_info(metric)
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        return Interval(None, None, None, 0, "none", "no data")
    alpha = round(alpha_of(confidence) / 2, 12)
    rule = rule_of(info, x)
    try:
        if rule == "fairness":
            b = R.fairness_gap(x, list(map(str, strata)), items, alpha).gap
        elif rule == "described":
            return Interval(None, None, None, x.size, "described")
        else:
            b = R.one_sample(rule, x, items, clusters, strata, alpha, seed=SEED, q=info.quantile)
    except R.StatsInputError as exc:
        return Interval(None, None, None, int(x.size), "none", str(exc))
    lo, hi = _finite_or_none(b.lower), _finite_or_none(b.upper)
    if b.domain[0] == 0.0 and lo is not None:
        lo = max(lo, 0.0)
    return Interval(_finite_or_none(b.estimate), lo, hi, int(b.n), b.method, b.reason)
