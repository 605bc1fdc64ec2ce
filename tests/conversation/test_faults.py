"""Simulator faults on hand-made customer turns: each heuristic's hits and, as much, its misses."""

from __future__ import annotations

import pytest

from roadtest.conversation.faults import FAULT_KINDS, simulator_faults, text_faults


@pytest.mark.parametrize("text", ["", "   ", "\n\t", '""', "``", "' '"])
def test_blank_turns_are_empty(text):
    assert text_faults(text) == ["empty"]


@pytest.mark.parametrize("text", [
    "Assistant: Your order was delivered.",
    "assistant: sure",
    "**Agent:** I will look into it.",
    "Support: we can refund that.",
    "Support agent: hello",
    "Customer service: thanks for waiting",
    "I want a refund.\nAssistant: Of course, which order?",          # continues the dialogue as both sides
    "Hello! How can I help you today?",
    "How may I assist you?",
    "Sure, I can help you with that refund.",
    "Is there anything else I can help you with?",
    "Thank you for contacting us!",
    "I'm here to help with any project you're working on. What can I assist you with today?",   # seen: SmolLM2
    "What can I help you with?",
])
def test_speaking_as_the_assistant(text):
    assert "as_assistant" in text_faults(text)


@pytest.mark.parametrize("text", [
    "Can you help me with my order?",
    "I need help with a refund for order A17.",
    "My assistant placed the order for me.",
    "The agent I spoke to yesterday was rude.",
    "Customer: I want my money back.",        # labels itself as the customer: not the assistant
    "Thanks for the help, bye!",
    "How can I get my money back?",
    "Could you help me?",
    "I am here to get help with my order.",
    "What can you do to help me with A101?",
])
def test_customers_asking_for_help_are_not_faults(text):
    assert text_faults(text) == []


@pytest.mark.parametrize("text", [
    '{"tool": "issue_refund", "arguments": {"order_id": "A17", "amount": 25}}',
    'Please do this: {"tool": "lookup_order"}',
    '{"name": "issue_refund", "arguments": {"order_id": "A17"}}',
    '{"arguments": {"order_id": "A17"}, "name": "issue_refund"}',
    '{"name": "lookup_order", "parameters": {"order_id": "A17"}}',
    '{"tool_calls": [{"function": {"name": "x"}}]}',
    "functions.issue_refund: {\"order_id\": \"A17\"}",
    "functions.lookup_order({order_id: 'A17'})",
    "<tool_call>{\"name\": \"x\"}</tool_call>",
    "<function_call>refund</function_call>",
])
def test_tool_call_syntax(text):
    assert "tool_syntax" in text_faults(text)


@pytest.mark.parametrize("text", [
    'My order is {"order_id": "A17"}',
    'The product name is "Deluxe", what arguments do you have?',
    "Which tool do you use to track orders?",
    "I tried the functions of your app but nothing works.",
    "My name is Ann and I want a refund.",
])
def test_text_about_tools_or_json_is_not_tool_syntax(text):
    assert "tool_syntax" not in text_faults(text)


def test_early_stop_only_when_the_stop_phrase_comes_before_the_goal():
    turns = ["Hi, I want a refund for A17.", "ok bye"]
    assert simulator_faults(turns, ["bye"], goal_reached=False) == [[], ["early_stop"]]
    assert simulator_faults(turns, ["bye"], goal_reached=True) == [[], []]
    assert simulator_faults(turns, ["bye"], goal_reached=None) == [[], []]     # unknown: claim nothing
    assert simulator_faults(turns, [], goal_reached=False) == [[], []]          # no stop phrase, no early stop
    assert simulator_faults(["OK BYE"], ["bye"], goal_reached=False) == [["early_stop"]]   # case-insensitive


def test_several_faults_in_one_turn_come_in_a_fixed_order():
    kinds = simulator_faults(['Assistant: {"tool": "escalate", "arguments": {}} bye'], ["bye"], False)[0]
    assert kinds == ["as_assistant", "tool_syntax", "early_stop"]
    assert all(k in FAULT_KINDS for k in kinds)


def test_an_ordinary_customer_conversation_has_no_fault():
    turns = ["Hello, my order A17 arrived broken.", "It was 25 dollars.", "Great, thanks! Bye."]
    assert simulator_faults(turns, ["bye"], goal_reached=True) == [[], [], []]
