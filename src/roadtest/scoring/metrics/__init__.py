"""Metric values: the scored trials of one scenario x model -> the numbers a metric is estimated from.

One module per family registers its computations in VALUES; every id in the catalogue
(roadtest.spec.metrics) has exactly one.

A metric that needs a kind of scenario (`conversation`, `simulator`, or `single`: one call per item) is
unavailable on any other, with the catalogue's reason, even when a scenario names it in its metrics: a per-call
latency is not computed over conversations, nor a resolution rate over single prompts.
"""

from __future__ import annotations

import pandas as pd

from roadtest.scoring.metrics.base import VALUES, Compute, MetricContext, Sample, metric_sample, unavailable
from roadtest.scoring.metrics import (  # noqa: F401  (registration)
    accuracy, calibration, conversation, efficiency, failures, fairness, robustness, safety, variability,
)
from roadtest.spec.metrics import METRICS, MetricInfo, unmet_need

assert set(VALUES.names()) == set(METRICS.names()), "every catalogued metric needs one computation"

KIND_NEEDS = ("conversation", "simulator", "single")
"""Needs about the kind of scenario: checked before the computation runs."""


def _guarded(compute: Compute, needs: tuple[str, ...]) -> Compute:
    """`compute`, unavailable (with the catalogue's reason) on a scenario of the wrong kind."""

    def guarded(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
        for need in needs:
            why = unmet_need(need, ctx.scenario)
            if why:
                return unavailable(info, why)
        return compute(frame, ctx, info)

    guarded.__wrapped__ = compute  # type: ignore[attr-defined]  # mypy: a def takes attributes; inspect.unwrap reads it
    return guarded


for _id, _info in METRICS.items():
    _needs = tuple(n for n in _info.needs if n in KIND_NEEDS)
    if _needs:
        VALUES._items[_id] = _guarded(VALUES.get(_id), _needs)   # the registry has no replace: one place only

__all__ = ["MetricContext", "Sample", "VALUES", "metric_sample", "unavailable"]
