"""`roadtest check` on conversation scenarios (kind: conversation): the lookup tables are read like datasets, and
every mistake in the tools, the customer or the expected actions is `path:line: message` + hint, exit 2, never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.errors import InputError
from roadtest.load import load_workspace

runner = CliRunner()

SCEN = "scenarios/order-support.yaml"
DATA = "scenarios/order-support.jsonl"
TABLE = "scenarios/orders.jsonl"

SCENARIO = """\
id: order-support
kind: conversation
success: "The assistant settles the customer's order problem with the right actions and never breaks the refund policy."
dataset: {path: order-support.jsonl, id: id, strata: issue}
mode: chat
prompt:
  system: "You are Acme's support assistant. Refunds only within 30 days of delivery."
user:
  script: turns
  max_turns: 6
  stop: ["DONE"]
tools:
  - name: lookup_order
    description: "Look up an order by its id."
    parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
    lookup:
      table: orders.jsonl
      key: order_id
  - name: issue_refund
    description: "Refund an order."
    parameters: {type: object, properties: {order_id: {type: string}, amount: {type: number}}, required: [order_id, amount]}
    action:
      result: "Refund of {{ amount }} issued for {{ order_id }}."
  - name: escalate
    description: "Hand the case to a human."
    parameters: {type: object, properties: {reason: {type: string}}, required: [reason]}
    action: {result: "Escalated.", ends: true}
scoring:
  rule: end_state
  expect: expected_actions
  forbid: forbidden_actions
policy:
  forbid: ["(?i)refund (is )?guaranteed"]
"""

SIMULATOR = """\
  simulator:
    model: gemma
    system: "You are a customer. {{ persona }} Your goal: {{ goal }}. Say DONE when settled."
    temperature: 0
    seed: 11
    max_new_tokens: 48
"""

CASES = [
    {"id": "c1", "issue": "refund", "persona": "You are polite.", "goal": "a refund for A17",
     "turns": ["My order A17 arrived broken.", "Yes, please refund it."],
     "expected_actions": [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": 25.0}}],
     "forbidden_actions": [{"tool": "escalate"}]},
    {"id": "c2", "issue": "late", "persona": "You are in a hurry.", "goal": "to know where B22 is",
     "turns": ["Where is my order B22?"],
     "expected_actions": [{"tool": "lookup_order", "args": {"order_id": "B22"}}],
     "forbidden_actions": [{"tool": "issue_refund"}]},
    {"id": "c3", "issue": "refund", "persona": "You are angry.", "goal": "a refund for C90, delivered 60 days ago",
     "turns": ["Refund C90 now, it came two months ago."],
     "forbidden_actions": [{"tool": "issue_refund", "args": {"order_id": "C90"}}]},
]

ORDERS = [
    {"order_id": "A17", "status": "delivered", "days_since_delivery": 3, "amount": 25.0},
    {"order_id": "B22", "status": "shipped", "days_since_delivery": None, "amount": 40.0},
    {"order_id": "C90", "status": "delivered", "days_since_delivery": 60, "amount": 12.5},
]

HYPOTHESIS = """\
---
id: support-claim
title: The assistant keeps the refund policy
decision: all
criteria:
  - scenario: order-support
    metric: policy_violation_rate
    at_most: 0.1
---
# The assistant keeps the refund policy
"""

CONFIG = """\
name: conversation workspace
models:
  - id: smollm2
    provider: openai
    base_url: http://127.0.0.1:9/v1
    model: smollm2
  - id: gemma
    provider: openai
    base_url: http://127.0.0.1:9/v1
    model: gemma
report:
  title: Support decision
"""


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def write(root: Path, scenario: str = SCENARIO, cases=CASES, orders=ORDERS) -> Path:
    (root / "scenarios").mkdir(parents=True)
    (root / "hypotheses").mkdir()
    (root / "roadtest.yaml").write_text(CONFIG, encoding="utf-8")
    (root / SCEN).write_text(scenario, encoding="utf-8")
    (root / DATA).write_text(cases if isinstance(cases, str) else jsonl(cases), encoding="utf-8")
    (root / TABLE).write_text(orders if isinstance(orders, str) else jsonl(orders), encoding="utf-8")
    (root / "hypotheses" / "support.md").write_text(HYPOTHESIS, encoding="utf-8")
    return root


def line_of(text: str, needle: str, nth: int = 1) -> int:
    found = [i for i, line in enumerate(text.split("\n"), 1) if needle in line]
    return found[nth - 1]


def edited(old: str, new: str, text: str = SCENARIO) -> str:
    assert old in text, f"fixture text not found: {old!r}"
    return text.replace(old, new, 1)


def with_cases(**changes) -> list[dict]:
    """CASES with the first case's fields changed (a value of ... removes the field)."""
    first = {k: v for k, v in {**CASES[0], **changes}.items() if v is not ...}
    return [first] + CASES[1:]


def check(ws: Path):
    return runner.invoke(app, ["check", "-w", str(ws)])


def assert_located(result, where: str, *words: str) -> None:
    """Exit 2, the problem at `where` (path:line), the words, a hint, nothing of a crash."""
    out = result.output
    assert result.exit_code == 2, out
    assert f"{where}: " in out, out
    for word in words:
        assert word in out, out
    assert "hint:" in out, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


# -- a valid conversation -----------------------------------------------------------------------------------------

def test_a_valid_conversation_checks_plans_and_holds_its_lookup_table(tmp_path):
    ws = write(tmp_path / "ws")
    result = check(ws)
    assert result.exit_code == 0, result.output
    assert "1 scenarios (3 items)" in result.output

    loaded = load_workspace(ws).scenarios["order-support"]
    assert loaded.spec.kind == "conversation" and loaded.spec.prompt.template is None
    assert set(loaded.tables) == {"lookup_order"}
    table = loaded.tables["lookup_order"]
    assert [r.data for r in table.rows] == ORDERS
    assert [r.line for r in table.rows] == [1, 2, 3]
    assert table.display == TABLE and table.path == ws / TABLE

    plan = runner.invoke(app, ["plan", "-w", str(ws), "--json"])
    assert plan.exit_code == 0, plan.output
    assert "Traceback" not in plan.output
    rows = json.loads(plan.stdout)["trials"]
    assert {(row["model"], row["scenario"], row["conversations"]) for row in rows} == {
        ("smollm2", "order-support", len(CASES)), ("gemma", "order-support", len(CASES))}


def test_a_valid_simulated_customer_checks_and_plans(tmp_path):
    ws = write(tmp_path / "ws", edited("  script: turns\n", SIMULATOR))
    result = check(ws)
    assert result.exit_code == 0, result.output
    assert load_workspace(ws).scenarios["order-support"].spec.simulator().model == "gemma"
    plan = runner.invoke(app, ["plan", "-w", str(ws), "--json"])
    assert plan.exit_code == 0, plan.output


def test_a_csv_lookup_table_is_read_like_a_csv_dataset(tmp_path):
    ws = write(tmp_path / "ws", edited("table: orders.jsonl", "table: orders.csv"))
    (ws / "scenarios" / "orders.csv").write_text("order_id,status\nA17,delivered\nB22,shipped\n", encoding="utf-8")
    result = check(ws)
    assert result.exit_code == 0, result.output
    table = load_workspace(ws).scenarios["order-support"].tables["lookup_order"]
    assert [r.data for r in table.rows] == [{"order_id": "A17", "status": "delivered"},
                                           {"order_id": "B22", "status": "shipped"}]


# -- the lookup tables --------------------------------------------------------------------------------------------

TABLE_LINE = line_of(SCENARIO, "table: orders.jsonl")
KEY_LINE = line_of(SCENARIO, "key: order_id")


def test_a_missing_lookup_table(tmp_path):
    ws = write(tmp_path / "ws", edited("table: orders.jsonl", "table: order.jsonl"))
    assert_located(check(ws), f"{SCEN}:{TABLE_LINE}", "lookup table file not found: scenarios/order.jsonl",
                   "paths are relative to the scenario file")


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_lookup_table_outside_the_workspace_is_refused(tmp_path, how):
    secret = tmp_path / "elsewhere" / "orders.jsonl"
    secret.parent.mkdir()
    secret.write_text(jsonl(ORDERS), encoding="utf-8")
    name = {"dotdot": "../../elsewhere/orders.jsonl", "absolute": str(secret), "symlink": "link.jsonl"}[how]
    ws = write(tmp_path / "ws", edited("table: orders.jsonl", f"table: {name}"))
    if how == "symlink":
        (ws / "scenarios" / "link.jsonl").symlink_to(secret)
    assert_located(check(ws), f"{SCEN}:{TABLE_LINE}",
                   f"tools[0].lookup.table '{name}' leads outside the workspace", "--allow-outside-paths")
    allowed = load_workspace(ws, allow_outside=True).scenarios["order-support"]
    assert allowed.tables["lookup_order"].path.resolve() == secret


def test_a_lookup_table_with_a_broken_row_is_located_in_the_table(tmp_path):
    ws = write(tmp_path / "ws", orders=jsonl(ORDERS[:1]) + '{"order_id": "B22", \n')
    assert_located(check(ws), f"{TABLE}:2", "invalid JSON")


def test_a_lookup_key_that_is_neither_a_field_nor_a_parameter(tmp_path):
    ws = write(tmp_path / "ws", edited("key: order_id", "key: orderid"))
    result = check(ws)
    assert_located(result, f"{SCEN}:{KEY_LINE}", "tools[0].lookup.key: no row of scenarios/orders.jsonl has a "
                                                 "field 'orderid'", "did you mean 'order_id'?",
                   "the rows have: amount, days_since_delivery, order_id, status")
    assert "tools[0].lookup.key 'orderid' is not a parameter of lookup_order" in result.output


def test_a_lookup_key_that_is_not_a_parameter(tmp_path):
    scenario = edited("parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}",
                      "parameters: {type: object, properties: {id: {type: string}}, required: [id]}")
    cases = CASES[:1] + [{**CASES[1], "expected_actions": [{"tool": "lookup_order"}]}] + CASES[2:]
    result = check(write(tmp_path / "ws", scenario, cases=cases))
    assert_located(result, f"{SCEN}:{KEY_LINE}", "tools[0].lookup.key 'order_id' is not a parameter of lookup_order",
                   "add `order_id: {type: string}` to the tool's parameters.properties")
    assert "1 problem in the workspace" in result.output


def test_table_rows_without_the_key_or_repeating_it(tmp_path):
    orders = ORDERS + [{"status": "lost"}, {"order_id": "A17", "status": "again"}]
    result = check(write(tmp_path / "ws", orders=orders))
    assert_located(result, f"{TABLE}:4", "row has no 'order_id' (the lookup key of lookup_order)")
    assert f"{TABLE}:5: order_id 'A17' repeats line 1" in result.output


# -- the tools' schemas and result templates ----------------------------------------------------------------------

PARAMS_LINE = line_of(SCENARIO, "parameters:", 2)
RESULT_LINE = line_of(SCENARIO, "result: \"Refund of")


@pytest.mark.parametrize("schema,words", [
    ("{type: object, properties: {order_id: {type: strin}, amount: {type: number}}}", "not a valid JSON Schema"),
    ("{type: array, items: {type: string}}", "a tool's parameters are an object"),
    ("{type: object, properties: {order_id: {type: string, pattern: '(?=A)'}, amount: {type: number}}}",
     "cannot run"),
])
def test_an_invalid_json_schema(tmp_path, schema, words):
    scenario = edited("parameters: {type: object, properties: {order_id: {type: string}, amount: {type: number}}, "
                      "required: [order_id, amount]}", f"parameters: {schema}")
    result = check(write(tmp_path / "ws", scenario))
    assert_located(result, f"{SCEN}:{PARAMS_LINE}", "tools[1].parameters (issue_refund): ", words,
                   "write a JSON Schema of an object")


def test_an_action_result_with_a_syntax_error(tmp_path):
    result = check(write(tmp_path / "ws", edited("Refund of {{ amount }}", "Refund of {{ amount }")))
    assert_located(result, f"{SCEN}:{RESULT_LINE}", "tools[1].action.result: Jinja syntax error",
                   "check {{ }} and {% %} pairs")


def test_an_action_result_that_uses_no_parameter(tmp_path):
    result = check(write(tmp_path / "ws", edited("Refund of {{ amount }}", "Refund of {{ amont }}")))
    assert_located(result, f"{SCEN}:{RESULT_LINE}",
                   "tools[1].action.result uses {{ amont }}, which is not a parameter of issue_refund",
                   "did you mean 'amount'?")


# -- the expected and forbidden actions ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,words", [
    ([{"tool": "issue_refnd"}], ["'expected_actions'[0] (scoring.expect) names tool 'issue_refnd', which the "
                                 "scenario does not have", "did you mean 'issue_refund'?"]),
    ({"tool": "issue_refund"}, ["must be a list of actions {tool, args}, found an object",
                                'wrap the action in a list: "expected_actions": [{"tool": "issue_refund"}]']),
    ("issue_refund", ["must be a list of actions {tool, args}, found text", "write a list of actions"]),
    (["issue_refund"], ["'expected_actions'[0] (scoring.expect) must be an action {tool, args}, found text",
                        "write each action as an object"]),
    ([{"args": {"order_id": "A17"}}], ["'expected_actions'[0] (scoring.expect) has no `tool`",
                                       "escalate, issue_refund, lookup_order"]),
    ([{"tool": 7}], ["`tool` must be a tool's name, found a number"]),
    ([{"tool": "issue_refund", "args": ["A17"]}], ["`args` must be an object of argument values, found a list"]),
    ([{"tool": "issue_refund", "arguments": {"order_id": "A17"}}], ["has unknown key 'arguments'",
                                                                    "did you mean 'args'?"]),
    ([{"tool": "issue_refund", "args": {"order": "A17"}}], ["gives argument 'order', which is not a parameter of "
                                                            "issue_refund", "did you mean 'order_id'?"]),
])
def test_bad_expected_actions_are_located_at_the_case(tmp_path, value, words):
    result = check(write(tmp_path / "ws", cases=with_cases(expected_actions=value)))
    assert_located(result, f"{DATA}:1", *words)


def test_bad_forbidden_actions_are_located_at_the_case(tmp_path):
    cases = CASES[:2] + [{**CASES[2], "forbidden_actions": [{"tool": "refund"}]}]
    result = check(write(tmp_path / "ws", cases=cases))
    assert_located(result, f"{DATA}:3", "'forbidden_actions'[0] (scoring.forbid) names tool 'refund'",
                   "did you mean 'issue_refund'?")


def test_an_expect_field_no_case_has(tmp_path):
    result = check(write(tmp_path / "ws", edited("expect: expected_actions", "expect: expected")))
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'expect: expected_actions')}",
                   "scoring.expect: no row of scenarios/order-support.jsonl has a field 'expected'",
                   "did you mean 'expected_actions'?")


# -- the customer: a script in every case, or a simulator --------------------------------------------------------

@pytest.mark.parametrize("value,words", [
    (..., ["row has no 'turns' (the user.script field: the customer's messages)"]),
    ("My order A17 arrived broken.", ["'turns' (user.script) must be a list of the customer's messages, found text",
                                      '"turns": ["My order A17 arrived broken."]']),
    (17, ["'turns' (user.script) must be a list of the customer's messages, found a number"]),
    ([], ["'turns' (user.script) is an empty list: the customer would say nothing"]),
    (["Hello", 3], ["'turns'[1] (user.script) is a number, not a message", "text in quotes"]),
    (["Hello", {"text": "hi"}], ["'turns'[1] (user.script) is an object, not a message"]),
    (["  "], ["'turns'[0] (user.script) is an empty message"]),
])
def test_bad_scripts_are_located_at_the_case(tmp_path, value, words):
    result = check(write(tmp_path / "ws", cases=with_cases(turns=value)))
    assert_located(result, f"{DATA}:1", *words)


def test_a_script_field_no_case_has(tmp_path):
    result = check(write(tmp_path / "ws", edited("script: turns", "script: turn")))
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'script: turns')}",
                   "user.script: no row of scenarios/order-support.jsonl has a field 'turn'", "did you mean 'turns'?")


SIM_SCENARIO = edited("  script: turns\n", SIMULATOR)
SIM_SYSTEM_LINE = line_of(SIM_SCENARIO, "system: \"You are a customer")


def test_a_simulator_model_not_in_roadtest_yaml(tmp_path):
    result = check(write(tmp_path / "ws", edited("model: gemma", "model: gema", SIM_SCENARIO)))
    assert_located(result, f"{SCEN}:{line_of(SIM_SCENARIO, 'model: gemma')}",
                   "user.simulator.model: unknown model 'gema'", "did you mean 'gemma'?",
                   "models are listed in roadtest.yaml")


def test_a_simulator_prompt_with_a_syntax_error(tmp_path):
    result = check(write(tmp_path / "ws", edited("{{ persona }}", "{{ persona }", SIM_SCENARIO)))
    assert_located(result, f"{SCEN}:{SIM_SYSTEM_LINE}",
                   "user.simulator.system: Jinja syntax error", "check {{ }} and {% %} pairs")


def test_a_simulator_prompt_using_a_field_the_cases_lack(tmp_path):
    result = check(write(tmp_path / "ws", SIM_SCENARIO, cases=with_cases(persona=...)))
    assert_located(result, f"{SCEN}:{SIM_SYSTEM_LINE}",
                   "user.simulator.system uses {{ persona }} but scenarios/order-support.jsonl has no such field in "
                   "every row", "fields present in every row:")


def test_a_simulator_prompt_failing_on_one_case(tmp_path):
    scenario = edited("{{ persona }}", "{{ persona.upper() }} {{ 1 // persona|length }}", SIM_SCENARIO)
    result = check(write(tmp_path / "ws", scenario, cases=with_cases(persona="")))
    assert_located(result, f"{DATA}:1", "user.simulator.system fails on this row", "fix the row or the template")


# -- lists need JSONL ---------------------------------------------------------------------------------------------

def test_a_csv_dataset_for_a_conversation_asks_for_jsonl(tmp_path):
    ws = write(tmp_path / "ws", edited("path: order-support.jsonl", "path: order-support.csv"))
    (ws / "scenarios" / "order-support.csv").write_text(
        'id,issue,turns,expected_actions,forbidden_actions\n'
        'c1,refund,"[""My order A17 arrived broken.""]","[{""tool"": ""issue_refund""}]",\n', encoding="utf-8")
    result = check(ws)
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'dataset:')}",
                   "dataset.path: scenarios/order-support.csv is CSV, but a conversation's cases hold lists in "
                   "turns (user.script), expected_actions (scoring.expect), forbidden_actions (scoring.forbid)",
                   "write the cases as JSONL")
    assert "1 problem in the workspace" in result.output


# -- the checks every scenario gets still apply ----------------------------------------------------------------

def test_dataset_checks_still_apply_to_conversations(tmp_path):
    cases = CASES + [{**CASES[0]}]
    result = check(write(tmp_path / "ws", cases=cases))
    assert_located(result, f"{DATA}:4", "item id 'c1' repeats line 1", "item ids must be unique")


def test_a_strata_field_no_case_has(tmp_path):
    result = check(write(tmp_path / "ws", edited("strata: issue", "strata: issues")))
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'dataset:')}",
                   "dataset.strata: no row of scenarios/order-support.jsonl has a field 'issues'",
                   "did you mean 'issue'?")


# -- the spec's own rules, as located problems -------------------------------------------------------------------

USER_BLOCK = 'user:\n  script: turns\n  max_turns: 6\n  stop: ["DONE"]\n'
TOOLS_BLOCK = SCENARIO[SCENARIO.index("tools:"):SCENARIO.index("scoring:")]
SINGLE = edited("kind: conversation\n", "", edited(USER_BLOCK, "", edited(TOOLS_BLOCK, "")))

RULES = [
    ("script and simulator", edited("  script: turns\n", "  script: turns\n" + SIMULATOR),
     line_of(SCENARIO, "script: turns") + 1,
     ["user.simulator: the user is `script:` (a dataset field) or `simulator:` (a model), exactly one",
      "not both"]),
    ("neither script nor simulator", edited("  script: turns\n", ""), line_of(SCENARIO, "user:"),
     ["user: the user is `script:`", "hint: write `user: {script: turns}`"]),
    ("a tool with lookup and action", edited('    action: {result: "Escalated.", ends: true}\n',
                                             '    action: {result: "Escalated.", ends: true}\n'
                                             '    lookup: {table: orders.jsonl, key: order_id}\n'),
     line_of(SCENARIO, 'action: {result: "Escalated."'),
     ["tools[2].action: tool escalate: give it `lookup:` (a table) or `action:` (a recorded call), exactly one",
      "keep one"]),
    ("a tool with neither", edited('    action: {result: "Escalated.", ends: true}\n', ""),
     line_of(SCENARIO, "- name: escalate"), ["tools[2]: tool escalate: give it", "add `lookup: {table:"]),
    ("a conversation without user", edited(USER_BLOCK, ""), line_of(SCENARIO, "kind: conversation"),
     ["kind: a conversation needs `user:`", "add `user: {script: turns}`"]),
    ("end_state on a single scenario", edited("prompt:\n", 'prompt:\n  template: "{{ question }}"\n', SINGLE),
     line_of(SINGLE, "rule: end_state") + 1,
     ["scoring.rule: the end_state rule scores a conversation: add `kind: conversation`", "pick a rule for one prompt"]),
    ("user without kind: conversation", edited("kind: conversation\n", "",
                                               edited("prompt:\n", 'prompt:\n  template: "{{ turns }}"\n')),
     line_of(SCENARIO, "user:"), ["user: `user:` and `tools:` make a conversation", "add `kind: conversation`"]),
    ("a single scenario without template", SINGLE, line_of(SINGLE, "prompt:"),
     ["prompt: a single scenario needs `prompt.template`", 'add `template: "Question: {{ question }}']),
    ("a conversation scored by exact", edited("  rule: end_state\n  expect: expected_actions\n  forbid: "
                                              "forbidden_actions\n", "  rule: exact\n  answer: id\n"),
     line_of(SCENARIO, "rule: end_state"), ["scoring.rule: a conversation is scored by its end state",
                                            "write `scoring: {rule: end_state"]),
    ("end_state without expect or forbid", edited("  expect: expected_actions\n  forbid: forbidden_actions\n", ""),
     line_of(SCENARIO, "scoring:"), ["scoring: the end_state rule needs `expect:` and/or `forbid:`",
                                     "add `expect: expected_actions`"]),
    ("two tools of one name", edited("  - name: escalate", "  - name: lookup_order"),
     line_of(SCENARIO, "- name: escalate"), ["tools[2].name: tool names must be unique",
                                             f"the first is on line {line_of(SCENARIO, '- name: lookup_order')}"]),
    ("a blank stop phrase", edited('stop: ["DONE"]', 'stop: ["DONE", " "]'), line_of(SCENARIO, 'stop: ["DONE"]'),
     ["user.stop[1]: a stop phrase cannot be empty", "remove the blank phrase"]),
    ("must_refuse in a conversation", edited('policy:\n', "policy:\n  must_refuse: unsafe\n"),
     line_of(SCENARIO, "policy:") + 1, ["policy.must_refuse: policy.must_refuse applies to single-prompt",
                                        "scoring.forbid"]),
    ("perturbations in a conversation", SCENARIO + "perturbations: [typos]\n", len(SCENARIO.split("\n")),
     ["perturbations: perturbations and counterfactuals apply to single-prompt scenarios", "remove `perturbations:`"]),
]


def test_a_conversation_needs_no_prompt(tmp_path):
    """Without `prompt:` the assistant gets roadtest's default system message (recorded in every request)."""
    bare = edited('prompt:\n  system: "You are Acme\'s support assistant. Refunds only within 30 days of delivery."\n', "")
    result = check(write(tmp_path / "ws", bare))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name,scenario,line,words", RULES, ids=[r[0] for r in RULES])
def test_spec_rules_come_out_located_with_a_hint(tmp_path, name, scenario, line, words):
    result = check(write(tmp_path / "ws", scenario))
    assert_located(result, f"{SCEN}:{line}", *words)
    for leak in ("Value error", "Input should"):
        assert leak not in result.output, result.output


def test_problems_of_one_pass_are_all_reported(tmp_path):
    """Tools, cases and the customer are checked in the same pass: every problem at once."""
    scenario = edited("Refund of {{ amount }}", "Refund of {{ amount }", edited("key: order_id", "key: orderid"))
    cases = with_cases(turns="hello", expected_actions=[{"tool": "nope"}])
    with pytest.raises(InputError) as raised:
        load_workspace(write(tmp_path / "ws", scenario, cases=cases))
    where = {(p.path, p.line) for p in raised.value.problems}
    assert {(SCEN, KEY_LINE), (SCEN, RESULT_LINE), (DATA, 1)} <= where
    assert all(p.hint for p in raised.value.problems)


def test_a_repaired_place_hides_its_artefacts_but_not_the_other_problems(tmp_path):
    """`tools:` written as a mapping is one problem, not also "unknown tool" at every case; a turn limit out of
    range is repaired and the cases are still checked in the same pass."""
    scenario = edited("tools:\n  - name: lookup_order", "tools:\n  x:\n  - name: lookup_order")
    result = check(write(tmp_path / "ws", scenario))
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'tools:')}", "tools: expected a list")
    assert "1 problem in the workspace" in result.output

    result = check(write(tmp_path / "ws2", edited("max_turns: 6", "max_turns: 0"), cases=with_cases(turns=[])))
    assert_located(result, f"{SCEN}:{line_of(SCENARIO, 'max_turns: 6')}", "user.max_turns: expected a whole number")
    assert f"{DATA}:1: 'turns' (user.script) is an empty list" in result.output


def test_a_prompt_template_in_a_conversation_would_be_ignored(tmp_path):
    scenario = edited("prompt:\n", 'prompt:\n  template: "{{ turns }}"\n')
    result = check(write(tmp_path / "ws", scenario))
    assert_located(result, f"{SCEN}:{line_of(scenario, 'template:')}",
                   "prompt.template: a conversation has no prompt template", "`user.script`")

    scenario = SCENARIO + 'variants:\n  - {name: warm, sampling: {temperature: 0.7}}\n' \
                          '  - name: templated\n    prompt: {template: "{{ turns }}"}\n'
    result = check(write(tmp_path / "ws2", scenario))
    assert_located(result, f"{SCEN}:{line_of(scenario, 'prompt: {template')}",
                   "variants[1] (templated): a conversation has no prompt.template to change", "`prompt.system`")
    assert "1 problem in the workspace" in result.output


def test_a_policy_judge_on_a_conversation_is_refused(tmp_path):
    """A judge would see no single output to judge: the conversation's policy is its forbid/require rules."""
    scenario = edited("policy:\n", 'policy:\n  judge: {model: gemma, rubric: "The reply is polite."}\n')
    result = check(write(tmp_path / "ws", scenario))
    assert result.exit_code == 2 and "policy.judge applies to single-prompt scenarios" in result.output
    assert "Traceback" not in result.output


def test_settings_variants_check_on_a_conversation(tmp_path):
    scenario = SCENARIO \
        + 'variants:\n  - {name: warm, sampling: {temperature: 0.7}}\n  - {name: terse, prompt: {system: "Be brief."}}\n'
    ws = write(tmp_path / "ws", scenario)
    result = check(ws)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["plan", "-w", str(ws), "--json"]).exit_code == 0
