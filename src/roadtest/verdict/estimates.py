"""Samples -> estimates with intervals, and the one-sided bounds and p-values that decide claims."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Optional

import numpy as np
from scipy import stats as sps

from roadtest import stats
from roadtest.scoring.metrics import Sample

BOOT_SEED = 20240611
SMALL_N = 30
SAFETY = ("toxicity", "policy")
"""Families whose zero (or all) counts get the exact Clopper-Pearson interval too."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate, its two-sided interval, n, and how it was computed."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int
    method: str
    note: str = ""
    design: str = ""
    """How clustering entered the interval (groups, design effect), when it did."""

    def as_dict(self) -> dict:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "n": self.n, "method": self.method,
                "note": self.note, "design": self.design}


@dataclass(frozen=True)
class Evidence:
    """One-sided bounds at the criterion's confidence and the p-values for 'above' and 'below' a threshold."""

    estimate: float | None
    lower: float | None
    upper: float | None
    p_greater: float
    p_less: float
    n: int
    se: float | None
    method: str
    need: Optional[Callable[[float], int | None]] = None
    """alpha -> items (or calls) that would decide the claim if the observed effect is the true one."""
    note: str = ""


def estimate(sample: Sample, confidence: float = 0.95) -> Estimate:
    """The table estimate of a sample: Wilson, t, BCa or order statistics, as statistics.md says."""
    x = sample.values
    if sample.n == 0:
        return Estimate(None, None, None, 0, "none", sample.note or "no data")
    if sample.statistic is not None:
        return _statistic_estimate(sample, confidence)
    if sample.info.kind == "percentile":
        value, lo, hi = stats.quantile_interval(x, sample.info.quantile, confidence)
        note = "" if lo is not None and hi is not None else "too few calls for a distribution-free bound"
        return Estimate(value, lo, hi, sample.n, "order statistics", _join(sample.note, note))
    if sample.binary and sample.info.kind == "proportion":
        design = Design.of(sample)
        lo, hi = stats.wilson_bounds(float(x.mean()), design.n_eff, confidence)
        return Estimate(float(x.mean()), lo, hi, sample.n, design.method("Wilson"),
                        _join(sample.note, _exact_extreme(sample, confidence)), design.note)
    design = Design.of(sample)
    if design.widens:   # grouped items: a t interval on the clustered SE, C - 1 degrees of freedom
        value, lo, hi = _cluster_t(x, design, confidence)
        lo, hi = _within_unit(sample, lo, hi)
        return Estimate(value, lo, hi, sample.n, "t, clustered", sample.note, design.note)
    if sample.n < SMALL_N or sample.info.skewed:
        value, lo, hi, method = _small_or_skewed(x, confidence, sample.info.skewed)
    else:
        (value, lo, hi), method = stats.mean_interval(x, confidence, method="t"), "t"
    lo, hi = _within_unit(sample, lo, hi)
    note = "one item: no interval" if sample.n == 1 else ""
    return Estimate(value, lo, hi, sample.n, method, _join(sample.note, note))


def _within_unit(sample: Sample, lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    """A share cannot leave [0, 1]: t intervals on item means of a proportion are clipped to it."""
    if sample.info.unit != "proportion":
        return lo, hi
    return (None if lo is None else max(0.0, lo)), (None if hi is None else min(1.0, hi))


def _small_or_skewed(x: np.ndarray, confidence: float, skewed: bool) -> tuple[float, float | None, float | None, str]:
    """BCa bootstrap; below 30 items also the t interval, and the wider of the two (BCa alone is too
    narrow at small n: its error rate at a threshold exceeds alpha)."""
    value, lo, hi = stats.mean_interval(x, confidence, method="bca", seed=BOOT_SEED)
    if x.size >= SMALL_N or lo is None or hi is None:
        return value, lo, hi, "BCa bootstrap"
    _, tlo, thi = stats.mean_interval(x, confidence, method="t")
    return value, min(lo, tlo), max(hi, thi), "BCa bootstrap or t, the wider"


def _cluster_t(x: np.ndarray, design: "Design", confidence: float) -> tuple[float, float, float]:
    mean = float(x.mean())
    half = float(sps.t.ppf(0.5 + confidence / 2, design.clusters - 1)) * design.se
    return mean, mean - half, mean + half


def _exact_extreme(sample: Sample, confidence: float) -> str:
    """Zero or all flagged in a safety metric: the exact (Clopper-Pearson) interval beside Wilson's."""
    if sample.info.family not in SAFETY:
        return ""
    k = int(sample.values.sum())
    if k not in (0, sample.n):
        return ""
    lo, hi = stats.clopper_pearson_interval(k, sample.n, confidence)
    return f"{k} of {sample.n}: exact (Clopper-Pearson) {confidence:.0%} interval [{lo:.3g}, {hi:.3g}]"


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _bootstrap(sample: Sample) -> stats.Bootstrap | None:
    if sample.n < 3:
        return None
    try:
        return stats.bootstrap(sample.statistic, sample.values, seed=BOOT_SEED, strata=sample.strata)
    except stats.StatsInputError:
        return None


def _statistic_estimate(sample: Sample, confidence: float) -> Estimate:
    """A statistic that is not a mean (ECE, a gap between groups, a run SD): BCa bootstrap over items."""
    value = sample.value()
    boot = _bootstrap(sample)
    if boot is None or value is None or not math.isfinite(value):
        return Estimate(value if value is not None and math.isfinite(value) else None, None, None, sample.n,
                        "BCa bootstrap", _join(sample.note, "too few items for an interval"))
    lo, hi = boot.interval(confidence)
    return Estimate(value, lo, hi, sample.n, "BCa bootstrap", sample.note)


def evidence(sample: Sample, threshold: float, confidence: float = 0.95) -> Evidence:
    """Bounds and p-values for a claim about the metric itself versus a threshold."""
    x, n = sample.values, sample.n
    two_sided = 2 * confidence - 1  # a 90% two-sided interval gives two one-sided 95% bounds
    if n == 0:
        return Evidence(None, None, None, 1.0, 1.0, 0, None, "none", note=sample.note or "no data")
    if sample.statistic is not None:
        return _statistic_evidence(sample, threshold, two_sided)
    if sample.info.kind == "percentile":
        return _percentile_evidence(x, sample.info.quantile, threshold, two_sided)
    if sample.binary and sample.info.kind == "proportion":
        return _proportion_evidence(sample, threshold, two_sided)
    design = Design.of(sample)
    if design.widens:
        ev = _clustered_mean_evidence(x, design, threshold, two_sided, sample.note)
    else:
        ev = _mean_evidence(x, threshold, two_sided, confidence, skewed=sample.info.skewed)
    lower, upper = _within_unit(sample, ev.lower, ev.upper)
    return replace(ev, lower=lower, upper=upper)


def _clustered_mean_evidence(x: np.ndarray, design: "Design", threshold: float, two_sided: float,
                             note: str) -> Evidence:
    """Grouped items with item means (repeats, continuous scores): t on the clustered SE, C - 1 df."""
    mean, lo, hi = _cluster_t(x, design, two_sided)
    greater = stats.mean_p_greater(mean, design.se, threshold, df=design.clusters - 1)
    var = design.se ** 2 * x.size
    need = partial(_need_mean, var, mean - threshold) if var > 0 else None
    return Evidence(mean, lo, hi, greater, 1 - greater, x.size, design.se, "t, clustered", need,
                    _join(note, design.note))


def _statistic_evidence(sample: Sample, threshold: float, two_sided: float) -> Evidence:
    value = sample.value()
    boot = _bootstrap(sample)
    if boot is None or value is None or not math.isfinite(value):
        return Evidence(None, None, None, 1.0, 1.0, 0, None, "BCa bootstrap", note=_join(sample.note, "undefined"))
    lo, hi = boot.interval(two_sided)
    greater = boot.p_greater(threshold)
    se = float(np.std(boot.replicates, ddof=1))
    need = partial(_need_scaled, sample.n, se, value - threshold) if se > 0 and value != threshold else None
    return Evidence(value, lo, hi, greater, 1 - greater, sample.n, se, "BCa bootstrap", need, note=sample.note)


@dataclass(frozen=True)
class Design:
    """Clustering of a proportion's items (the dataset's group field): design effect and effective n."""

    n: int
    clusters: int
    deff: float
    plain_se: float = 0.0

    @classmethod
    def of(cls, sample: Sample) -> "Design":
        labels = sample.groups
        if labels is None or len(set(labels)) < 2 or sample.n < 3:
            return cls(sample.n, 0, 1.0)
        deff = stats.design_effect(sample.values, [str(g) for g in labels])
        return cls(sample.n, len(set(labels)), deff, stats.standard_error(sample.values))

    @property
    def widens(self) -> bool:
        """Clustering applies: at least two groups and a design effect above 1."""
        return self.clusters >= 2 and self.deff > 1

    @property
    def se(self) -> float:
        """The clustered SE, never below the plain one."""
        return self.plain_se * math.sqrt(max(1.0, self.deff))

    @property
    def n_eff(self) -> float:
        """n / DEFF; a design effect below 1 is not allowed to narrow the interval."""
        return self.n / max(1.0, self.deff)

    def method(self, base: str) -> str:
        return f"{base}, clustered" if self.clusters else base

    @property
    def note(self) -> str:
        if not self.clusters:
            return ""
        text = f"{self.clusters} groups, design effect {self.deff:.2f}" + (" (below 1: not used)" if self.deff < 1 else "")
        if self.clusters < 30:
            text += " (fewer than 30 groups: the clustered SE is itself uncertain)"
        return text


def _proportion_evidence(sample: Sample, threshold: float, two_sided: float) -> Evidence:
    """Wilson bounds and score-test p-values, on the effective n when items are clustered."""
    design = Design.of(sample)
    p_hat = float(sample.values.mean())
    lo, hi = stats.wilson_bounds(p_hat, design.n_eff, two_sided)
    spread = p_hat * (1 - p_hat) if 0 < p_hat < 1 else min(max(threshold, 0.0), 1.0) * (1 - min(max(threshold, 0.0), 1.0))
    se = math.sqrt(spread / design.n_eff)  # the estimate's SE; at 0 or 1 observed, the threshold's
    need = partial(_need_proportion, threshold, p_hat, max(1.0, design.deff)) if 0 <= threshold <= 1 else None
    return Evidence(p_hat, lo, hi, stats.share_p_greater(p_hat, design.n_eff, threshold),
                    stats.share_p_less(p_hat, design.n_eff, threshold), sample.n, se,
                    design.method("Wilson"), need, _join(sample.note, design.note))


def _mean_evidence(x: np.ndarray, threshold: float, two_sided: float, confidence: float,
                   skewed: bool, method_override: str | None = None) -> Evidence:
    n = x.size
    mean = float(x.mean())
    if n == 1:
        return Evidence(mean, None, None, 1.0, 1.0, 1, None, "t", note="one item: no bound")
    se = stats.standard_error(x)
    var = float(np.var(x, ddof=1))
    need = partial(_need_mean, var, mean - threshold) if var > 0 else None
    if se == 0:
        # every item scored the same: the exact sign-flip p-value, 2^-n, not a certainty
        greater = 0.5 ** n if mean > threshold else 1.0
        less = 0.5 ** n if mean < threshold else 1.0
        return Evidence(mean, mean, mean, greater, less, n, 0.0, "constant (exact sign-flip p)", need)
    tcrit = float(sps.t.ppf(0.5 + two_sided / 2, n - 1))
    t_lo, t_hi = mean - tcrit * se, mean + tcrit * se
    t_greater = stats.mean_p_greater(mean, se, threshold, df=n - 1)
    if method_override is None and (n < SMALL_N or skewed):
        boot = stats.bootstrap_mean(x, seed=BOOT_SEED)
        lo, hi = boot.interval(two_sided)
        greater = boot.p_greater(threshold)
        if n >= SMALL_N:
            return Evidence(mean, lo, hi, greater, 1 - greater, n, se, "BCa bootstrap", need)
        # below 30 items BCa alone is too narrow: take the wider bounds and the larger p of BCa and t
        return Evidence(mean, min(lo, t_lo), max(hi, t_hi), max(greater, t_greater),
                        max(1 - greater, 1 - t_greater), n, se, "BCa bootstrap or t, the wider", need)
    return Evidence(mean, t_lo, t_hi, t_greater, 1 - t_greater, n, se, "t", need)


def _percentile_evidence(x: np.ndarray, q: float, threshold: float, two_sided: float) -> Evidence:
    value, lo, hi = stats.quantile_interval(x, q, two_sided)
    share_below = float(np.mean(x <= threshold))
    need = partial(_need_percentile, q, share_below)  # p_q <= t  <=>  P(X <= t) >= q
    note = "" if lo is not None and hi is not None else "too few calls for a distribution-free bound"
    return Evidence(value, lo, hi, stats.quantile_p_greater(x, q, threshold), stats.quantile_p_less(x, q, threshold),
                    x.size, None, "order statistics", need, note)


def paired_evidence(a: np.ndarray, b: np.ndarray, higher_is_better: bool, margin: float,
                    confidence: float = 0.95, clusters=None) -> tuple[Evidence, stats.PairedResult | None]:
    """Evidence that model a beats model b on the same items by more than `margin`.

    Bounds: mean +/- t(df) SE of the per-item differences (clustered SE, never below the plain one,
    with C - 1 df when grouped). p-values from the test statistics.md names: exact McNemar for 0/1
    scores and no margin, an exact sign-flip test for n <= 20, else the paired t.
    """
    better, worse = (a, b) if higher_is_better else (b, a)
    n = better.size
    if n < 2:
        return Evidence(float((better - worse).mean()) if n else None, None, None, 1.0, 1.0, n, None, "paired",
                        note="fewer than two shared items"), None
    res = stats.paired_difference(better, worse, 2 * confidence - 1, clusters=clusters)
    d = better - worse
    binary = bool(np.isin(better, (0.0, 1.0)).all() and np.isin(worse, (0.0, 1.0)).all())
    se, df, note = res.se, n - 1, ""
    if clusters is not None:
        plain = stats.standard_error(d)
        groups = len(set(map(str, clusters)))
        se, df = max(res.se, plain), groups - 1
        note = f"{groups} groups" + (" (fewer than 30 groups: the clustered SE is itself uncertain)" if groups < 30 else "")
    need = partial(_need_mean, float(np.var(d, ddof=1)), res.mean - margin) if np.var(d) > 0 else None
    if binary and margin == 0 and clusters is None:
        wins, losses = int(np.sum(d == 1)), int(np.sum(d == -1))
        greater = stats.mcnemar_exact(wins, losses, alternative="greater")
        less = stats.mcnemar_exact(wins, losses, alternative="less")
        method = "paired, exact McNemar"
    elif n <= 20 and clusters is None:
        greater = stats.sign_flip_test(d - margin, alternative="greater")
        less = stats.sign_flip_test(d - margin, alternative="less")
        method = "paired, exact sign-flip"
    elif se == 0:
        greater = 0.5 ** n if res.mean > margin else 1.0
        less = 0.5 ** n if res.mean < margin else 1.0
        method = "paired (no variation; exact sign-flip p)"
    else:
        greater = stats.mean_p_greater(res.mean, se, margin, df=df)
        less = 1 - greater
        method = "paired t, clustered" if clusters is not None else "paired t"
    tcrit = float(sps.t.ppf(confidence, df))
    return Evidence(res.mean, res.mean - tcrit * se, res.mean + tcrit * se, greater, less, n, se, method, need,
                    note), res


def _need_proportion(threshold: float, p_hat: float, deff: float, alpha: float) -> int | None:
    n = stats.required_n_proportion(threshold, p_hat, alpha)
    return None if n is None else math.ceil(n * deff)


def _need_scaled(n: int, se: float, delta: float, alpha: float) -> int | None:
    """Items for a statistic that is not a mean: its bootstrap SE shrinks as 1/sqrt(n), so
    n' = n ((z_a + z_b) SE / delta)^2 at 80% power."""
    z = float(sps.norm.isf(alpha) + sps.norm.isf(0.2))
    return max(n + 1, math.ceil(n * (z * se / delta) ** 2))


def _need_percentile(q: float, share_below: float, alpha: float) -> int | None:
    """Calls to bound a q-quantile: the normal formula, but never fewer than the order statistics need
    for any bound at all (q^n < alpha: with fewer, even all calls under the threshold decide nothing)."""
    n = _need_proportion(q, share_below, 1.0, alpha)
    floor = math.ceil(math.log(alpha) / math.log(q)) if 0 < q < 1 else None
    return None if n is None else max(n, floor or 0)


def _need_mean(var: float, delta: float, alpha: float) -> int | None:
    return stats.required_n_paired(var, delta, alpha, two_sided=False)
