"""Trial: one planned model call (or, kind 'conversation', one planned conversation) with a stable id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHAT = "chat/completions"
COMPLETION = "completions"


@dataclass(frozen=True)
class Trial:
    """One model call: who, what item, which repeat and variant, the exact request.

    kind 'conversation' (a plan entry): one conversation; `body` is the assistant's base request (system
    prompt, tools, sampling), `dialogue` the rest of what determines it (roadtest.conversation.dialogue).
    kind 'turn' (a trials.jsonl row, never planned): one call a conversation made, `conversation` naming its
    entry, `turn` its position (0-based, both roles) and `role` who was called (assistant or user)."""

    id: str
    model: str
    scenario: str
    item: str
    repeat: int
    variant: str
    endpoint: str
    body: dict[str, Any] = field(hash=False)
    reference: dict[str, Any] = field(hash=False)
    kind: str = "model"
    """'model' for a call to the model under test, 'judge' for an LLM judge's call about one."""
    target: str | None = None
    """judge trials: the trial id being judged."""
    purpose: str | None = None
    """judge trials: 'score' (the judge scoring rule) or 'policy' (the policy rubric)."""
    level: str | None = None
    """Load trials: the traffic level ('c6' = 6 in flight, 'r2.5' = 2.5 requests/s); they never use the cache."""
    dialogue: dict[str, Any] | None = field(default=None, hash=False)
    """conversation entries: the customer, the limits and the protocol (see roadtest.conversation.dialogue)."""
    conversation: str | None = None
    """turns: the id of the conversation's plan entry."""
    turn: int | None = None
    """turns: the call's position in its conversation, 0-based over both roles."""
    role: str | None = None
    """turns: 'assistant' (the model under test) or 'user' (the simulated customer)."""

    @property
    def cacheable(self) -> bool:
        return self.level is None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Trial":
        return cls(**data)


def group_key(t: Trial) -> tuple[str, str | None, str]:
    """The progress and error-rate group of a trial: its model, its traffic level (None: no load) and its kind."""
    return (t.model, t.level, t.kind)
