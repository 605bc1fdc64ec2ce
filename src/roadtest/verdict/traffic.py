"""Traffic levels: the level each block of calls achieved, and latency at each level ("if traffic triples")."""

from __future__ import annotations

from typing import Any

import pandas as pd

from roadtest.verdict.data import RunData
from roadtest.verdict.estimates import estimate

LATENCY = ("latency_mean_s", "latency_p50_s", "latency_p95_s", "error_rate")
CONVERSATION_LATENCY = ("conversation_latency_p95_s", "error_rate")
"""A conversation scenario's rows are conversations: its time at a level is the whole conversation's."""


def achieved(trials: pd.DataFrame) -> dict[str, Any]:
    """Calls, wall time, achieved requests/s (starts per second) and mean concurrency (Little's law).

    Calls answered from the response cache were not sent in this run, so they say nothing about the
    level achieved: only the calls actually sent are timed (none sent: the level is unknown).
    """
    cached = int(trials["cached"].astype(bool).sum()) if "cached" in trials else 0
    if cached:
        trials = trials[~trials["cached"].astype(bool)]
        if trials.empty:
            return {"calls": cached, "from_cache": cached, "duration_s": None, "achieved_rps": None,
                    "achieved_concurrency": None}
    stamps = pd.to_datetime(trials["started_at"], utc=True, format="ISO8601")
    start = (stamps - stamps.min()).dt.total_seconds().to_numpy(float)
    latency = trials["latency_s"].to_numpy(float)
    first, last_start, last_end = start.min(), start.max(), (start + latency).max()
    span = max(last_end - first, 1e-9)
    return {"calls": int(len(trials)) + cached, "from_cache": cached, "duration_s": float(span),
            "achieved_rps": float((len(trials) - 1) / (last_start - first)) if last_start > first else None,
            "achieved_concurrency": float(latency.sum() / span)}


def load_summary(data: RunData) -> dict[str, Any]:
    """Per scenario x model: the normal level and every load level asked for, each with its latency.

    A model served by several replicas has each level say how many (`replicas`; absent: one endpoint), and its
    normal level is max_concurrency on each replica."""
    levels = data.config["selection"].get("loads", [])
    out: dict[str, Any] = {}
    for entry in levels:
        sid = entry["scenario"]
        for model in data.model_ids:
            rows = out.setdefault(sid, {}).setdefault(model, {})
            spec = data.models[model]
            if "base" not in rows:
                rows["base"] = _replicas(_level(data, sid, model, None, {
                    "label": "normal", "concurrency": spec.max_concurrency * spec.replica_count}), spec.replica_count)
            rows[entry["label"]] = _replicas(_level(data, sid, model, f"load:{entry['label']}", entry),
                                             spec.replica_count)
    return out


def _replicas(level: dict[str, Any], count: int) -> dict[str, Any]:
    """The level as measured with `count` replicas behind the model (said only when more than one)."""
    return {**level, "replicas": count} if count > 1 else level


def _level(data: RunData, sid: str, model: str, variant: str | None, target: dict[str, Any]) -> dict[str, Any]:
    trials = data.trials(sid, model, variant)
    trials = trials[trials["variant"] == "base"]
    if trials.empty or trials["started_at"].isna().all():
        return {"target": target, "calls": 0}
    done = trials[trials["started_at"].notna()]
    return {"target": {k: v for k, v in target.items() if k in ("concurrency", "rps", "label")}, **achieved(done),
            "metrics": {m: estimate(data.sample(m, sid, model, variant=variant)).as_dict() for m in (
                CONVERSATION_LATENCY if data.scenarios[sid].kind == "conversation" else LATENCY)}}
