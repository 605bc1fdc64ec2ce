"""ece, ece_mass, brier: confidence of the answer given, from token log-probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from roadtest import stats
from roadtest.scoring.metrics.base import (
    Compute, MetricContext, Sample, base, ok, per_item, register, statistic_sample, unavailable,
)
from roadtest.spec.metrics import MetricInfo

SMALL = 300


def _with_confidence(frame: pd.DataFrame, ctx: MetricContext,
                     info: MetricInfo) -> pd.DataFrame | Sample:
    """The answered base calls that carry a confidence, or the unavailable sample saying why."""
    b = ok(base(frame))
    if not ctx.logprobs_requested:
        return unavailable(info, "not requested: add 'calibration' to the scenario's metrics")
    if not ctx.model_logprobs:
        return unavailable(info, "not available: log-probabilities are switched off for this model "
                                       "(logprobs: false in roadtest.yaml)")
    has = b[b["confidence"].notna()]
    if has.empty:
        kind = "the endpoint returned no log-probabilities" if b["confidence_kind"].isna().all() else \
            "no answer's option could be found among the returned log-probabilities"
        return unavailable(info, f"not available: {kind}")
    return has


def _note(has, b) -> str:
    kind = has["confidence_kind"].iloc[0]
    note = f"confidence = {kind}"
    if len(has) < len(b):
        note += f"; {len(has)} of {len(b)} answers had one"
    if has["item"].nunique() < SMALL:
        note += f"; fewer than {SMALL} items: ECE is noisy and biased upward"
    return note


def _ece(scheme: str) -> Compute:
    def compute(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
        """Expected calibration error over the items (a statistic: resampled by item), binned by `scheme`."""
        has = _with_confidence(frame, ctx, info)
        if isinstance(has, Sample):
            return has
        conf = has.pivot_table(index="item", columns="repeat", values="confidence", aggfunc="first")
        correct = has.assign(ok=(has["score"].astype(float) >= 0.5).astype(float)).pivot_table(
            index="item", columns="repeat", values="ok", aggfunc="first").reindex_like(conf)
        c, y = conf.to_numpy(float), correct.to_numpy(float)   # items x repeats, NaN where missing

        def fn(positions: np.ndarray) -> float:
            cc, yy = c[positions.astype(int)].ravel(), y[positions.astype(int)].ravel()
            keep = ~np.isnan(cc)
            return stats.ece(cc[keep], yy[keep], scheme=scheme)

        items = list(conf.index)

        return statistic_sample(info, items, fn, note=_note(has, ok(base(frame))))

    return compute


register("ece")(_ece("width"))
register("ece_mass")(_ece("mass"))


@register("brier")
def brier(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """brier: mean squared gap between answer confidence and correctness."""
    has = _with_confidence(frame, ctx, info)
    if isinstance(has, Sample):
        return has
    squared = (has["confidence"].astype(float) - (has["score"].astype(float) >= 0.5)) ** 2
    return per_item(info, squared, has, note=_note(has, ok(base(frame))))
