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
    if "end_state rule needs" in msg:
        return (), ("add `expect: expected_actions` (a dataset field listing the actions each case must take, e.g. "
                    "[{tool: issue_refund, args: {order_id: A17}}]) and/or `forbid: forbidden_actions`")
    if "only apply to the end_state rule" in msg:
        where = ("expect",) if d.get("expect") is not None else ("forbid",)
        return where, (f"remove `expect:` and `forbid:`, or score a `kind: conversation` scenario with "
                       f"`rule: end_state` (now `rule: {rule}`)")
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


USER_EXAMPLE = ('`user: {script: turns}` (a dataset field listing the customer\'s messages) or `user: {simulator: '
                '{model: <a model id from roadtest.yaml>, system: "You are a customer. {{ goal }}"}}`')
SINGLE_RULES = "exact, choice, regex, numeric, contains or judge"


def _conversation_rule(d: dict, msg: str, line) -> tuple[tuple, str] | None:
    """Hints for Scenario._kind_fields: which kind of scenario this is, and what that kind needs."""
    if "make a conversation" in msg:
        where = ("user",) if d.get("user") is not None else ("tools",)
        return where, ("add `kind: conversation` (and score it with `scoring: {rule: end_state, expect: FIELD}`), "
                       "or remove `user:` and `tools:` from a single-prompt scenario")
    if "needs `prompt.template`" in msg:
        return ("prompt",), ('add `template: "Question: {{ question }}\\nAnswer:"` under `prompt:` (the fields of a '
                             "dataset row are its variables), or set `kind: conversation` for turns with a customer")
    if "the end_state rule scores a conversation" in msg:
        return ("scoring", "rule"), ("add `kind: conversation` with `user:` and `tools:`, or pick a rule for one "
                                     f"prompt and one answer: {SINGLE_RULES}")
    if "a conversation needs `user:`" in msg:
        return ("kind",), f"add {USER_EXAMPLE}"
    if "scored by its end state" in msg:
        return ("scoring", "rule"), ("write `scoring: {rule: end_state, expect: expected_actions}` (a dataset field "
                                     "listing the actions each conversation must take); judge what the assistant "
                                     "says with `policy:`")
    if "perturbations and counterfactuals" in msg:
        where = ("perturbations",) if d.get("perturbations") else ("counterfactuals",)
        return where, ("remove `perturbations:` and `counterfactuals:` from a conversation (vary the customer with "
                       "a simulator's temperature and `repeats:` instead), or make it a single-prompt scenario")
    if "few-shot examples" in msg:
        return ("prompt", "fewshot"), ("remove `prompt.fewshot:`; show the assistant how to behave in "
                                       "`prompt.system` instead")
    if "tool names must be unique" in msg:
        pair = _second(d.get("tools"), "name")
        if pair is None:
            return ("tools",), "give each tool its own name"
        return ("tools", pair[1], "name"), (f"give each tool its own name (the first is on line "
                                            f"{line(('tools', pair[0], 'name'))})")
    if "must_refuse applies" in msg:
        return ("policy", "must_refuse"), ("remove `must_refuse:` and list the action the assistant must not take "
                                           "in the dataset field `scoring.forbid` names, e.g. "
                                           "[{tool: issue_refund}]")
    return None


def scenario(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    found = _conversation_rule(d, msg, line)
    if found is not None:
        return found
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


def user(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    if "stop phrase cannot be empty" in msg:
        stop = d.get("stop") if isinstance(d.get("stop"), list) else []
        j = next((j for j, s in enumerate(stop) if isinstance(s, str) and not s.strip()), None)
        return (("stop", j) if j is not None else ("stop",)), ("remove the blank phrase: almost every message "
                                                              "contains it, so it would end conversations at once")
    if d.get("script") is not None and d.get("simulator") is not None:
        return ("simulator",), ("keep `script:` (the customer's messages, from the dataset) or `simulator:` (a model "
                                "plays the customer), not both; make the other a scenario of its own")
    return (), f"write {USER_EXAMPLE}"


def tool(data: Any, msg: str, line) -> tuple[tuple, str]:
    d = data if isinstance(data, dict) else {}
    lookup, action = "`lookup: {table: orders.jsonl, key: order_id}`", '`action: {result: "Done."}`'
    if d.get("lookup") is not None and d.get("action") is not None:
        return ("action",), (f"a tool answers from a table ({lookup}) or records the call ({action}): keep one, "
                             "and make the other a tool of its own")
    return (), f"add {lookup} (answer from a table) or {action} (record the call and answer with a template)"


def workspace(data: Any, msg: str, line) -> tuple[tuple, str]:
    pair = _second((data or {}).get("models") if isinstance(data, dict) else None, "id")
    if "appears twice" in msg and pair:
        first = line(("models", pair[0], "id"))
        return ("models", pair[1], "id"), f"model ids must be unique; rename one (the other is on line {first})"
    return (), ""


MODEL_RULES: dict[str, Rule] = {
    "Criterion": criterion, "Load": load, "Policy": policy, "Scoring": scoring, "ModelSpec": model_spec,
    "Scenario": scenario, "Workspace": workspace, "User": user, "Tool": tool,
}
"""Hints for model validators, by model class name."""

FIELD_RULES: dict[tuple[str, str], Rule] = {
    ("Policy", "forbid"): forbid_pattern,
}
"""Hints for field validators, by (model class name, field)."""
