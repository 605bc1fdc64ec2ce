"""Hints for the spec's cross-field rules (model validators): where exactly, and a corrected example.

Each function gets what the user wrote for the model (a dict, usually), the rule's message and
`line(sub_loc)`, and returns (sub_loc, hint): sub_loc narrows the location inside the model.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from roadtest.load.expected import yaml_scalar
from roadtest.spec.metrics import METRICS
from roadtest.spec.model import BUNDLED_MODELS

Rule = Callable[[Any, str, Callable[[tuple], int]], tuple[tuple, str]]


def _fmt(value: Any) -> str:
    return yaml_scalar(value) if isinstance(value, str) else str(value)


def _threshold_example(metric: str) -> tuple[str, str]:
    info = METRICS.get(metric) if metric in METRICS else None
    if info is None or info.direction == "higher":
        return "at_least", "0.85" if info is None or info.unit == "proportion" else "1.0"
    return "at_most", {"proportion": "0.05", "seconds": "2.0"}.get(info.unit, "1.0")


def criterion(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    metric = str(d.get("metric", "accuracy"))
    base = f"scenario: {_fmt(d.get('scenario', 'ticket-triage'))}, metric: {_fmt(metric)}"
    given = [k for k in ("at_least", "at_most", "versus", "no_worse_than", "equivalent_to") if d.get(k) is not None]
    if d.get("robust_to_settings") and len(given) == 1 and given[0] in ("at_least", "at_most"):
        return ("robust_to_settings",), ("drop `robust_to_settings:`, or make the criterion a comparison, e.g. "
                                         "`no_worse_than: {model: gemma3-270m, margin: 0.02}`")
    comparisons = [k for k in given if k in ("versus", "no_worse_than", "equivalent_to")]
    if comparisons and len(given) > 1 and len(comparisons) == 1 and comparisons[0] != "versus":
        return (), (f"a `{comparisons[0]}:` claim has its own margin; keep `{{{base}, {comparisons[0]}: {{...}}}}` "
                    "and put any other claim in a criterion of its own")
    if "versus" in given and len(given) > 1:
        return (), (f"a `versus:` claim has its own margin (by_at_least); keep `{{{base}, versus: {{...}}}}` "
                    "and put the threshold in a criterion of its own")
    if len(given) > 1:
        return (), (f"keep one bound, e.g. `{{{base}, at_least: {_fmt(d['at_least'])}}}`; to bound both sides, "
                    f"write two criteria, one with `at_least: {_fmt(d['at_least'])}` "
                    f"and one with `at_most: {_fmt(d['at_most'])}`")
    direction, value = _threshold_example(metric)
    return (), (f"add a threshold, e.g. `{{{base}, {direction}: {value}}}`, or compare two models with "
                "`versus: {model: gemma3-270m, by_at_least: 0.02}` (better by), `no_worse_than: {model: "
                "gemma3-270m, margin: 0.02}` or `equivalent_to: {model: gemma3-270m, margin: 0.05}`")


def load(data: Any, msg: str, line) -> tuple[tuple, str]:
    return (), "write `load: {concurrency: 6}` (requests in flight) or `load: {rps: 2.0}` (requests per second), not both"


def policy(data: Any, msg: str, line) -> tuple[tuple, str]:
    return (), ('e.g. `policy: {forbid: ["(?i)full refund guaranteed"]}`; the other rules are require, '
                "must_refuse and judge")


def forbid_pattern(value: Any, msg: str, line) -> tuple[tuple, str]:
    literal = re.sub(r"([\\.^$*+?{}\[\]|()])", r"\\\1", str(value)).replace("'", "''")
    return (), (f"to match the text literally, escape its special characters: '{literal}' "
                "(in single quotes YAML keeps the backslashes); otherwise fix the pattern")


def scoring(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    rule = d.get("rule", "exact")
    if "needs `choices:`" in msg:
        return (), "add the allowed answers, e.g. `choices: [billing, shipping, account]`"
    if "only applies to the choice rule" in msg:
        return ("choices",), f"remove `choices:`, or set `rule: choice` (now `rule: {rule}`)"
    if "needs `judge:" in msg:
        return (), 'add `judge: {model: <a model id from roadtest.yaml>, rubric: "What a passing reply does."}`'
    if "needs `answer:`" in msg:
        return (), "add `answer: <field>` naming the dataset field with the reference answer, e.g. `answer: answer`"
    return (), ""


def model_spec(data: Any, msg: str, line) -> tuple[tuple, str]:
    if "needs `gguf:`" in msg:
        return (), (f"add `gguf: smollm2-135m-instruct` (bundled: {', '.join(BUNDLED_MODELS)}) "
                    "or a path to a .gguf file")
    if "has no `base_url:`" in msg:
        return ("base_url",), "remove `base_url:`, or set `provider: openai` to use that endpoint"
    if "needs `base_url:`" in msg:
        return (), "add `base_url: https://api.openai.com/v1` (or your server's URL ending in /v1)"
    return (), ""


def _second(items: Any, key: str) -> tuple[int, int] | None:
    """Indexes of the first and second entries sharing `key`."""
    seen: dict[Any, int] = {}
    for j, item in enumerate(items if isinstance(items, list) else []):
        value = item.get(key) if isinstance(item, dict) else None
        if value is not None and value in seen:
            return seen[value], j
        seen.setdefault(value, j)
    return None


def scenario(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    if "one sentence" in msg:
        return ("success",), "keep `success:` to one sentence of what the product must do; reasons go in a hypothesis"
    if "variant names" in msg:
        pair = _second(d.get("variants"), "name")
        where = ("variants", pair[1], "name") if pair else ("variants",)
        if pair is None:
            return where, "rename the variant called 'base': that name is the scenario's own settings"
        return where, (f"give each variant its own name (the first is on line {line(('variants', pair[0], 'name'))}); "
                       "'base' is reserved")
    return (), ""


def workspace(data: Any, msg: str, line) -> tuple[tuple, str]:
    pair = _second((data or {}).get("models") if isinstance(data, dict) else None, "id")
    if "appears twice" in msg and pair:
        first = line(("models", pair[0], "id"))
        return ("models", pair[1], "id"), f"model ids must be unique; rename one (the other is on line {first})"
    return (), ""


MODEL_RULES: dict[str, Rule] = {
    "Criterion": criterion, "Load": load, "Policy": policy, "Scoring": scoring, "ModelSpec": model_spec,
    "Scenario": scenario, "Workspace": workspace,
}
"""Hints for model validators, by model class name."""

FIELD_RULES: dict[tuple[str, str], Rule] = {
    ("Policy", "forbid"): forbid_pattern,
}
"""Hints for field validators, by (model class name, field)."""
