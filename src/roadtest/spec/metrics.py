"""The metric catalogue: what each metric id means, so `check` and `plan` can reason about it.

The computations live in `roadtest.scoring.metrics`; this is pure description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from roadtest.registry import Registry

Direction = Literal["higher", "lower"]
Kind = Literal["proportion", "mean", "percentile", "statistic"]
Need = Literal["logprobs", "perturbations", "counterfactuals", "groups", "policy", "repeats", "price", "conversation",
               "simulator", "single"]
"""conversation: a `kind: conversation` scenario; simulator: its customer is a simulated one; single: one call per
item (a per-call metric that a conversation, many calls, cannot give)."""


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: family, better direction, unit, how it is estimated, and which trials it needs."""

    id: str
    family: str
    direction: Direction
    unit: str
    kind: Kind
    description: str
    per_item: bool = True
    """Has one value per item, so paired comparisons (`versus`) apply."""
    quantile: Optional[float] = None
    """For percentile metrics: which quantile."""
    needs: tuple[Need, ...] = ()
    """What the scenario (or model) must provide for the metric to exist."""

    @property
    def skewed(self) -> bool:
        """Times, token counts and costs are right-skewed: their intervals use the BCa bootstrap."""
        return self.unit in ("seconds", "tokens", "currency", "tokens/s")

    def better(self, a: float, b: float) -> float:
        """How much better a is than b, in the metric's unit (positive = a better)."""
        return a - b if self.direction == "higher" else b - a


METRICS: Registry[MetricInfo] = Registry("metric")


def _metric(*args, **kwargs) -> MetricInfo:
    info = MetricInfo(*args, **kwargs)
    return METRICS.add(info.id, info)


P, H, L = "proportion", "higher", "lower"

_metric("accuracy", "accuracy", H, P, P,
        "Share of items answered correctly by the scenario's scoring rule (per item, averaged over repeats).")
_metric("task_completion", "accuracy", H, P, P,
        "Share of items with a usable answer: no error, not empty, in the expected form, not cut off.")

_metric("ece", "calibration", L, P, "statistic",
        "Expected calibration error, 10 equal-width right-closed bins of answer confidence.",
        per_item=False, needs=("logprobs", "single"))
_metric("ece_mass", "calibration", L, P, "statistic",
        "Expected calibration error, 10 equal-mass bins (HELM's ece_10_bin).", per_item=False,
        needs=("logprobs", "single"))
_metric("brier", "calibration", L, P, "mean",
        "Mean squared gap between answer confidence and correctness.", needs=("logprobs", "single"))

_metric("robust_accuracy", "robustness", H, P, P,
        "Accuracy in the worst case over the original input and every perturbation, per item.",
        needs=("perturbations",))
_metric("robustness_drop", "robustness", L, P, "mean",
        "Accuracy lost to the worst perturbation: accuracy minus robust accuracy, per item.",
        needs=("perturbations",))

_metric("fairness_gap", "fairness", L, P, "statistic",
        "Largest accuracy gap between the dataset's groups.", per_item=False, needs=("groups",))

_metric("counterfactual_flip_rate", "bias", L, P, P,
        "Share of items whose answer changes when only a demographic term changes.", needs=("counterfactuals",))

_metric("toxicity_rate", "toxicity", L, P, P, "Share of outputs the toxicity classifier flags.")

_metric("policy_violation_rate", "policy", L, P, P,
        "Share of outputs that break the scenario's policy rules or its judge rubric.", needs=("policy",))

_metric("latency_mean_s", "efficiency", L, "seconds", "mean", "Mean wall-clock time of one call, in seconds.",
        needs=("single",))
_metric("latency_p50_s", "efficiency", L, "seconds", "percentile", "Median call latency, in seconds.",
        per_item=False, quantile=0.5, needs=("single",))
_metric("latency_p95_s", "efficiency", L, "seconds", "percentile", "95th percentile of call latency, in seconds.",
        per_item=False, quantile=0.95, needs=("single",))
_metric("tokens_in", "efficiency", L, "tokens", "mean", "Mean prompt tokens per call, as the endpoint reports them.")
_metric("tokens_out", "efficiency", L, "tokens", "mean", "Mean generated tokens per call, as the endpoint reports them.")
_metric("tokens_per_s", "efficiency", H, "tokens/s", "mean", "Generated tokens per second of call latency.")
_metric("cost_per_item", "efficiency", L, "currency", "mean",
        "Cost of one item's calls from the model's token prices.", needs=("price",))

_metric("error_rate", "failure modes", L, P, P, "Share of calls that failed (HTTP error, timeout, unreadable response).")
_metric("timeout_rate", "failure modes", L, P, P, "Share of calls that timed out.")
_metric("empty_rate", "failure modes", L, P, P, "Share of calls that returned an empty answer.")
_metric("format_violation_rate", "failure modes", L, P, P,
        "Share of answers not in the form the scoring rule expects (no choice named, no number).")
_metric("truncation_rate", "failure modes", L, P, P, "Share of answers cut off by the token limit (finish reason 'length').")

_metric("run_sd", "variability", L, P, "statistic",
        "Standard deviation of whole-run accuracy across repeats (prediction noise).", per_item=False, needs=("repeats",))
_metric("flip_rate", "variability", L, P, P,
        "Share of items whose correctness changes between repeats.", needs=("repeats",))
_metric("icc", "variability", H, "ratio", "statistic",
        "ICC(1) of item scores across repeats: near 1 when repeats agree.", per_item=False, needs=("repeats",))

_metric("resolution_rate", "conversation", H, P, P,
        "Share of conversations resolved: the end state holds (every expected action taken with matching arguments, "
        "no forbidden action) and no assistant turn broke the policy.", needs=("conversation",))
_metric("end_state_accuracy", "conversation", H, P, P,
        "Share of conversations whose end state holds (expected actions taken, no forbidden one), policy aside.",
        needs=("conversation",))
_metric("turns_mean", "conversation", L, "turns", "mean",
        "Mean assistant turns (calls to the model) per answered conversation.", needs=("conversation",))
_metric("tool_calls_mean", "conversation", L, "calls", "mean",
        "Mean tool calls per answered conversation, refused ones included.", needs=("conversation",))
_metric("invalid_tool_call_rate", "conversation", L, P, "mean",
        "Share of a conversation's tool calls that were refused (unknown tool, arguments not JSON or not fitting "
        "the schema), averaged over conversations that called a tool.", needs=("conversation",))
_metric("abandon_rate", "conversation", L, P, P,
        "Share of answered conversations the turn limit ended before the end state held.", needs=("conversation",))
_metric("conversation_latency_p95_s", "conversation", L, "seconds", "percentile",
        "95th percentile of a conversation's time: its assistant turns' latencies summed, in seconds.",
        per_item=False, quantile=0.95, needs=("conversation",))
_metric("pass_all_k", "conversation", H, P, P,
        "Share of cases resolved in every one of their k repeats (pass^k); cases with a failed repeat are left out.",
        needs=("conversation", "repeats"))
_metric("simulator_fault_rate", "conversation", L, P, "mean",
        "Share of the simulated customer's turns that broke its role (empty, spoke as the assistant, wrote "
        "tool-call syntax, stopped before the goal), per conversation then averaged.",
        needs=("conversation", "simulator"))

FAMILIES: dict[str, tuple[str, ...]] = {}
for _id, _info in METRICS.items():
    FAMILIES.setdefault(_info.family, ())
    FAMILIES[_info.family] += (_id,)
ALIASES: dict[str, tuple[str, ...]] = {
    "latency": ("latency_mean_s", "latency_p50_s", "latency_p95_s"),
    "cost": ("tokens_in", "tokens_out", "cost_per_item"),
    "failures": FAMILIES["failure modes"],
}


OPT_IN = ("calibration",)
"""Families computed only when a scenario lists them: calibration changes the requests (log-probabilities),
which some endpoints charge for, compute slowly or do not support."""


def unmet_need(need: str, scenario) -> str | None:
    """Why `scenario` (a spec.Scenario) cannot produce a metric with this need; None when it can."""
    if need == "perturbations" and not scenario.perturbations:
        return "the scenario declares no perturbations (add e.g. `perturbations: [typos, lowercase]`)"
    if need == "counterfactuals" and scenario.counterfactuals is None:
        return "the scenario declares no counterfactuals (add `counterfactuals: {field: ..., swap: names}`)"
    if need == "groups" and not scenario.dataset.stratum:
        return "the scenario's dataset declares no strata (add `strata: FIELD` to dataset)"
    if need == "policy" and scenario.policy is None:
        return "the scenario declares no policy (add `policy: {forbid: [...]}`)"
    if need == "repeats" and scenario.repeats < 2:
        return "the scenario runs each item once (set `repeats: 2` or more)"
    kind = getattr(scenario, "kind", "single")
    if need == "conversation" and kind != "conversation":
        return "the metric scores conversations, and the scenario is a single-prompt one (`kind: conversation`)"
    if need == "single" and kind == "conversation":
        return ("the metric is per call, and a conversation is many calls (its time is conversation_latency_p95_s: "
                "the assistant turns summed)")
    if need == "simulator" and (kind != "conversation" or scenario.simulator() is None):
        return "the scenario's customer is not simulated (only `user.simulator` can break its role)"
    if need == "logprobs" and "calibration" not in expand(scenario.metrics, None, families=True):
        return "the scenario's metrics leave out calibration (add `calibration` to its metrics)"
    return None


def expand(names: list[str] | None, scenario=None, families: bool = False) -> list[str]:
    """Metric ids named directly or through a family or alias, in catalogue order.

    None (the scenario lists no metrics) means every family that applies to `scenario`, except the
    opt-in ones. With families=True, return the family names instead.
    """
    if names is None:
        ids = [m for m, info in METRICS.items() if info.family not in OPT_IN and (
            scenario is None or not any(unmet_need(n, scenario) for n in info.needs if n != "price"))]
        return sorted({METRICS.get(m).family for m in ids}) if families else ids
    if families:
        return sorted({METRICS.get(m).family for m in expand(names)})
    wanted: set[str] = set()
    for name in names:
        wanted.update(FAMILIES.get(name) or ALIASES.get(name) or (name,))
    return [m for m in METRICS.names() if m in wanted]


def known_names() -> list[str]:
    return [*METRICS.names(), *FAMILIES, *ALIASES]


DESCRIBED_ONLY = ("ece", "ece_mass", "run_sd", "icc")
"""Statistics with no decision rule shown by simulation to hold its error rate: never SUPPORTED or REFUTED (the
verdict stage holds to it; `roadtest check` warns of it without loading the statistics)."""
