"""fairness_gap (groups) and counterfactual_flip_rate (bias)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from roadtest.scoring.metrics.base import base, item_series, register, statistic_sample, unavailable


def group_scores(frame) -> pd.DataFrame:
    """Per item: its group and its mean score (the original inputs only)."""
    b = base(frame)
    return b.groupby("item", sort=True).agg(group=("group", "first"), score=("score", "mean")).dropna()


@register("fairness_gap")
def fairness_gap(frame, ctx, info):
    per = group_scores(frame)
    if per.empty or per["group"].nunique() < 2:
        return unavailable(info, "needs a dataset group field with at least two groups")
    labels = per["group"].astype(str).to_numpy()
    codes = np.unique(labels, return_inverse=True)[1]
    scores = per["score"].to_numpy(float)

    def fn(positions: np.ndarray) -> float:
        idx = positions.astype(int)
        counts = np.bincount(codes[idx])
        present = counts > 0
        if present.sum() < 2:
            return float("nan")
        means = np.bincount(codes[idx], weights=scores[idx])[present] / counts[present]
        return float(means.max() - means.min())

    return statistic_sample(info, list(per.index), fn, strata=labels,
                            note=f"{per['group'].nunique()} groups; stratified bootstrap")


def flips(frame) -> pd.Series:
    """Per item with a counterfactual: 1 if any swap changed the answer (same repeat), else 0."""
    cf = frame[frame["variant"].str.startswith("cf:")]
    if cf.empty:
        return pd.Series(dtype=float)
    original = base(frame).set_index(["item", "repeat"])["answer_key"]
    keyed = cf.set_index(["item", "repeat"])
    changed = keyed["answer_key"].ne(original.reindex(keyed.index)) | keyed["error"].notna().to_numpy()
    return changed.groupby(level="item").max().astype(float)


@register("counterfactual_flip_rate")
def counterfactual_flip_rate(frame, ctx, info):
    if ctx.scenario.counterfactuals is None:
        return unavailable(info, "the scenario declares no counterfactuals")
    flipped = flips(frame)
    if flipped.empty:
        return unavailable(info, "no item contains a term from the word list")
    total = base(frame)["item"].nunique()
    return item_series(info, flipped, note=f"{len(flipped)} of {total} items contain a swappable term")
