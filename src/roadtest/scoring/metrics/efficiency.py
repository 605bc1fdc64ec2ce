"""Latency, tokens and cost: measured per call on the original inputs."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from roadtest.scoring.metrics.base import MetricContext, Sample, base, ok, per_call, per_item, register, unavailable
from roadtest.spec.metrics import MetricInfo


def _calls(frame: pd.DataFrame) -> pd.DataFrame:
    return ok(base(frame))


def live(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls timed in this run on a warm endpoint: never an answer from the cache (its latency is the first
    run's), never a warm-up call (a cold server's first answers are slow for reasons no user will see)."""
    keep = pd.Series(True, index=calls.index)
    for column in ("cached", "warmup"):
        if column in calls:
            keep &= ~calls[column].fillna(False).astype(bool)
    return calls[keep]


def timed_note(calls: pd.DataFrame) -> str:
    """Say which latencies were set apart: answers from the cache, warm-up calls."""
    parts = []
    for column, words in (("cached", "came from the response cache (run with --no-cache to time them now)"),
                          ("warmup", "were warm-up calls after the endpoint opened")):
        count = int(calls[column].fillna(False).astype(bool).sum()) if column in calls else 0
        if count:
            parts.append(f"{count} {words}")
    if not parts:
        return ""
    return f"set apart from the latency of these {len(calls)} calls: " + "; ".join(parts)


def _latency(frame: pd.DataFrame, info: MetricInfo) -> tuple[pd.DataFrame, str]:
    b = _calls(frame)
    return live(b), timed_note(b)


@register("latency_mean_s")
def latency_mean(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """latency_mean_s: mean wall-clock time of one call, in seconds."""
    calls, note = _latency(frame, info)
    return per_item(info, calls["latency_s"], calls, note=note)


@register("latency_p50_s")
def latency_p50(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """latency_p50_s: median call latency, in seconds."""
    calls, note = _latency(frame, info)
    return replace(per_call(info, calls["latency_s"], calls), note=note)


@register("latency_p95_s")
def latency_p95(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """latency_p95_s: 95th percentile of call latency, in seconds."""
    calls, note = _latency(frame, info)
    return replace(per_call(info, calls["latency_s"], calls), note=note)


@register("tokens_in")
def tokens_in(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """tokens_in: mean prompt tokens per call, as the endpoint reports them."""
    b = _calls(frame)
    return per_item(info, b["tokens_in"], b)


@register("tokens_out")
def tokens_out(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """tokens_out: mean generated tokens per call, as the endpoint reports them."""
    b = _calls(frame)
    return per_item(info, b["tokens_out"], b)


@register("tokens_per_s")
def tokens_per_s(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """tokens_per_s: generated tokens per second of call latency."""
    calls, note = _latency(frame, info)
    calls = calls[calls["latency_s"] > 0]
    rate = pd.to_numeric(calls["tokens_out"], errors="coerce") / calls["latency_s"]
    return per_item(info, rate, calls, note=note)


@register("cost_per_item")
def cost_per_item(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """cost_per_item: cost of one item's calls from the model's token prices."""
    if ctx.model is None or ctx.model.price is None:
        return unavailable(info, "not priced: give the model a price in roadtest.yaml")
    b = _calls(frame)
    return per_item(info, b["cost"], b)
