"""Latency, tokens and cost: measured per call on the original inputs."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from roadtest.scoring.metrics.base import base, ok, per_call, per_item, register, unavailable


def _calls(frame):
    return ok(base(frame))


def timed_note(calls) -> str:
    """Say when some latencies were timed when the response was first cached, not in this run."""
    cached = int(calls["cached"].astype(bool).sum()) if "cached" in calls else 0
    if not cached:
        return ""
    return (f"{cached} of {len(calls)} latencies were timed when the response was first cached "
            "(same request, same endpoint); run with --no-cache to time every call now")


@register("latency_mean_s")
def latency_mean(frame, ctx, info):
    b = _calls(frame)
    return per_item(info, b["latency_s"], b, note=timed_note(b))


@register("latency_p50_s")
def latency_p50(frame, ctx, info):
    b = _calls(frame)
    return replace(per_call(info, b["latency_s"]), note=timed_note(b))


@register("latency_p95_s")
def latency_p95(frame, ctx, info):
    b = _calls(frame)
    return replace(per_call(info, b["latency_s"]), note=timed_note(b))


@register("tokens_in")
def tokens_in(frame, ctx, info):
    b = _calls(frame)
    return per_item(info, b["tokens_in"], b)


@register("tokens_out")
def tokens_out(frame, ctx, info):
    b = _calls(frame)
    return per_item(info, b["tokens_out"], b)


@register("tokens_per_s")
def tokens_per_s(frame, ctx, info):
    b = _calls(frame)
    b = b[b["latency_s"] > 0]
    rate = pd.to_numeric(b["tokens_out"], errors="coerce") / b["latency_s"]
    return per_item(info, rate, b, note=timed_note(b))


@register("cost_per_item")
def cost_per_item(frame, ctx, info):
    if ctx.model is None or ctx.model.price is None:
        return unavailable(info, "not priced: give the model a price in roadtest.yaml")
    b = _calls(frame)
    return per_item(info, b["cost"], b)
