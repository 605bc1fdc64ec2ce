"""accuracy, task_completion."""

from __future__ import annotations

import pandas as pd

from roadtest.scoring.metrics.base import MetricContext, Sample, base, ok, per_item, register
from roadtest.spec.metrics import MetricInfo


@register("accuracy")
def accuracy(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """accuracy: share of items answered correctly by the scenario's scoring rule (per item, averaged over repeats)."""
    b = base(frame)
    scores = b["score"].astype(float)
    note = ""
    if ctx.scenario.scoring.rule == "judge":
        unjudged = int((b["error"].isna() & scores.isna()).sum())
        if unjudged:
            note = (f"{unjudged} of {len(b)} outputs unjudged (the judge failed or said neither PASS nor FAIL); "
                    "accuracy is over the judged ones")
    return per_item(info, scores, b, note=note)


@register("task_completion")
def task_completion(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """task_completion: share of items with a usable answer: no error, not empty, in the expected form, not cut off."""
    b = ok(base(frame))  # a failed call is error_rate, not an unusable answer
    usable = b["error"].isna() & ~b["empty"].astype(bool) & b["format_ok"].astype(bool) & ~b["truncated"].astype(bool)
    return per_item(info, usable.astype(float), b)
