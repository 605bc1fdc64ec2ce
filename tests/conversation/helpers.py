"""Hand-made conversations: a scenario with tools, plan entries, and turn records as the engine archives them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from roadtest.conversation.dialogue import Dialogue
from roadtest.conversation.tools import ToolBox, table_index
from roadtest.plan.conversations import conversation_entry
from roadtest.plan.trial import Trial
from roadtest.spec import ModelSpec, Scenario

ORDERS = [{"order_id": "A17", "status": "delivered", "total": 25.0}, {"order_id": 1234, "status": "lost", "total": 9.5}]
TOOLS = [
    {"name": "lookup_order", "description": "Find an order by its id.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
     "lookup": {"table": "orders.jsonl", "key": "order_id"}},
    {"name": "issue_refund", "description": "Refund an order.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
                    "required": ["order_id", "amount"]},
     "action": {"result": "Refunded {{ amount }} on order {{ order_id }}."}},
    {"name": "escalate", "description": "Hand the case to a human.", "parameters": {"type": "object", "properties": {}},
     "action": {"result": "A human will take over.", "ends": True}},
]
SCENARIO = {
    "id": "refunds", "kind": "conversation", "success": "The customer gets the refund they are owed.",
    "dataset": {"path": "cases.jsonl"}, "prompt": {"system": "You are the shop's support assistant."},
    "scoring": {"rule": "end_state", "expect": "expect", "forbid": "forbid"},
    "user": {"script": "script", "max_turns": 4, "stop": ["bye"]}, "tools": TOOLS,
    "policy": {"forbid": ["(?i)guarantee"]},
}
MODEL = ModelSpec(id="m", provider="openai", base_url="http://x/v1",
                  price={"input_per_mtok": 1.0, "output_per_mtok": 2.0})
BASE_MODEL = ModelSpec(id="b", provider="openai", base_url="http://x/v1", mode="completion")
SIM_MODEL = ModelSpec(id="sim", provider="openai", base_url="http://x/v1")
CASE = {"id": "c1", "script": ["I want my money back for order A17.", "Thanks, bye"],
        "expect": [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": 25.0}}],
        "forbid": [{"tool": "escalate"}], "goal": "get a refund of 25 for order A17"}


def scenario(**changes: Any) -> Scenario:
    data = json.loads(json.dumps(SCENARIO))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Scenario.model_validate(data)


def simulated(**changes: Any) -> Scenario:
    """The scenario with a simulated customer instead of the script."""
    return scenario(user={"script": None, "simulator": {
        "model": "sim", "system": "You are a customer. Your goal: {{ goal }}. Say bye when done."}}, **changes)


def tables() -> dict[str, dict[str, Any]]:
    return {"lookup_order": table_index(ORDERS, "order_id")}


def toolbox(spec: Scenario) -> ToolBox:
    return ToolBox(spec.tools, tables())


def entry(spec: Scenario | None = None, case: dict[str, Any] | None = None, *, item: str = "c1", repeat: int = 0,
          model: ModelSpec = MODEL, variant: str = "base", **dialogue: Any) -> Trial:
    """The plan entry of one conversation; `dialogue` overrides fields of its dialogue (e.g. tool_results)."""
    spec = spec or scenario()
    made = conversation_entry(model, spec, item, {**CASE, **(case or {})}, variant, repeat,
                              {"m": MODEL, "b": BASE_MODEL, "sim": SIM_MODEL})
    if dialogue:
        made = replace(made, dialogue={**(made.dialogue or {}), **dialogue})
    return made


def call(name: str, arguments: Any, call_id: str | None = None) -> dict[str, Any]:
    return {"id": call_id or f"call_{name}", "type": "function",
            "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}}


def chat(text: str | None = "", *calls: dict[str, Any], finish: str = "stop", usage=(10, 5)) -> dict[str, Any]:
    """A chat-completion response body."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = list(calls)
    return {"choices": [{"message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


def completion(text: str, finish: str = "stop", usage=(10, 5)) -> dict[str, Any]:
    """A completions response body."""
    return {"choices": [{"text": text, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


def failure(kind: str = "timeout", message: str = "it took too long") -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message}}


def record(trial: Trial, reply: dict[str, Any], *, latency: float = 0.5, cached: bool = False,
           warmup: bool = False, started_at: str = "2025-01-01T00:00:00+00:00") -> dict[str, Any]:
    """The trials.jsonl line of one turn (as roadtest.engine.records.trial_record writes it, kind 'turn').
    `reply` is a response body, or failure(...)."""
    error = reply.get("error") if set(reply) == {"error"} else None
    out: dict[str, Any] = {
        "trial_id": trial.id, "model": trial.model, "scenario": trial.scenario, "item": trial.item,
        "repeat": trial.repeat, "variant": trial.variant, "reference": trial.reference,
        "request": {"endpoint": trial.endpoint, "body": trial.body}, "started_at": started_at,
        "latency_s": latency, "attempts": 1, "response": None, "usage": None, "error": error,
        "kind": "turn", "conversation": trial.conversation, "turn": trial.turn, "role": trial.role,
    }
    if trial.level is not None:
        out["level"] = trial.level
    if error is None:
        out["response"] = {"status": 200, "body": reply}
        out["usage"] = reply.get("usage")
    if cached:
        out["cache"] = {"hit": True}
    if warmup:
        out["warmup"] = True
    return out


def drive(conversation: Trial, box: ToolBox, replies: list[Any], **options: Any) -> tuple[Dialogue, list[dict]]:
    """Drive a conversation by hand: each reply (a body, failure(...), or (body, {record options})) answers
    the next call, whoever is called. Returns the dialogue and the records it took, with the tool results the
    engine would archive on assistant turns."""
    d = Dialogue(conversation, box)
    records = []
    for reply in replies:
        trial = d.next_call()
        if trial is None:
            raise AssertionError(f"the conversation ended ({d.ended}) with replies left over")
        extra = dict(options)
        if isinstance(reply, tuple):
            reply, more = reply
            extra.update(more)
        rec = record(trial, reply, **extra)
        results = d.take(rec)
        if trial.role == "assistant":
            rec["tool_results"] = [r.as_dict() for r in results]
        records.append(rec)
    return d, records


def finish(d: Dialogue) -> Dialogue:
    """Ask for the next call once more: the conversation must be over."""
    assert d.next_call() is None, "the conversation expected another reply"
    return d
