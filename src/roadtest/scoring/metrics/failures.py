"""Failure modes: error, timeout, empty, format violation, truncation."""

from __future__ import annotations

import pandas as pd

from roadtest.scoring.metrics.base import MetricContext, Sample, base, ok, per_item, register
from roadtest.spec.metrics import MetricInfo

FAILURE_MODES = {
    "error_rate": lambda f: f["error"].notna(),
    "timeout_rate": lambda f: f["error"] == "timeout",
    "empty_rate": lambda f: f["error"].isna() & f["empty"].astype(bool),
    "format_violation_rate": lambda f: f["error"].isna() & ~f["format_ok"].astype(bool),
    "truncation_rate": lambda f: f["error"].isna() & f["truncated"].astype(bool),
}
"""Which calls show each failure mode (empty, format and truncation are judged on answered calls)."""


def _rate(metric_id: str, over_answered: bool) -> None:
    def compute(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
        """Share of calls per item showing the failure mode (over answered calls, or over all calls)."""
        b = base(frame)
        if "ended" in b:   # a conversation the archive ends before it did (a stopped run) was never a failed call
            b = b[b["error"].fillna("") != "incomplete"]
        calls = ok(b) if over_answered else b
        return per_item(info, FAILURE_MODES[metric_id](calls).astype(float), calls)

    register(metric_id)(compute)


for _id in FAILURE_MODES:
    _rate(_id, over_answered=_id not in ("error_rate", "timeout_rate"))
