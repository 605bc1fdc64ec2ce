"""metrics.json: every metric of every scenario x model x variant, with its interval and n."""

from __future__ import annotations

from typing import Any

import pandas as pd

from roadtest.scoring.metrics import metric_sample
from roadtest.spec.metrics import METRICS
from roadtest.verdict.estimates import BOOT_SEED, estimate
from roadtest.verdict.ranking import pairwise_scan, rank_summary, variability_summary


def summarise(config: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for sid in config["selection"]["scenarios"]:
        per_model: dict[str, Any] = {}
        for model in config["selection"]["models"]:
            part = frame[(frame["scenario"] == sid) & (frame["model"] == model)]
            if part.empty:
                continue
            variants = {}
            for variant, sub in part.groupby("variant", sort=True):
                variants[str(variant)] = {
                    "trials": int(len(sub)), "items": int(sub["item"].nunique()),
                    "metrics": {m: estimate(metric_sample(m, sub)).as_dict() for m in METRICS.names()},
                }
            per_model[model] = variants
        scenarios[sid] = per_model
    return {"confidence": 0.95, "bootstrap": {"seed": BOOT_SEED, "B": 10_000},
            "metrics": {m: {"family": i.family, "direction": i.direction, "unit": i.unit,
                            "description": i.description} for m, i in METRICS.items()},
            "scenarios": scenarios, "ranks": rank_summary(config, frame),
            "comparisons": pairwise_scan(config, frame), "variability": variability_summary(config, frame)}
