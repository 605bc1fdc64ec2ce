"""The text protocol: how a completion-mode model (a base model, no `tools` field) uses tools.

The prompt lists the tools and asks for one JSON action line; the transcript follows as labelled lines. The
protocol's text is part of every request (so of the plan) and of the run's configuration (so of its fingerprint).

    <system prompt>

    <TEXT_PROTOCOL, with the tool list>

    Customer: Where is my order A17?
    Assistant: {"tool": "lookup_order", "arguments": {"order_id": "A17"}}
    Tool result: {"order_id": "A17", "status": "delivered"}
    Assistant: It was delivered on 2 May.
    Customer: ...
    Assistant:
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TEXT_PROTOCOL = """You can use these tools:
{tools}
To use a tool, answer with one line holding only a JSON object, for example
{{"tool": "lookup_order", "arguments": {{"order_id": "A17"}}}}
The tool's answer comes back on a line starting "Tool result:". To answer the customer, write plain text instead."""
"""roadtest's text protocol, version 1 (the tool list goes where {tools} is)."""
PROTOCOL_VERSION = 1
LABELS = {"user": "Customer", "assistant": "Assistant", "tool": "Tool result"}
STOP = ["\nCustomer:", "\nTool result:"]
"""Stop sequences of a completion turn: a base model continuing the dialogue by itself is cut there."""


@dataclass(frozen=True)
class Action:
    """What one completion turn said: a reply, a tool call, or a line that tried to be a call and failed."""

    text: str
    tool: str | None = None
    arguments: Any = None
    malformed: bool = False
    """A line that looks like a JSON action but is not one (counted as an invalid tool call)."""


def protocol_text(signatures: list[str]) -> str:
    return TEXT_PROTOCOL.format(tools="\n".join(signatures) or "(none)")


BLOCK_LINES = 60
"""A JSON action may span this many lines (a pretty-printed object, often inside a code fence)."""
BLOCK_TRIES = 20
"""Lines starting with '{' tried as the start of a multi-line object (past that: single lines only)."""


def parse_action(text: str | None) -> Action:
    """The first JSON object with a "tool" name is the action: on one line, or starting on a line that opens
    with '{' and spanning the lines after it (a pretty-printed object, code fences ignored). A line starting
    with '{' that mentions "tool" (or opens a block that does) but does not parse is malformed; anything else
    is a reply to the customer."""
    text = text or ""
    lines = text.splitlines()
    tries = 0
    for i, line in enumerate(lines):
        stripped = line.strip().strip("`").strip()
        if not stripped.startswith("{"):
            continue
        data, parsed = _json(stripped)
        block = stripped
        if not parsed and tries < BLOCK_TRIES:
            tries += 1
            block = "\n".join([stripped] + [ln.strip().strip("`") for ln in lines[i + 1:i + BLOCK_LINES]])[:20_000]
            data, parsed = _json(block, prefix=True)
        if not parsed:
            if _mentions_tool(stripped):
                return Action(text.strip(), None, stripped[:2000], True)
            if stripped == "{" and _mentions_tool("\n".join(lines[i:i + 8])):
                return Action(text.strip(), None, block[:2000], True)
            continue
        if isinstance(data, dict) and "tool" in data:
            name = data.get("tool")
            args = data.get("arguments", data.get("args", {}))
            if not isinstance(name, str) or not name:
                return Action(text.strip(), None, stripped[:2000], True)
            return Action(text.strip(), name, args)
    return Action(text.strip())


def _json(text: str, prefix: bool = False) -> tuple[Any, bool]:
    """(value, True) when `text` is JSON (with `prefix`: starts with a JSON value), else (None, False)."""
    try:
        if prefix:
            return json.JSONDecoder().raw_decode(text)[0], True
        return json.loads(text), True
    except (ValueError, RecursionError):
        return None, False


def _mentions_tool(text: str) -> bool:
    return '"tool"' in text or "'tool'" in text


def render_transcript(system: str | None, signatures: list[str], lines: list[tuple[str, str]]) -> str:
    """The completion prompt: system, protocol, then one labelled line per message, ending with 'Assistant:'."""
    parts = [system.strip()] if system and system.strip() else []
    parts.append(protocol_text(signatures))
    body = "\n".join(f"{LABELS[role]}: {' '.join(text.split())}" for role, text in lines)
    parts.append((body + "\n" if body else "") + "Assistant:")
    return "\n\n".join(parts)
