"""Declarative tools: lookups, actions, and every way a call can be refused (never a crash)."""

from __future__ import annotations

import json

import pytest

from roadtest.conversation.tools import MAX_ARGUMENT_CHARS, MAX_RESULT_CHARS, ToolBox, schema_problem, table_index
from roadtest.spec.scenario import Tool

LOOKUP = Tool(name="lookup_order", description="Find an order.",
              parameters={"type": "object", "properties": {"order_id": {"type": ["string", "integer"]}},
                          "required": ["order_id"]},
              lookup={"table": "orders.jsonl", "key": "order_id"})
REFUND = Tool(name="issue_refund", description="Refund an order.",
              parameters={"type": "object", "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{2,4}$"},
                                                           "amount": {"type": "number", "minimum": 0}},
                          "required": ["order_id", "amount"], "additionalProperties": False},
              action={"result": "Refunded {{ amount }} on order {{ order_id }}."})
CLOSE = Tool(name="close_case", description="Close the case.", action={"result": "Closed.", "ends": True})
ROWS = [{"order_id": "A17", "status": "delivered"}, {"order_id": 1234, "status": "lost"},
        {"order_id": "0042", "status": "open"}, {"order_id": "A17", "status": "a duplicate, never seen"}]


@pytest.fixture
def box():
    return ToolBox([LOOKUP, REFUND, CLOSE], {"lookup_order": table_index(ROWS, "order_id")})


def test_a_lookup_finds_its_row(box):
    r = box.call("c1", "lookup_order", '{"order_id": "A17"}')
    assert (r.valid, r.error) == (True, None)
    assert json.loads(r.result) == {"order_id": "A17", "status": "delivered"}   # the first row of a key wins


@pytest.mark.parametrize("key", ['"1234"', "1234", "1234.0"])
def test_numeric_and_text_keys_are_the_same_key(box, key):
    """The table has 1234 (a number); the model may send "1234", 1234 or 1234.0 (an integer to JSON Schema)."""
    r = box.call("c1", "lookup_order", '{"order_id": %s}' % key)
    assert r.valid and r.error is None and json.loads(r.result)["status"] == "lost"


def test_a_text_key_in_the_table_is_found_by_a_number():
    box = ToolBox([LOOKUP], {"lookup_order": table_index([{"order_id": "77", "status": "csv"}], "order_id")})
    assert json.loads(box.call("c", "lookup_order", '{"order_id": 77}').result)["status"] == "csv"


def test_leading_zeros_are_kept_in_text_keys(box):
    assert json.loads(box.call("c", "lookup_order", '{"order_id": "0042"}').result)["status"] == "open"
    assert box.call("c", "lookup_order", '{"order_id": 42}').error == "not_found"


def test_a_lookup_that_finds_nothing_is_a_valid_call_saying_so(box):
    r = box.call("c1", "lookup_order", '{"order_id": "Z9"}')
    assert (r.valid, r.error) == (True, "not_found")
    assert json.loads(r.result) == {"error": "no order_id 'Z9' found"}


def test_an_action_renders_its_template_with_the_arguments(box):
    r = box.call("c2", "issue_refund", '{"order_id": "A17", "amount": 25}')
    assert (r.valid, r.result, r.ends, r.arguments) == (True, "Refunded 25 on order A17.", False,
                                                         {"order_id": "A17", "amount": 25})


def test_an_ends_action(box):
    r = box.call("c3", "close_case", "")
    assert r.valid and r.ends and r.result == "Closed." and r.arguments == {}


def test_an_unknown_tool(box):
    r = box.call("c4", "delete_everything", "{}")
    assert (r.valid, r.error) == (False, "unknown_tool")
    assert "lookup_order, issue_refund, close_case" in r.result
    assert box.call("c4", None, "{}").error == "unknown_tool"


@pytest.mark.parametrize("arguments", ["{order_id: A17}", '{"order_id": "A17"', "[" * 5000])
def test_arguments_that_are_not_json(box, arguments):
    r = box.call("c5", "issue_refund", arguments)
    assert (r.valid, r.error) == (False, "bad_json") and r.result == "Error: the arguments are not valid JSON."


@pytest.mark.parametrize("arguments, why", [
    ('{"order_id": "A17"}', "'amount' is a required property"),
    ('{"order_id": "A17", "amount": "lots"}', "'lots' is not of type 'number'"),
    ('{"order_id": "A17", "amount": -1}', "less than the minimum"),
    ('{"order_id": "A17", "amount": 5, "note": "x"}', "Additional properties"),
    ('["A17", 25]', "arguments must be a JSON object"),
    ('"A17"', "arguments must be a JSON object"),
])
def test_arguments_that_break_the_schema(box, arguments, why):
    r = box.call("c6", "issue_refund", arguments)
    assert (r.valid, r.error) == (False, "invalid_arguments") and why in r.result


def test_a_schema_pattern_runs_on_re2(box):
    assert box.call("c", "issue_refund", '{"order_id": "A1234", "amount": 1}').valid is True
    bad = box.call("c", "issue_refund", '{"order_id": "B17", "amount": 1}')
    assert bad.valid is False and "does not match" in bad.result
    # a pattern Python's re backtracks on catastrophically (RE2 is in use: see the next test)
    nested = Tool(name="t", description="d", action={"result": "ok"},
                  parameters={"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}})
    assert ToolBox([nested]).call("c", "t", json.dumps({"s": "a" * 50})).valid is True
    assert ToolBox([nested]).call("c", "t", json.dumps({"s": "aaab"})).error == "invalid_arguments"


def test_a_pattern_re2_cannot_run_refuses_the_call_not_the_run():
    """A lookahead, which Python's re runs and RE2 does not: proof that schema patterns run on RE2."""
    tool = Tool(name="t", description="d", action={"result": "ok"},
                parameters={"type": "object", "properties": {"s": {"type": "string", "pattern": "(?=x)"}}})
    r = ToolBox([tool]).call("c", "t", '{"s": "x"}')
    assert r.valid is False and "cannot run" in r.result


@pytest.mark.parametrize("huge", [
    json.dumps({"order_id": "A17", "amount": 1, "pad": "x" * (MAX_ARGUMENT_CHARS + 1)}),     # text (chat protocol)
    {"order_id": "A17", "amount": 1, "pad": "x" * (MAX_ARGUMENT_CHARS + 1)},                 # parsed (text protocol)
])
def test_huge_arguments_are_refused(box, huge):
    r = box.call("c", "issue_refund", huge)
    assert (r.valid, r.error, r.result) == (False, "invalid_arguments", "Error: the arguments are too long.")
    assert len(str(r.arguments)) <= 2000


def test_a_huge_row_is_cut():
    box = ToolBox([LOOKUP], {"lookup_order": table_index([{"order_id": "A1", "notes": "n" * 10_000}], "order_id")})
    r = box.call("c", "lookup_order", '{"order_id": "A1"}')
    assert r.valid and len(r.result) <= MAX_RESULT_CHARS + 2 and r.result.endswith(" …")


def test_a_template_naming_an_argument_not_given_returns_its_own_text():
    tool = Tool(name="t", description="d", action={"result": "Hello {{ name }}."})
    assert ToolBox([tool]).call("c", "t", "{}").result == "Hello {{ name }}."


def test_the_tools_as_the_openai_field_and_as_text_signatures(box):
    names = [t["function"]["name"] for t in box.openai_tools()]
    assert names == ["lookup_order", "issue_refund", "close_case"]
    assert box.signatures()[1] == "- issue_refund(order_id: string, amount: number): Refund an order."
    assert box.signatures()[2] == "- close_case(): Close the case."


def test_schema_problems():
    assert schema_problem({"type": "object", "properties": {"a": {"type": "string"}}}) is None
    assert "type: object" in schema_problem({"type": "array"})
    assert "not a valid JSON Schema" in schema_problem({"type": "object", "properties": {"a": {"type": 5}}})
    assert "$ref" in schema_problem({"type": "object", "properties": {"a": {"$ref": "http://x/y.json"}}})
    assert "patternProperties" in schema_problem({"type": "object", "patternProperties": {"^a": {}}})


def test_tool_results_round_trip(box):
    r = box.call("c", "issue_refund", '{"order_id": "A17", "amount": 25}')
    from roadtest.conversation.tools import ToolResult
    assert ToolResult.from_dict(json.loads(json.dumps(r.as_dict()))) == r
