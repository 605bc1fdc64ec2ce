"""The conversation state machine driven by hand: how conversations end, what each call sends, replay."""

from __future__ import annotations

import json

import pytest

from roadtest.conversation.dialogue import OPENING, Dialogue, replay, turn_id
from roadtest.conversation.protocol import STOP
from tests.conversation.helpers import (
    BASE_MODEL, call, chat, completion, drive, entry, failure, finish, scenario, simulated, toolbox,
)

REFUND = call("issue_refund", {"order_id": "A17", "amount": 25})
LOOKUP = call("lookup_order", {"order_id": "A17"}, "c_look")


def test_a_stop_phrase_ends_the_conversation_and_is_not_sent():
    spec = scenario()
    conv = entry(spec)
    d, records = drive(conv, toolbox(spec), [chat("", LOOKUP), chat("Refunding now.", REFUND), chat("Done: 25 back.")])
    finish(d)
    o = d.outcome()
    assert (o.ended, o.error, o.end_state) == ("stop", None, True)
    assert (o.assistant_turns, o.user_turns, o.tool_calls, o.invalid_tool_calls) == (3, 1, 2, 0)
    assert [r["trial_id"] for r in records] == [turn_id(conv.id, k, "assistant") for k in range(3)]
    # "Thanks, bye" holds the stop phrase: shown in the transcript, never sent to the model
    assert o.events[-1].role == "user" and o.events[-1].text == "Thanks, bye"
    last_sent = records[-1]["request"]["body"]["messages"]
    assert all("bye" not in str(m.get("content")) for m in last_sent)


def test_tool_results_go_back_as_tool_messages_by_default():
    spec = scenario()
    conv = entry(spec)
    assert conv.dialogue["tool_results"] == "tool"
    d, records = drive(conv, toolbox(spec), [chat("", LOOKUP)])
    body = d.next_call().body
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    tool, asked = body["messages"][-1], body["messages"][2]["tool_calls"][0]
    assert tool["tool_call_id"] == asked["id"] and json.loads(tool["content"])["status"] == "delivered"
    assert asked["function"] == {"name": "lookup_order", "arguments": '{"order_id": "A17"}'}
    assert body["tools"][0]["function"]["name"] == "lookup_order"
    assert records[0]["tool_results"][0]["valid"] is True


def test_tool_results_as_user_messages_when_the_dialogue_says_so():
    spec = scenario()
    d, _ = drive(entry(spec, tool_results="user"), toolbox(spec), [chat("", LOOKUP)])
    messages = d.next_call().body["messages"]
    assert "tool" not in [m["role"] for m in messages]
    assert messages[-1]["role"] == "user" and messages[-1]["content"].startswith("Tool result (lookup_order): {")


def test_the_script_running_out_ends_it():
    spec = scenario()
    d, _ = drive(entry(spec, {"script": ["Refund A17 please."]}), toolbox(spec), [chat("", REFUND), chat("Done.")])
    finish(d)
    assert d.outcome().ended == "script_end" and d.outcome().end_state is True


def test_max_turns_counts_assistant_calls_tool_only_ones_included():
    spec = scenario()
    d, records = drive(entry(spec, max_turns=2), toolbox(spec), [chat("", LOOKUP), chat("", LOOKUP)])
    finish(d)
    o = d.outcome()
    assert (o.ended, o.assistant_turns, o.end_state) == ("max_turns", 2, False)
    assert o.missing == [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": 25.0}}]


def test_an_ends_tool_ends_it_and_a_forbidden_action_fails_the_end_state():
    spec = scenario()
    d, _ = drive(entry(spec), toolbox(spec), [chat("Let me get a human.", call("escalate", {}))])
    finish(d)
    o = d.outcome()
    assert o.ended == "tool_end" and o.forbidden == [{"tool": "escalate"}] and o.end_state is False
    assert [e.role for e in o.events] == ["user", "assistant", "tool_call", "tool_result"]


def test_an_invalid_ends_tool_call_does_not_end_it():
    spec = scenario()
    d, _ = drive(entry(spec), toolbox(spec), [chat("", call("escalate", "{not json"))])
    assert d.next_call() is not None and d.ended is None


def test_a_failed_call_ends_it_as_an_error():
    spec = scenario()
    d, _ = drive(entry(spec), toolbox(spec), [chat("", LOOKUP), failure("http_500", "boom")])
    finish(d)
    o = d.outcome()
    assert (o.ended, o.error, o.end_state) == ("error", "http_500", None)


def test_text_protocol_for_a_completion_model():
    spec = scenario()
    conv = entry(spec, model=BASE_MODEL)
    assert conv.endpoint == "completions" and conv.dialogue["protocol"] == "text"
    d = Dialogue(conv, toolbox(spec))
    first = d.next_call()
    prompt = first.body["prompt"]
    assert prompt.startswith("You are the shop's support assistant.")
    assert "- lookup_order(order_id: string): Find an order by its id." in prompt
    assert "- issue_refund(order_id: string, amount: number): Refund an order." in prompt
    assert prompt.endswith("Customer: I want my money back for order A17.\nAssistant:")
    assert set(STOP) <= set(first.body["stop"])
    from tests.conversation.helpers import record
    d.take(record(first, completion(' {"tool": "lookup_order", "arguments": {"order_id": "A17"}}')))
    second = d.next_call().body["prompt"]
    assert '\nAssistant: {"arguments": {"order_id": "A17"}, "tool": "lookup_order"}\nTool result: {' in second
    assert second.endswith("Assistant:")
    d.take(record(d.next_call(), completion(' {"tool": "issue_refund", "arguments": {"order_id": "A17", "amount": 25.0}}')))
    d.take(record(d.next_call(), completion(" Your refund of 25 is on its way.")))
    finish(d)
    o = d.outcome()
    assert (o.ended, o.end_state, o.tool_calls) == ("stop", True, 2)
    assert [e.role for e in o.events].count("assistant") == 1


def test_a_malformed_text_action_is_an_invalid_call_the_model_is_told_about():
    spec = scenario()
    conv = entry(spec, model=BASE_MODEL)
    d, _ = drive(conv, toolbox(spec), [completion('{"tool": "issue_refund", "arguments": {"order_id": "A17"')])
    assert d.results[0].valid is False and d.results[0].error == "bad_json"
    assert "Tool result: Error: that line is not a JSON action" in d.next_call().body["prompt"]


def test_a_simulated_customer_speaks_first_and_hears_the_assistant():
    spec = simulated()
    conv = entry(spec)
    d = Dialogue(conv, toolbox(spec))
    first = d.next_call()
    assert (first.role, first.model, first.id) == ("user", "sim", turn_id(conv.id, 0, "user"))
    assert first.body["messages"][0]["content"].startswith("You are a customer. Your goal: get a refund of 25")
    assert first.body["messages"][-1] == {"role": "user", "content": OPENING}
    from tests.conversation.helpers import record
    d.take(record(first, chat("Hi, I need a refund for A17.")))
    second = d.next_call()
    assert second.role == "assistant" and second.body["messages"][-1] == {"role": "user",
                                                                         "content": "Hi, I need a refund for A17."}
    d.take(record(second, chat("Which amount?")))
    third = d.next_call()
    assert third.role == "user" and third.body["messages"][-1] == {"role": "user", "content": "Which amount?"}
    assert {"role": "assistant", "content": "Hi, I need a refund for A17."} in third.body["messages"]
    d.take(record(third, chat("25. Thanks, bye!")))
    finish(d)
    assert d.outcome().ended == "stop" and d.outcome().end_state is False


def test_a_completion_simulator_sees_its_own_first_message():
    spec = simulated()
    conv = entry(spec, model=BASE_MODEL)
    conv_sim = dict(conv.dialogue["simulator"])
    assert conv_sim["endpoint"] == "chat/completions"   # the simulator model is a chat model here: make it text
    from dataclasses import replace

    from roadtest.plan.conversations import CUSTOMER_STOP
    conv = replace(conv, dialogue={**conv.dialogue, "simulator": {
        **conv_sim, "endpoint": "completions",
        "body": {"model": "sim", "prompt": "You are a customer.", "stop": CUSTOMER_STOP}}})
    from tests.conversation.helpers import record
    d = Dialogue(conv, toolbox(spec))
    d.take(record(d.next_call(), completion(" I need a refund for A17.")))
    d.take(record(d.next_call(), completion(" Which amount?")))
    prompt = d.next_call().body["prompt"]
    assert "Customer: I need a refund for A17.\nAssistant: Which amount?\nCustomer:" in prompt


def test_replay_rebuilds_the_same_conversation_and_a_missing_turn_is_incomplete():
    spec = scenario()
    conv = entry(spec)
    d, records = drive(conv, toolbox(spec), [chat("", LOOKUP), chat("", REFUND), chat("Done.")])
    by_id = {r["trial_id"]: r for r in records}
    again = replay(conv, toolbox(spec), by_id)
    assert again.outcome() == finish(d).outcome()
    cut = replay(conv, toolbox(spec), {k: v for k, v in by_id.items() if not k.endswith("#2:assistant")})
    o = cut.outcome()
    assert (o.ended, o.error, o.end_state) == ("incomplete", "incomplete", None)


def test_take_without_a_pending_call_is_refused():
    spec = scenario()
    d = Dialogue(entry(spec), toolbox(spec))
    with pytest.raises(ValueError):
        d.take({})
