"""Fix-it hints for the spec's rules, found by the code of the error the rule raised (roadtest.spec.base.rule_error),
never by its wording: where exactly, and a corrected example.

Each hint gets what the user wrote at the error's place (a dict, usually), the error's context (`ctx`) and
`line(sub_loc)`, and returns (sub_loc, hint): sub_loc narrows the location inside that place.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from roadtest.load.expected import yaml_scalar
from roadtest.spec.metrics import METRICS
from roadtest.spec.model import BUNDLED_MODELS

Hint = Callable[[Any, dict, Callable[[tuple], int]], tuple[tuple, str]]


def _fixed(hint: str, where: tuple = ()) -> Hint:
    """A hint that does not depend on what was written."""
    return lambda data, ctx, line: (where, hint)


def _mapping(data: Any) -> dict:
    return data if isinstance(data, dict) else {}


def _fmt(value: Any) -> str:
    return yaml_scalar(value) if isinstance(value, str) else str(value)


def _threshold_example(metric: str) -> tuple[str, str]:
    info = METRICS.get(metric) if metric in METRICS else None
    if info is None or info.direction == "higher":
        return "at_least", "0.85" if info is None or info.unit == "proportion" else "1.0"
    return "at_most", {"proportion": "0.05", "seconds": "2.0"}.get(info.unit, "1.0")


def _criterion_claims(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    d = _mapping(data)
    metric = str(d.get("metric", "accuracy"))
    base = f"scenario: {_fmt(d.get('scenario', 'ticket-triage'))}, metric: {_fmt(metric)}"
    given = [k for k in ("at_least", "at_most", "versus", "no_worse_than", "equivalent_to") if d.get(k) is not None]
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


def _forbid_pattern(value: Any, ctx: dict, line) -> tuple[tuple, str]:
    literal = re.sub(r"([\\.^$*+?{}\[\]|()])", r"\\\1", str(value)).replace("'", "''")
    return (), (f"to match the text literally, escape its special characters: '{literal}' "
                "(in single quotes YAML keeps the backslashes); otherwise fix the pattern")


def _choices_unused(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    return ("choices",), f"remove `choices:`, or set `rule: choice` (now `rule: {ctx.get('rule')}`)"


def _actions_unused(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    where = ("expect",) if _mapping(data).get("expect") is not None else ("forbid",)
    return where, (f"remove `expect:` and `forbid:`, or score a `kind: conversation` scenario with "
                   f"`rule: end_state` (now `rule: {ctx.get('rule')}`)")


def _base_url_twice(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    return ("base_url",), (f"list each replica's endpoint once: remove the second {ctx.get('url')} "
                           "(two calls in flight on one server are `max_concurrency: 2`)")


def _needs_gguf(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    return (), (f"add `gguf: smollm2-135m-instruct` (bundled: {', '.join(BUNDLED_MODELS)}) "
                "or a path to a .gguf file")


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


def _single_with_turns(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    where = ("user",) if _mapping(data).get("user") is not None else ("tools",)
    return where, ("add `kind: conversation` (and score it with `scoring: {rule: end_state, expect: FIELD}`), "
                   "or remove `user:` and `tools:` from a single-prompt scenario")


def _conversation_variations(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    where = ("perturbations",) if _mapping(data).get("perturbations") else ("counterfactuals",)
    return where, ("remove `perturbations:` and `counterfactuals:` from a conversation (vary the customer with "
                   "a simulator's temperature and `repeats:` instead), or make it a single-prompt scenario")


def _tool_names(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    pair = _second(_mapping(data).get("tools"), "name")
    if pair is None:
        return ("tools",), "give each tool its own name"
    first = line(("tools", pair[0], "name"))
    return ("tools", pair[1], "name"), f"give each tool its own name (the first is on line {first})"


def _variant_names(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    pair = _second(_mapping(data).get("variants"), "name")
    if pair is None:
        return ("variants",), "rename the variant called 'base': that name is the scenario's own settings"
    return ("variants", pair[1], "name"), (f"give each variant its own name (the first is on line "
                                           f"{line(('variants', pair[0], 'name'))}); 'base' is reserved")


def _empty_stop(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    where = ("stop", ctx["index"]) if isinstance(ctx.get("index"), int) else ("stop",)
    return where, "remove the blank phrase: almost every message contains it, so it would end conversations at once"


def _model_twice(data: Any, ctx: dict, line) -> tuple[tuple, str]:
    pair = _second(_mapping(data).get("models"), "id")
    if pair is None:
        return (), ""
    first = line(("models", pair[0], "id"))
    return ("models", pair[1], "id"), f"model ids must be unique; rename one (the other is on line {first})"


LOOKUP_EXAMPLE, ACTION_EXAMPLE = "`lookup: {table: orders.jsonl, key: order_id}`", '`action: {result: "Done."}`'

HINTS: dict[str, Hint] = {
    # hypotheses
    "criterion_one_claim": _criterion_claims,
    "criterion_robust_threshold": _fixed("drop `robust_to_settings:`, or make the criterion a comparison, e.g. "
                                         "`no_worse_than: {model: gemma3-270m, margin: 0.02}`",
                                         ("robust_to_settings",)),
    "load_one_level": _fixed("write `load: {concurrency: 6}` (requests in flight) or `load: {rps: 2.0}` (requests "
                             "per second), not both"),
    "load_rps_digits": _fixed("round the rate, e.g. `rps: 2.5`: the level is archived with 6 significant digits and "
                              "the run sends at that rate", ("load", "rps")),
    # scenarios: scoring, policy
    "scoring_needs_choices": _fixed("add the allowed answers, e.g. `choices: [billing, shipping, account]`"),
    "scoring_choices_unused": _choices_unused,
    "scoring_needs_judge": _fixed('add `judge: {model: <a model id from roadtest.yaml>, rubric: "What a passing '
                                  'reply does."}`'),
    "scoring_needs_answer": _fixed("add `answer: <field>` naming the dataset field with the reference answer, e.g. "
                                   "`answer: answer`"),
    "scoring_needs_actions": _fixed("add `expect: expected_actions` (a dataset field listing the actions each case "
                                    "must take, e.g. [{tool: issue_refund, args: {order_id: A17}}]) and/or "
                                    "`forbid: forbidden_actions`"),
    "scoring_actions_unused": _actions_unused,
    "policy_no_rule": _fixed('e.g. `policy: {forbid: ["(?i)full refund guaranteed"]}`; the other rules are require, '
                             "must_refuse and judge"),
    "pattern_invalid": _forbid_pattern,
    # scenarios: which kind, and what that kind needs
    "scenario_single_with_turns": _single_with_turns,
    "scenario_single_needs_template": _fixed('add `template: "Question: {{ question }}\\nAnswer:"` under `prompt:` '
                                             "(the fields of a dataset row are its variables), or set `kind: "
                                             "conversation` for turns with a customer", ("prompt",)),
    "scenario_single_end_state": _fixed("add `kind: conversation` with `user:` and `tools:`, or pick a rule for one "
                                        f"prompt and one answer: {SINGLE_RULES}", ("scoring", "rule")),
    "scenario_conversation_needs_user": _fixed(f"add {USER_EXAMPLE}", ("kind",)),
    "scenario_conversation_rule": _fixed("write `scoring: {rule: end_state, expect: expected_actions}` (a dataset "
                                         "field listing the actions each conversation must take); judge what the "
                                         "assistant says with `policy:`", ("scoring", "rule")),
    "scenario_conversation_variations": _conversation_variations,
    "scenario_conversation_fewshot": _fixed("remove `prompt.fewshot:`; show the assistant how to behave in "
                                            "`prompt.system` instead", ("prompt", "fewshot")),
    "scenario_conversation_must_refuse": _fixed("remove `must_refuse:` and list the action the assistant must not "
                                                "take in the dataset field `scoring.forbid` names, e.g. "
                                                "[{tool: issue_refund}]", ("policy", "must_refuse")),
    "scenario_tool_names": _tool_names,
    "scenario_success_sentences": _fixed("keep `success:` to one sentence of what the product must do; reasons go "
                                         "in a hypothesis", ("success",)),
    "scenario_variant_names": _variant_names,
    # conversations: the customer, the tools
    "user_script_and_simulator": _fixed("keep `script:` (the customer's messages, from the dataset) or `simulator:` "
                                        "(a model plays the customer), not both; make the other a scenario of its "
                                        "own", ("simulator",)),
    "user_no_script_or_simulator": _fixed(f"write {USER_EXAMPLE}"),
    "user_empty_stop": _empty_stop,
    "tool_lookup_and_action": _fixed(f"a tool answers from a table ({LOOKUP_EXAMPLE}) or records the call "
                                     f"({ACTION_EXAMPLE}): keep one, and make the other a tool of its own",
                                     ("action",)),
    "tool_no_lookup_or_action": _fixed(f"add {LOOKUP_EXAMPLE} (answer from a table) or {ACTION_EXAMPLE} (record the "
                                       "call and answer with a template)"),
    # roadtest.yaml
    "model_needs_gguf": _needs_gguf,
    "model_local_base_url": _fixed("remove `base_url:`, or set `provider: openai` to use that endpoint",
                                   ("base_url",)),
    "model_needs_base_url": _fixed("add `base_url: https://api.openai.com/v1` (or your server's URL ending in /v1)"),
    "model_openai_replicas": _fixed("remove `replicas:` and list the endpoints instead, e.g. `base_url: "
                                    "[http://gpu-1:8000/v1, http://gpu-2:8000/v1]`", ("replicas",)),
    "model_base_url_twice": _base_url_twice,
    "workspace_model_twice": _model_twice,
}
"""Hint for each rule code of roadtest.spec."""

HINTLESS = frozenset({
    "dataset_group_and_strata",       # the message says what to do
    "scenario_conversation_judge",
    "traffic_empty",
    "duration_invalid",
})
"""Rule codes whose message is its own hint."""


def rule_hint(code: str, data: Any, ctx: dict | None, line: Callable[[tuple], int]) -> tuple[tuple, str]:
    """(sub_loc, hint) for a broken rule, by its code; ((), "") for a code without a hint."""
    hint = HINTS.get(code)
    return hint(data, ctx or {}, line) if hint is not None else ((), "")


def is_rule(code: str) -> bool:
    """The error is a broken spec rule (or a plain ValueError/assert of a validator), not a pydantic type error."""
    return code in HINTS or code in HINTLESS or code in ("value_error", "assertion_error")
