"""Conversation metrics: resolution, end state, turns, tool calls, abandonment, time, pass^k, simulator faults.

One row per conversation (roadtest.scoring.conversation); the conversation is the item's unit, repeats of a case
are averaged per case like the repeats of any item. A conversation that failed (a call errored, or the archive
stops before it ended) is never a wrong answer: it is left out of every metric here but the simulator's.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from roadtest.scoring.metrics.base import (
    MetricContext, Sample, base, item_series, ok, per_call, per_item, register, unavailable,
)
from roadtest.spec.metrics import MetricInfo


def _conversations(frame: pd.DataFrame) -> bool:
    return "turns" in frame and bool(frame["turns"].notna().any())


def _none(info: MetricInfo) -> Sample:
    return unavailable(info, "no conversation was scored")


def _num(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce")


@register("resolution_rate")
def resolution_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """resolution_rate: share of conversations resolved: the end state holds (every expected action taken with matching
    arguments, no forbidden action) and no assistant turn broke the policy."""
    b = base(frame)
    return per_item(info, _num(b["score"]), b)


@register("end_state_accuracy")
def end_state_accuracy(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """end_state_accuracy: share of conversations whose end state holds (expected actions taken, no forbidden one),
    policy aside."""
    if not _conversations(frame):
        return _none(info)
    b = ok(base(frame))
    return per_item(info, _num(b["end_state"].map(lambda v: None if v is None or v != v else float(bool(v)))), b)


@register("turns_mean")
def turns_mean(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """turns_mean: mean assistant turns (calls to the model) per answered conversation."""
    if not _conversations(frame):
        return _none(info)
    b = ok(base(frame))
    return per_item(info, _num(b["turns"]), b)


@register("tool_calls_mean")
def tool_calls_mean(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """tool_calls_mean: mean tool calls per answered conversation, refused ones included."""
    if not _conversations(frame):
        return _none(info)
    b = ok(base(frame))
    return per_item(info, _num(b["tool_calls"]), b)


@register("invalid_tool_call_rate")
def invalid_tool_call_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """invalid_tool_call_rate: share of a conversation's tool calls that were refused (unknown tool, arguments not JSON
    or not fitting the schema), averaged over conversations that called a tool."""
    if not _conversations(frame):
        return _none(info)
    b = ok(base(frame))
    calls = _num(b["tool_calls"])
    b = b[calls > 0]
    if b.empty:
        return unavailable(info, "no conversation called a tool")
    return per_item(info, _num(b["invalid_tool_calls"]) / _num(b["tool_calls"]), b)


@register("abandon_rate")
def abandon_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """abandon_rate: share of answered conversations the turn limit ended before the end state held."""
    if not _conversations(frame):
        return _none(info)
    b = ok(base(frame))
    return per_item(info, _num(b["abandoned"].map(lambda v: None if v is None or v != v else float(bool(v)))), b)


def timed_conversations(calls: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Conversations timed live in this run: none of their assistant turns from the response cache and none a
    warm-up call; and a note saying which were set apart."""
    cached = _num(calls["cached_turns"]).fillna(0) > 0 if "cached_turns" in calls else pd.Series(False, calls.index)
    warm = calls["warmup"].fillna(False).astype(bool) if "warmup" in calls else pd.Series(False, calls.index)
    parts = []
    if int(cached.sum()):
        parts.append(f"{int(cached.sum())} had turns from the response cache (run with --no-cache to time them now)")
    if int(warm.sum()):
        parts.append(f"{int(warm.sum())} had warm-up calls after the endpoint opened")
    note = f"set apart from the time of these {len(calls)} conversations: " + "; ".join(parts) if parts else ""
    return calls[~(cached | warm)], note


@register("conversation_latency_p95_s")
def conversation_latency_p95_s(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """conversation_latency_p95_s: 95th percentile of a conversation's time: its assistant turns' latencies summed, in
    seconds."""
    if not _conversations(frame):
        return _none(info)
    timed, note = timed_conversations(ok(base(frame)))
    return replace(per_call(info, timed["latency_s"], timed), note=note)


def pass_all(frame: pd.DataFrame, k: int) -> tuple[pd.Series, int]:
    """Per case (item) with all k repeats scored: 1.0 when every repeat was resolved, else 0.0; and how many
    cases were left out (a repeat failed, is incomplete, or is missing)."""
    b = base(frame)
    scores = _num(b["score"])
    per = pd.DataFrame({"item": b["item"].astype(str), "score": scores})
    counts = per.groupby("item", sort=True)["score"].count()
    passed = per.groupby("item", sort=True)["score"].min().eq(1.0).astype(float)
    eligible = counts[counts >= k].index
    return passed.reindex(eligible), int(counts.size - eligible.size)


@register("pass_all_k")
def pass_all_k(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """pass_all_k: share of cases resolved in every one of their k repeats (pass^k); cases with a failed repeat are left
    out."""
    k = ctx.scenario.repeats
    if k < 2:
        return unavailable(info, "needs repeats >= 2")
    passed, left = pass_all(frame, k)
    if passed.empty:
        return unavailable(info, f"no case has all {k} repeats answered")
    note = f"k = {k}" + (f"; {left} cases left out (a repeat failed or is missing)" if left else "")
    return item_series(info, passed, note=note, frame=base(frame))


@register("simulator_fault_rate")
def simulator_fault_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """simulator_fault_rate: share of the simulated customer's turns that broke its role (empty, spoke as the assistant,
    wrote tool-call syntax, stopped before the goal), per conversation then averaged."""
    if "sim_turns" not in frame:
        return _none(info)
    b = base(frame)
    turns = _num(b["sim_turns"])
    b = b[turns > 0]
    if b.empty:
        return unavailable(info, "no simulated customer turn was answered")
    return per_item(info, _num(b["sim_faults"]) / _num(b["sim_turns"]), b)
