"""accuracy, task_completion."""

from __future__ import annotations

from roadtest.scoring.metrics.base import base, ok, per_item, register


@register("accuracy")
def accuracy(frame, ctx, info):
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
def task_completion(frame, ctx, info):
    b = ok(base(frame))  # a failed call is error_rate, not an unusable answer
    usable = b["error"].isna() & ~b["empty"].astype(bool) & b["format_ok"].astype(bool) & ~b["truncated"].astype(bool)
    return per_item(info, usable.astype(float), b)
