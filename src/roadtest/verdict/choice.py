"""Which rule decides: the one home for the choice every verdict, interval, plan and power figure shares.

- `rule_of`: which one-sample rule a metric's values take (binary, bounded, skewed, percentile, symmetric),
  or that the metric is a statistic (fairness_gap's own rule, or described and never decided);
- `paired_rule`: which paired rule a comparison of two models on the same items gets, with the fewest units
  it decides from and the share of alpha it spends per side (`roadtest.stats.rules.paired` has the rules);
- `signed_margin`: the threshold on the better-direction difference that a comparative claim tests;
- the constants: the seed of every resampling, the power the advice is given at, the confidence of a table
  interval.

`judge` decides with these; `plan` (feasibility) and the fresh-sample advice (`n_fresh`) predict with the
same, so a plan never calls decidable what the rule that decides would leave INCONCLUSIVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from roadtest.spec.metrics import DESCRIBED_ONLY, MetricInfo
from roadtest.stats.rules import MIN_CLUSTERS, MIN_PAIRED_N, SKEWED_PAIRED_MIN_N
from roadtest.stats.rules.paired import PairedKind

SEED = 20240611
"""The seed of every resampling a verdict, a table interval or a ranking uses (recorded in metrics.json)."""
POWER = 0.8
"""The power at which `n_fresh`, `mde` and `plan`'s detectable effects are given."""
FRESH_CAP = 5_000
"""Fresh samples beyond this many items are not searched for (the answer would be 'more items than you have')."""
TABLE_CONFIDENCE = 0.90
"""A metric table's interval: the two one-sided 95% bounds that decide claims (metrics.json `confidence`)."""

Rule = Literal["binary", "bounded", "skewed", "percentile", "symmetric", "fairness", "described"]


class NoRuleError(ValueError):
    """A statistic in the metric catalogue with no decision rule and not listed as described-only."""


def rule_of(info: MetricInfo, values: np.ndarray | None = None) -> Rule:
    """Which rule a metric's values take. values None (at plan time): a 0/1 metric (kind proportion) is taken
    to be binary, a mean in [0, 1] bounded; with values, binary only when every value is 0 or 1."""
    if info.kind == "percentile":
        return "percentile"
    if info.id in DESCRIBED_ONLY:
        return "described"
    if info.kind == "statistic":
        if info.id == "fairness_gap":
            return "fairness"
        raise NoRuleError(f"{info.id} is a statistic with no decision rule: list it in "
                          "roadtest.spec.metrics.DESCRIBED_ONLY or give it one")
    if info.skewed:
        return "skewed"
    if info.unit == "proportion" or info.kind == "proportion":
        if values is None:
            return "binary" if info.kind == "proportion" else "bounded"
        return "binary" if values.size and np.all((values == 0) | (values == 1)) else "bounded"
    return "symmetric"


@dataclass(frozen=True)
class PairedRule:
    """The rule that decides a comparison of two models on the same items (`roadtest.stats.rules.paired`).

    kind: what `paired()` is called with. clustered: with clusters every kind takes the continuous rule on
    cluster-mean differences, counted in clusters. min_units: below it the rule gives no verdict (or, for 0/1
    scores, cannot reach p < 0.05 even with every item on one side). alpha_share: the part of alpha each side
    is tested at (a skewed metric's means: alpha / 2 per side)."""

    kind: PairedKind
    clustered: bool
    min_units: int
    alpha_share: float

    @property
    def unit(self) -> str:
        """What n counts."""
        return "clusters" if self.clustered else "items"

    @property
    def exact_binary(self) -> bool:
        """Decided by the exact 0/1 test (Tango-ordered) on a 2 x 2 table of items."""
        return self.kind == "binary" and not self.clustered

    def alpha(self, alpha: float) -> float:
        """The alpha each side is tested at, for a decision at `alpha`."""
        return round(alpha * self.alpha_share, 12)

    def floor(self) -> str:
        """Why fewer than min_units cannot decide, in words (to follow 'needs ≥ min_units unit')."""
        if self.clustered:
            return "no clustered verdict is given below that"
        if self.kind == "skewed":
            return ("a comparison of means of a skewed metric was shown to hold its error rate only from there; "
                    "a percentile claim on each model is distribution-free")
        return "below that no paired test reaches p < 0.05, whatever the data"


def paired_rule(info: MetricInfo, values: np.ndarray | None = None, clustered: bool = False) -> PairedRule | None:
    """The paired rule for a comparison on this metric (values: both models' per-call values, None at plan
    time), or None when the metric has no value per item (a percentile, a statistic) and cannot be compared
    item by item."""
    if not info.per_item or info.kind in ("percentile", "statistic"):
        return None
    rule = rule_of(info, values)
    kind: PairedKind = rule if rule in ("binary", "bounded", "skewed") else "symmetric"
    if clustered:
        return PairedRule(kind, True, MIN_CLUSTERS, 1.0)
    if kind == "skewed":
        return PairedRule(kind, False, SKEWED_PAIRED_MIN_N, 0.5)
    return PairedRule(kind, False, MIN_PAIRED_N, 1.0)


def signed_margin(direction: str, margin: float) -> float | None:
    """The threshold a one-sided comparative claim puts on the difference in the metric's better direction:
    `versus` by m -> m, `no_worse_than` m -> -m; None for `equivalent_to` (two one-sided tests, at -m and m)
    and for a threshold claim."""
    return {"versus": margin, "no_worse_than": -margin}.get(direction)
