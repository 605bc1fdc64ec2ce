"""Metric values: the scored trials of one scenario x model -> the numbers a metric is estimated from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from roadtest.registry import Registry
from roadtest.spec.metrics import METRICS, MetricInfo


@dataclass(frozen=True)
class Sample:
    """Values of one metric: per item (averaged over repeats) or per call."""

    info: MetricInfo
    values: np.ndarray
    items: tuple[str, ...] | None
    """Item ids aligned with `values` (None for per-call samples)."""
    groups: tuple[str | None, ...] | None
    """Group of each item, when the dataset declares one."""

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def binary(self) -> bool:
        return bool(self.n) and bool(np.all((self.values == 0) | (self.values == 1)))

    def by_item(self) -> pd.Series:
        return pd.Series(self.values, index=list(self.items or ()))


Compute = Callable[[pd.DataFrame], pd.Series]
VALUES: Registry[Compute] = Registry("metric computation")


def _per_item(column: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """Average each item's repeats first: the item is the independent unit."""
    return column.groupby(frame["item"], sort=True).mean().dropna()


@VALUES.register("accuracy")
def _accuracy(frame: pd.DataFrame) -> pd.Series:
    return _per_item(frame["score"].astype(float), frame)


@VALUES.register("error_rate")
def _error_rate(frame: pd.DataFrame) -> pd.Series:
    return _per_item(frame["error"].notna().astype(float), frame)


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"].isna()]


@VALUES.register("latency_mean_s")
def _latency_mean(frame: pd.DataFrame) -> pd.Series:
    ok = _ok(frame)
    return _per_item(ok["latency_s"].astype(float), ok)


@VALUES.register("latency_p95_s")
def _latency_calls(frame: pd.DataFrame) -> pd.Series:
    ok = _ok(frame)
    return ok["latency_s"].astype(float).reset_index(drop=True)


@VALUES.register("tokens_out")
def _tokens_out(frame: pd.DataFrame) -> pd.Series:
    ok = _ok(frame)
    return _per_item(pd.to_numeric(ok["tokens_out"], errors="coerce"), ok)


assert set(VALUES.names()) == set(METRICS.names()), "every catalogued metric needs a computation"


def metric_sample(metric_id: str, frame: pd.DataFrame, slice_group: str | None = None) -> Sample:
    """The sample of `metric_id` for the trials in `frame` (one scenario x model x variant)."""
    info = METRICS.get(metric_id)
    if slice_group is not None:
        frame = frame[frame["group"] == slice_group]
    series = VALUES.get(metric_id)(frame)
    if not info.per_item:
        return Sample(info, series.to_numpy(dtype=float), None, None)
    groups = None
    if frame["group"].notna().any():
        first = frame.groupby("item", sort=True)["group"].first()
        groups = tuple(first.reindex(series.index).tolist())
    return Sample(info, series.to_numpy(dtype=float), tuple(series.index.astype(str)), groups)
