"""accuracy, task_completion."""

from __future__ import annotations

from roadtest.scoring.metrics.base import base, per_item, register


@register("accuracy")
def accuracy(frame, ctx, info):
    b = base(frame)
    return per_item(info, b["score"].astype(float), b)


@register("task_completion")
def task_completion(frame, ctx, info):
    b = base(frame)
    usable = b["error"].isna() & ~b["empty"].astype(bool) & b["format_ok"].astype(bool) & ~b["truncated"].astype(bool)
    return per_item(info, usable.astype(float), b)
