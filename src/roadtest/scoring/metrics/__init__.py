"""Metric values: the scored trials of one scenario x model -> the numbers a metric is estimated from.

One module per family registers its computations in VALUES; every id in the catalogue
(roadtest.spec.metrics) has exactly one.
"""

from __future__ import annotations

from roadtest.scoring.metrics.base import VALUES, MetricContext, Sample, metric_sample, unavailable
from roadtest.scoring.metrics import (  # noqa: F401  (registration)
    accuracy, calibration, efficiency, failures, fairness, robustness, safety, variability,
)
from roadtest.spec.metrics import METRICS

assert set(VALUES.names()) == set(METRICS.names()), "every catalogued metric needs one computation"

__all__ = ["MetricContext", "Sample", "VALUES", "metric_sample", "unavailable"]
