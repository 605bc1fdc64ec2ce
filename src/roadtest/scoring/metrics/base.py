"""Samples, the context a metric is computed in, and the registry of computations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pandas as pd

from roadtest.registry import Registry
from roadtest.spec import ModelSpec, Scenario
from roadtest.spec.metrics import METRICS, MetricInfo


@dataclass(frozen=True)
class Sample:
    """Values of one metric: per item (averaged over repeats), per call, or item positions of a statistic."""

    info: MetricInfo
    values: np.ndarray
    items: tuple[str, ...] | None = None
    """Item ids aligned with `values` (None for per-call samples)."""
    groups: tuple[str | None, ...] | None = None
    """Group of each item, when the dataset declares one."""
    statistic: Optional[Callable[[np.ndarray], float]] = field(default=None, compare=False)
    """Statistic metrics: the value computed on a set of item positions (values holds 0..n-1)."""
    strata: tuple | None = None
    """Statistic metrics: resample within these strata."""
    note: str = ""
    """Why the metric is not available, or how it was measured."""

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def binary(self) -> bool:
        return self.statistic is None and bool(self.n) and bool(np.all((self.values == 0) | (self.values == 1)))

    def by_item(self) -> pd.Series:
        return pd.Series(self.values, index=list(self.items or ()))

    def value(self) -> float | None:
        if self.n == 0:
            return None
        return float(self.statistic(self.values)) if self.statistic is not None else float(self.values.mean())


@dataclass(frozen=True)
class MetricContext:
    """What a computation may know beyond the trials: the scenario and the model."""

    scenario: Scenario
    model: ModelSpec | None = None
    logprobs_requested: bool = True
    """The scenario's metrics include calibration."""
    model_logprobs: bool = True
    """The model entry allows asking for log-probabilities."""


Compute = Callable[[pd.DataFrame, MetricContext, MetricInfo], Sample]
VALUES: Registry[Compute] = Registry("metric computation")


def unavailable(info: MetricInfo, reason: str) -> Sample:
    return Sample(info, np.array([]), note=reason)


def base(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["variant"] == "base"]


def ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"].isna()]


def per_item(info: MetricInfo, column: pd.Series, frame: pd.DataFrame, note: str = "") -> Sample:
    """Average each item's repeats first: the item is the independent unit."""
    series = pd.to_numeric(column, errors="coerce").groupby(frame["item"], sort=True).mean().dropna()
    groups = None
    if frame["group"].notna().any():
        first = frame.groupby("item", sort=True)["group"].first()
        groups = tuple(first.reindex(series.index).tolist())
    return Sample(info, series.to_numpy(dtype=float), tuple(series.index.astype(str)), groups, note=note)


def item_series(info: MetricInfo, series: pd.Series, note: str = "") -> Sample:
    """A sample from values already computed per item (indexed by item id)."""
    series = pd.to_numeric(series, errors="coerce").dropna().sort_index()
    return Sample(info, series.to_numpy(dtype=float), tuple(series.index.astype(str)), note=note)


def per_call(info: MetricInfo, column: pd.Series) -> Sample:
    return Sample(info, pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float))


def statistic_sample(info: MetricInfo, items: list[str], fn: Callable[[np.ndarray], float],
                     strata=None, note: str = "") -> Sample:
    return Sample(info, np.arange(len(items), dtype=float), tuple(items), statistic=fn,
                  strata=None if strata is None else tuple(strata), note=note)


def register(metric_id: str):
    return VALUES.register(metric_id)


def metric_sample(metric_id: str, frame: pd.DataFrame, ctx: MetricContext, slice_group: str | None = None) -> Sample:
    """The sample of `metric_id` for the trials in `frame` (one scenario x model, every variant)."""
    info = METRICS.get(metric_id)
    if slice_group is not None:
        frame = frame[frame["group"] == slice_group]
    if frame.empty:
        return unavailable(info, "no trials")
    return VALUES.get(metric_id)(frame, ctx, info)
