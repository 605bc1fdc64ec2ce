"""Samples -> the estimates of the metric tables, with intervals from the same rules that decide verdicts.

A table interval is 90%: its two ends are the one-sided 95% bounds of the rule `judge` uses for that metric
(exact Clopper-Pearson for shares, the item as the unit, ...), the same bounds that decide a claim about it. Statistics no rule decides (ECE, run SD,
ICC) get a BCa bootstrap interval, labelled descriptive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roadtest import stats
from roadtest.scoring.metrics import Sample
from roadtest.spec.metrics import DESCRIBED_ONLY
from roadtest.verdict.choice import SEED, TABLE_CONFIDENCE
from roadtest.verdict.judge import interval

DESCRIPTIVE_B = 2_000
"""Bootstrap replicates for a described statistic (no verdict rests on it)."""


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
    """How clusters entered the interval, when they did."""

    def as_dict(self) -> dict:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "n": self.n, "method": self.method,
                "note": self.note, "design": self.design}


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def estimate(sample: Sample, confidence: float = TABLE_CONFIDENCE) -> Estimate:
    """The table estimate of a sample."""
    if sample.n == 0:
        return Estimate(None, None, None, 0, "none", sample.note or "no data")
    if sample.info.id in DESCRIBED_ONLY or (sample.statistic is not None and sample.calls is None):
        return _described(sample, confidence)
    values, items, strata, clusters = sample.raw()
    iv = interval(sample.info, values, items=items, strata=strata, clusters=clusters, confidence=confidence)
    design = ""
    if clusters is not None and any(c is not None for c in clusters):
        design = f"{len(set(clusters))} clusters: the cluster is the unit"
    value = sample.value() if sample.statistic is not None else iv.value
    if sample.info.kind != "percentile" and sample.statistic is None and sample.n:
        value = float(sample.values.mean())  # the mean of item means: repeats averaged per item first
    return Estimate(value, iv.lo, iv.hi, sample.n, iv.method, _join(sample.note, iv.note), design)


def _described(sample: Sample, confidence: float) -> Estimate:
    """A statistic that is not decided (ECE, run SD, ICC): a BCa bootstrap over items, descriptive only."""
    value = sample.value()
    if value is None or not math.isfinite(value) or sample.n < 3:
        return Estimate(value if value is not None and math.isfinite(value) else None, None, None, sample.n,
                        "BCa bootstrap (descriptive)", _join(sample.note, "too few items for an interval"))
    try:
        boot = stats.bootstrap(sample.statistic, sample.values, seed=SEED, B=DESCRIPTIVE_B,
                               strata=sample.strata)
    except stats.StatsInputError:
        return Estimate(value, None, None, sample.n, "BCa bootstrap (descriptive)",
                        _join(sample.note, "too few items for an interval"))
    lo, hi = boot.interval(confidence)
    return Estimate(value, lo, hi, sample.n, "BCa bootstrap (descriptive)",
                    _join(sample.note, "described, not decided: no decision rule for it was shown to hold"))
