"""Typed archive records for conversations: the plan entry of a conversation, its turn rows, their tool results.

These are the record kinds conversations add to an archive, as pydantic models with a docstring per field (the
start of typed records for the whole archive). Archives are read as JSON first and checked against these models
(`conversation_problem`, `turn_problem`): a received archive is never trusted.

    plan.jsonl     one ConversationEntry per case x model x repeat x variant (kind 'conversation')
    trials.jsonl   one TurnRecord per call a conversation made (kind 'turn'), assistant or simulated customer,
                   with the ToolResults its reply caused
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Endpoint = Literal["chat/completions", "completions"]
RecordKind = Literal["model", "judge", "turn", "conversation"]


def record_kind(record: dict[str, Any]) -> str:
    """A trial row's (or plan line's) kind: `model` (one call of a judged model), `judge`, `turn` (one call of a
    conversation) or `conversation` (a plan entry). Rows written before kinds existed are model calls."""
    return record.get("kind", "model")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class SimulatorCall(_Record):
    """The simulated customer's base request: each of its turns adds the conversation so far."""

    model: str
    """Model id (from the run's configuration) that plays the customer."""
    endpoint: Endpoint
    """chat/completions (messages) or completions (a labelled transcript ending 'Customer:')."""
    body: dict[str, Any]
    """The request without the conversation: model, the rendered persona as system message (or prompt),
    temperature, top_p, seed (+ repeat), max_tokens."""


class DialogueSetup(_Record):
    """Everything besides the assistant's base request that determines a conversation."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)
    protocol: Literal["tools", "text"]
    """tools: the OpenAI `tools` / `tool_calls` protocol (chat); text: one JSON action line (completion)."""
    max_turns: int = Field(ge=1)
    """Most assistant turns (calls to the model under test)."""
    stop: list[str] = Field(default_factory=list)
    """A customer message holding one of these ends the conversation (it is not sent)."""
    script: Optional[list[str]] = None
    """The scripted customer's messages, in order (absent when a model plays the customer)."""
    simulator: Optional[SimulatorCall] = None
    """The simulated customer (absent for a script)."""
    tool_results: Literal["tool", "user"] = "tool"
    """How tool results go back: OpenAI `tool` messages, or user messages 'Tool result (name): ...' (llama.cpp's
    chatml-function-calling template drops tool messages)."""
    system: Optional[str] = None
    """text protocol: the system prompt put before the protocol text."""


class ConversationEntry(_Record):
    """A plan.jsonl line of kind 'conversation'."""

    id: str
    """`<model>/<scenario>/<variant>/r<repeat>/<case>`; its turns are `<id>#<k>:<role>`."""
    kind: Literal["conversation"]
    model: str
    """The model under test (the assistant)."""
    scenario: str
    item: str
    """The case id: the item of every statistic."""
    repeat: int = Field(ge=0)
    variant: str
    """base, setting:NAME, or load:LEVEL."""
    endpoint: Endpoint
    body: dict[str, Any]
    """The assistant's base request: model, system message (chat), tools, sampling, max_tokens, stop."""
    reference: dict[str, Any]
    """expect and forbid (lists of {tool, args}), the case's stratum (group) and cluster."""
    dialogue: DialogueSetup
    level: Optional[str] = None
    """Load entries: the traffic level (c3 = three conversations in flight)."""


class ToolResultRecord(_Record):
    """One tool call an assistant turn made, as executed (roadtest.conversation.tools.ToolResult)."""

    call_id: str
    name: str
    """The tool the model called (possibly one that does not exist)."""
    arguments: Any
    """The parsed arguments, or the raw text when they were not JSON."""
    valid: bool
    """The tool exists and the arguments satisfied its JSON Schema: only valid calls change the state."""
    result: str
    """What the model was told."""
    error: Optional[Literal["unknown_tool", "bad_json", "invalid_arguments", "not_found"]] = None
    ends: bool = False
    """An `ends: true` action: the conversation ended here."""


class TurnRecord(_Record):
    """A trials.jsonl line of kind 'turn': one call a conversation made, archived like every other call."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)
    trial_id: str
    """`<conversation>#<turn>:<role>`."""
    kind: Literal["turn"]
    conversation: str
    """The id of the conversation's plan entry."""
    turn: int = Field(ge=0)
    """Position of the call in its conversation, 0-based over both roles."""
    role: Literal["assistant", "user"]
    """assistant: the model under test; user: the simulated customer."""
    model: str
    scenario: str
    item: str
    repeat: int
    variant: str
    request: dict[str, Any]
    """The exact request sent (endpoint and body, the conversation so far included)."""
    response: Optional[dict[str, Any]] = None
    """The raw response (status, body), as for every call."""
    error: Optional[dict[str, Any]] = None
    """A failed call (after retries): the conversation ends there, as an error, never as a wrong answer."""
    tool_results: list[ToolResultRecord] = Field(default_factory=list)
    """assistant turns: the tool calls its reply made, executed, in order."""


def _problem(model: type[BaseModel], data: Any) -> str | None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(top)"
        return f"{where}: {first.get('msg')}"[:200]
    except RecursionError:
        return "nested too deeply"
    return None


def conversation_problem(data: Any) -> str | None:
    """Why a plan line of kind 'conversation' is not a ConversationEntry, or None."""
    return _problem(ConversationEntry, data)


def turn_problem(data: Any) -> str | None:
    """Why a trials.jsonl line of kind 'turn' is not a TurnRecord, or None."""
    return _problem(TurnRecord, data)
