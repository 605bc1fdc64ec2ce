"""Samples, the context a metric is computed in, and the registry of computations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

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
    clusters: tuple[str | None, ...] | None = None
    """Cluster of each item, when the dataset declares `cluster:` (several items on one document)."""
    calls: np.ndarray | None = field(default=None, compare=False)
    """The raw per-call values the verdict rules take (repeats of an item not yet averaged)."""
    call_items: tuple[str, ...] | None = None
    """The item of each raw call (aligned with `calls`)."""
    call_strata: tuple | None = None
    call_clusters: tuple | None = None

    def raw(self) -> tuple[np.ndarray, tuple | None, tuple | None, tuple | None]:
        """(values, items, strata, clusters) per call, as `roadtest.verdict.judge` takes them."""
        if self.calls is not None:
            return self.calls, self.call_items, self.call_strata, self.call_clusters
        return self.values, self.items, self.groups, self.clusters

    @property
    def n(self) -> int:
        return int(self.values.size)

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


def _labels(frame: pd.DataFrame, column: str) -> pd.Series | None:
    if column not in frame or not frame[column].notna().any():
        return None
    return frame[column].astype(object).where(frame[column].notna(), None)


def per_item(info: MetricInfo, column: pd.Series, frame: pd.DataFrame, note: str = "") -> Sample:
    """Average each item's repeats first: the item is the independent unit. The raw calls are kept too."""
    values = pd.to_numeric(column, errors="coerce")
    keep = values.notna()
    values, rows = values[keep], frame[keep]
    series = values.groupby(rows["item"], sort=True).mean()
    strata, clusters = _labels(rows, "group"), _labels(rows, "cluster")
    per_item_label = lambda labels: None if labels is None else tuple(  # noqa: E731
        labels.groupby(rows["item"], sort=True).first().reindex(series.index).tolist())
    return Sample(info, series.to_numpy(dtype=float), tuple(series.index.astype(str)), per_item_label(strata),
                  note=note, clusters=per_item_label(clusters), calls=values.to_numpy(dtype=float),
                  call_items=tuple(rows["item"].astype(str)),
                  call_strata=None if strata is None else tuple(strata.tolist()),
                  call_clusters=None if clusters is None else tuple(clusters.tolist()))


def item_series(info: MetricInfo, series: pd.Series, note: str = "", frame: pd.DataFrame | None = None) -> Sample:
    """A sample from values already computed per item (indexed by item id); `frame` gives the items' strata
    and clusters."""
    series = pd.to_numeric(series, errors="coerce").dropna().sort_index()
    strata = clusters = None
    if frame is not None:
        def by_item(column: str) -> tuple | None:
            labels = _labels(frame, column)
            return None if labels is None else tuple(
                labels.groupby(frame["item"]).first().reindex(series.index).tolist())
        strata, clusters = by_item("group"), by_item("cluster")
    return Sample(info, series.to_numpy(dtype=float), tuple(series.index.astype(str)), strata, note=note,
                  clusters=clusters)


def per_call(info: MetricInfo, column: pd.Series, frame: pd.DataFrame | None = None) -> Sample:
    """Every call's value (percentiles): the item of each call is kept, since repeats of an item are not
    independent calls."""
    values = pd.to_numeric(column, errors="coerce").dropna()
    if frame is None:
        return Sample(info, values.to_numpy(dtype=float))
    rows = frame.loc[values.index]
    clusters = _labels(rows, "cluster")
    return Sample(info, values.to_numpy(dtype=float), calls=values.to_numpy(dtype=float),
                  call_items=tuple(rows["item"].astype(str)),
                  call_clusters=None if clusters is None else tuple(clusters.tolist()))


def statistic_sample(info: MetricInfo, items: list[str], fn: Callable[[np.ndarray], float],
                     strata: Iterable | None = None, note: str = "", raw: Sample | None = None) -> Sample:
    """A statistic over item positions; `raw` carries the per-call values a verdict rule takes (fairness_gap:
    the scores with their strata)."""
    extra: dict[str, Any] = {} if raw is None else {"calls": raw.calls, "call_items": raw.call_items,
                                                    "call_strata": raw.call_strata, "call_clusters": raw.call_clusters}
    return Sample(info, np.arange(len(items), dtype=float), tuple(items), statistic=fn,
                  strata=None if strata is None else tuple(strata), note=note, **extra)


def register(metric_id: str) -> Callable[[Compute], Compute]:
    """Register the decorated function as the computation of `metric_id` (one per catalogued metric)."""
    return VALUES.register(metric_id)


def metric_sample(metric_id: str, frame: pd.DataFrame, ctx: MetricContext, slice_group: str | None = None) -> Sample:
    """The sample of `metric_id` for the trials in `frame` (one scenario x model, every variant)."""
    info = METRICS.get(metric_id)
    if slice_group is not None:
        frame = frame[frame["group"] == slice_group]
    if frame.empty:
        return unavailable(info, "no trials")
    return VALUES.get(metric_id)(frame, ctx, info)
