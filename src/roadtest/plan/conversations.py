"""Conversation plan entries: one per case x model x repeat x variant, holding everything that determines it.

The assistant's base request (`body`: system prompt, tools, sampling) and the `dialogue` (the customer's script
or the simulator's base request, the turn limit, the stop phrases, the protocol) are fixed here; the state
machine (roadtest.conversation.dialogue) builds each turn's request from them and the turns before it.

Protocols: a chat model gets the OpenAI `tools` field and answers with `tool_calls`; a completion model gets the
text protocol (roadtest.conversation.protocol: one JSON action line). A local llama.cpp server answers tools with
`--chat_format chatml-function-calling`, whose template drops `tool` messages, so there tool results come back
as user messages ("Tool result (name): ..."); a model's `tool_results:` says so for any other endpoint, and
`dialogue.tool_results` records which.
"""

from __future__ import annotations

from typing import Any

from roadtest.conversation.protocol import STOP
from roadtest.conversation.tools import ToolBox
from roadtest.load.templates import render
from roadtest.plan import sampling_body
from roadtest.plan.trial import CHAT, COMPLETION, Trial
from roadtest.spec import ModelSpec, Scenario

TOOLS_CHAT_FORMAT = "chatml-function-calling"
"""llama-cpp-python's chat format for a local model given tools (it answers with OpenAI `tool_calls`)."""
DEFAULT_SYSTEM = "You are a helpful assistant."
CUSTOMER_STOP = ["\nAssistant:", "\nCustomer:"]
"""Stop sequences of a completion-mode simulated customer."""


def toolbox(spec: Scenario, tables: dict[str, dict[str, Any]] | None = None) -> ToolBox:
    return ToolBox(spec.tools, tables)


def chat_format(spec: Scenario, model: ModelSpec) -> str | None:
    """The chat format a local model's server needs for this scenario (None: the model's default)."""
    if spec.kind == "conversation" and spec.tools and model.provider == "local" and (model.mode or spec.mode) == "chat":
        return TOOLS_CHAT_FORMAT
    return None


def conversation_entry(model: ModelSpec, spec: Scenario, item: str, data: dict[str, Any], variant: str,
                       repeat: int, models: dict[str, ModelSpec], level: str | None = None) -> Trial:
    """The plan entry of one conversation (`data`: the case's dataset row; `spec` with the variant applied)."""
    mode = model.mode or spec.mode
    system = spec.prompt.system or DEFAULT_SYSTEM
    sampling = sampling_body(spec, repeat)
    box = toolbox(spec)
    if mode == "chat":
        endpoint, protocol = CHAT, "tools"
        body: dict[str, Any] = {"model": model.request_model, "messages": [{"role": "system", "content": system}]}
        if spec.tools:   # tool_choice auto, said explicitly: llama.cpp's function-calling format needs it to call tools
            body.update(tools=box.openai_tools(), tool_choice="auto")
        body.update(sampling)
    else:
        endpoint, protocol = COMPLETION, "text"
        body = {"model": model.request_model, **sampling,
                "stop": (STOP + [s for s in spec.limits.stop if s not in STOP])[:4]}
    user = spec.user
    assert user is not None                 # a conversation has a user (the spec checks)
    script = None
    if user.script is not None:
        raw = data.get(user.script)
        script = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)]
    reference: dict[str, Any] = {"expect": _actions(data, spec.scoring.expect), "forbid": _actions(data, spec.scoring.forbid)}
    if spec.dataset.stratum:
        reference["group"] = str(data[spec.dataset.stratum])
    if spec.dataset.cluster:
        reference["cluster"] = str(data[spec.dataset.cluster])
    dialogue: dict[str, Any] = {
        "protocol": protocol, "max_turns": user.max_turns, "stop": list(user.stop), "script": script,
        "tool_results": model.tool_results or ("user" if chat_format(spec, model) else "tool"),
    }
    if protocol == "text":
        dialogue["system"] = system
    if user.simulator is not None:
        dialogue["simulator"] = _simulator(user.simulator, models[user.simulator.model], spec, data, repeat)
    return Trial(id=f"{model.id}/{spec.id}/{variant}/r{repeat}/{item}", model=model.id, scenario=spec.id, item=item,
                 repeat=repeat, variant=variant, endpoint=endpoint, body=body, reference=reference,
                 kind="conversation", level=level, dialogue={k: v for k, v in dialogue.items() if v is not None})


def _simulator(sim, model: ModelSpec, spec: Scenario, data: dict[str, Any], repeat: int) -> dict[str, Any]:
    system = render(sim.system, data)
    body: dict[str, Any] = {"model": model.request_model}
    if (model.mode or "chat") == "chat":
        endpoint = CHAT
        body["messages"] = [{"role": "system", "content": system}]
    else:
        endpoint = COMPLETION
        body["prompt"] = system
        body["stop"] = list(CUSTOMER_STOP)
    body.update({"temperature": sim.temperature, "top_p": 1.0, "seed": sim.seed + repeat,
                 "max_tokens": sim.max_new_tokens})
    return {"model": model.id, "endpoint": endpoint, "body": body}


def _actions(data: dict[str, Any], field: str | None) -> list[dict[str, Any]]:
    """The expected or forbidden actions of a case: a list of {tool, args} (check refuses anything else)."""
    if not field:
        return []
    value = data.get(field)
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        value = [value]
    return [a for a in value if isinstance(a, dict)] if isinstance(value, list) else []
