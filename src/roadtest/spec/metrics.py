"""The metric catalogue: what each metric id means, so `check` and `plan` can reason about it.

The computations live in `roadtest.scoring`; this is pure description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from roadtest.registry import Registry

Direction = Literal["higher", "lower"]
Kind = Literal["proportion", "mean", "percentile"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: family, better direction, unit and how it is estimated."""

    id: str
    family: str
    direction: Direction
    unit: str
    kind: Kind
    description: str
    per_item: bool = True
    """Has one value per item, so paired comparisons (`versus`) apply."""
    quantile: Optional[float] = None
    """For percentile metrics: which quantile."""

    @property
    def skewed(self) -> bool:
        """Times, token counts and costs are right-skewed: their intervals use the BCa bootstrap."""
        return self.unit in ("seconds", "tokens", "currency")

    def better(self, a: float, b: float) -> float:
        """How much better a is than b, in the metric's unit (positive = a better)."""
        return a - b if self.direction == "higher" else b - a


METRICS: Registry[MetricInfo] = Registry("metric")


def _metric(*args, **kwargs) -> MetricInfo:
    info = MetricInfo(*args, **kwargs)
    return METRICS.add(info.id, info)


_metric("accuracy", "accuracy", "higher", "proportion", "proportion",
        "Share of items answered correctly by the scenario's scoring rule (per item, averaged over repeats).")
_metric("error_rate", "failure modes", "lower", "proportion", "proportion",
        "Share of calls that failed (HTTP error, timeout, unreadable response).")
_metric("latency_mean_s", "efficiency", "lower", "seconds", "mean",
        "Mean wall-clock time of one call, in seconds.")
_metric("latency_p95_s", "efficiency", "lower", "seconds", "percentile",
        "95th percentile of call latency, in seconds.", per_item=False, quantile=0.95)
_metric("tokens_out", "efficiency", "lower", "tokens", "mean",
        "Mean generated tokens per call, as the endpoint reports them.")
