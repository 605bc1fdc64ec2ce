"""Samples -> estimates with intervals, and the one-sided bounds and p-values that decide claims."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numpy as np
from scipy import stats as sps

from roadtest import stats
from roadtest.scoring.metrics import Sample

BOOT_SEED = 20240611
SMALL_N = 30


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
        return Estimate(float(x.mean()), lo, hi, sample.n, design.method("Wilson"), sample.note, design.note)
    method = "bca" if (sample.n < SMALL_N or sample.info.skewed) else "t"
    value, lo, hi = stats.mean_interval(x, confidence, method=method, seed=BOOT_SEED)
    note = "one item: no interval" if sample.n == 1 else ""
    return Estimate(value, lo, hi, sample.n, "BCa bootstrap" if method == "bca" else "t", _join(sample.note, note))


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
    return _mean_evidence(x, threshold, two_sided, confidence, skewed=sample.info.skewed)


def _statistic_evidence(sample: Sample, threshold: float, two_sided: float) -> Evidence:
    value = sample.value()
    boot = _bootstrap(sample)
    if boot is None or value is None or not math.isfinite(value):
        return Evidence(None, None, None, 1.0, 1.0, 0, None, "BCa bootstrap", note=_join(sample.note, "undefined"))
    lo, hi = boot.interval(two_sided)
    greater = boot.p_greater(threshold)
    return Evidence(value, lo, hi, greater, 1 - greater, sample.n, float(np.std(boot.replicates, ddof=1)),
                    "BCa bootstrap", note=sample.note)


@dataclass(frozen=True)
class Design:
    """Clustering of a proportion's items (the dataset's group field): design effect and effective n."""

    n: int
    clusters: int
    deff: float

    @classmethod
    def of(cls, sample: Sample) -> "Design":
        labels = sample.groups
        if labels is None or len(set(labels)) < 2 or sample.n < 3:
            return cls(sample.n, 0, 1.0)
        deff = stats.design_effect(sample.values, [str(g) for g in labels])
        return cls(sample.n, len(set(labels)), deff)

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
        text = f"{self.clusters} groups, design effect {self.deff:.2f}"
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
        greater = 0.0 if mean > threshold else 1.0
        less = 0.0 if mean < threshold else 1.0
        return Evidence(mean, mean, mean, greater, less, n, 0.0, "constant", need)
    if method_override is None and (n < SMALL_N or skewed):
        boot = stats.bootstrap_mean(x, seed=BOOT_SEED)
        lo, hi = boot.interval(two_sided)
        greater = boot.p_greater(threshold)
        return Evidence(mean, lo, hi, greater, 1 - greater, n, se, "BCa bootstrap", need)
    tcrit = float(sps.t.ppf(0.5 + two_sided / 2, n - 1))
    greater = stats.mean_p_greater(mean, se, threshold, df=n - 1)
    return Evidence(mean, mean - tcrit * se, mean + tcrit * se, greater, 1 - greater, n, se, "t", need)


def _percentile_evidence(x: np.ndarray, q: float, threshold: float, two_sided: float) -> Evidence:
    value, lo, hi = stats.quantile_interval(x, q, two_sided)
    share_below = float(np.mean(x <= threshold))
    need = partial(_need_proportion, q, share_below, 1.0)  # p_q <= t  <=>  P(X <= t) >= q
    note = "" if lo is not None and hi is not None else "too few calls for a distribution-free bound"
    return Evidence(value, lo, hi, stats.quantile_p_greater(x, q, threshold), stats.quantile_p_less(x, q, threshold),
                    x.size, None, "order statistics", need, note)


def paired_evidence(a: np.ndarray, b: np.ndarray, higher_is_better: bool, margin: float,
                    confidence: float = 0.95, clusters=None) -> tuple[Evidence, stats.PairedResult | None]:
    """Evidence that model a beats model b on the same items by more than `margin` (mean +/- z SE)."""
    better, worse = (a, b) if higher_is_better else (b, a)
    n = better.size
    if n < 2:
        return Evidence(float((better - worse).mean()) if n else None, None, None, 1.0, 1.0, n, None, "paired",
                        note="fewer than two shared items"), None
    res = stats.paired_difference(better, worse, 2 * confidence - 1, clusters=clusters)
    if res.se == 0:
        greater = 0.0 if res.mean > margin else 1.0
        return Evidence(res.mean, res.mean, res.mean, greater, 1.0 - greater if res.mean != margin else 1.0, n, 0.0,
                        "paired (no variation)"), res
    greater = stats.mean_p_greater(res.mean, res.se, margin)
    need = partial(_need_mean, res.var_d, res.mean - margin)
    method = "paired, clustered" if clusters is not None else "paired"
    return Evidence(res.mean, res.lo, res.hi, greater, 1 - greater, n, res.se, method, need), res


def _need_proportion(threshold: float, p_hat: float, deff: float, alpha: float) -> int | None:
    n = stats.required_n_proportion(threshold, p_hat, alpha)
    return None if n is None else math.ceil(n * deff)


def _need_mean(var: float, delta: float, alpha: float) -> int | None:
    return stats.required_n_paired(var, delta, alpha, two_sided=False)
