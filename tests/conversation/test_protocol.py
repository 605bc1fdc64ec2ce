"""The text protocol: which completions are tool actions, which are malformed ones, which are replies."""

from __future__ import annotations

import pytest

from roadtest.conversation.protocol import TEXT_PROTOCOL, parse_action, protocol_text, render_transcript


def test_one_json_line_is_the_action():
    a = parse_action('{"tool": "lookup_order", "arguments": {"order_id": "A17"}}')
    assert (a.tool, a.arguments, a.malformed) == ("lookup_order", {"order_id": "A17"}, False)


def test_args_is_accepted_for_arguments_and_missing_arguments_are_empty():
    assert parse_action('{"tool": "t", "args": {"x": 1}}').arguments == {"x": 1}
    assert parse_action('{"tool": "t"}').arguments == {}


def test_prose_then_an_action_line():
    a = parse_action('Let me check that for you.\n{"tool": "lookup_order", "arguments": {"order_id": "A17"}}')
    assert a.tool == "lookup_order" and a.text.startswith("Let me check")


def test_the_first_of_two_action_lines_wins():
    a = parse_action('{"tool": "first", "arguments": {}}\n{"tool": "second", "arguments": {}}')
    assert a.tool == "first"


@pytest.mark.parametrize("text", [
    '```\n{"tool": "lookup_order", "arguments": {"order_id": "A17"}}\n```',
    '```json\n{"tool": "lookup_order", "arguments": {"order_id": "A17"}}\n```',
    '`{"tool": "lookup_order", "arguments": {"order_id": "A17"}}`',
    # pretty-printed over several lines, as models often write JSON
    'Sure.\n```json\n{\n  "tool": "lookup_order",\n  "arguments": {"order_id": "A17"}\n}\n```',
    '{"tool": "lookup_order", "arguments": {"order_id": "A17"}} I will look it up.',
])
def test_code_fences_and_layouts_around_an_action(text):
    a = parse_action(text)
    assert (a.tool, a.arguments, a.malformed) == ("lookup_order", {"order_id": "A17"}, False)


@pytest.mark.parametrize("text", [
    '{"tool": "issue_refund", "arguments": {"order_id": "A17"}',      # the closing brace is missing
    "{'tool': 'issue_refund'}",                                       # Python, not JSON
    '{"tool": 7, "arguments": {}}',                                   # the name is not text
    '{"tool": "", "arguments": {}}',
    '{\n  "tool": "issue_refund",\n  "arguments": {"amount": \n}',   # a broken multi-line object
])
def test_lines_that_try_to_be_an_action_and_fail_are_malformed(text):
    a = parse_action(text)
    assert a.malformed is True and a.tool is None and isinstance(a.arguments, str) and a.arguments


@pytest.mark.parametrize("text", [
    "Your order A17 was delivered on 2 May.",
    '{"order_id": "A17", "status": "delivered"}',      # JSON without "tool" is just text
    "{sigh} I cannot find that order.",
    "The tool is broken, sorry.",
    "",
    None,
])
def test_replies_are_not_actions(text):
    a = parse_action(text)
    assert a.tool is None and a.malformed is False


def test_a_json_line_without_tool_does_not_hide_a_later_action():
    a = parse_action('{"order_id": "A17"}\n{"tool": "lookup_order", "arguments": {"order_id": "A17"}}')
    assert a.tool == "lookup_order"


def test_the_transcript_prompt():
    prompt = render_transcript("Be kind.", ["- t(x: string): does t"],
                               [("user", "Hi\nthere"), ("assistant", '{"tool": "t"}'), ("tool", "ok")])
    assert prompt == ("Be kind.\n\n" + TEXT_PROTOCOL.format(tools="- t(x: string): does t") +
                      '\n\nCustomer: Hi there\nAssistant: {"tool": "t"}\nTool result: ok\nAssistant:')
    assert "(none)" in protocol_text([])
