"""Simulator faults: the ways a simulated customer stops playing the customer.

A model playing the customer can slip out of the role: answer nothing, talk as the support assistant, write
tool-call syntax, or say the stop phrase before its goal was reached. Such a turn says nothing about the
assistant under test, so it is counted (simulator_fault_rate) and shown, never blamed on the assistant.

The heuristics are conservative (a fault is claimed only on a clear sign) and work on the text alone:

- `empty`: nothing left once whitespace and wrapping quotes or backticks are stripped.
- `as_assistant`: a line starts with the support side's label (``Assistant:``, ``Agent:``, ``Support:``,
  ``Support agent:``, ``Customer service:``, ``AI:``, ``Bot:``, optionally in ``**bold**``), or the text
  offers help the way support does: "how can/may I help/assist you", "I can help you with", "what can I help
  you with", "I'm here to help", "(is there)
  anything else I can help (you) with", "thank you for contacting (us)". A customer asking "can you help
  me" is not a fault.
- `tool_syntax`: a JSON object naming a tool (a ``"tool"`` key with a string value, or ``"name"`` with
  ``"arguments"``/``"parameters"``), an OpenAI-style ``"tool_calls"``/``"function_call"`` key, a
  ``functions.NAME:`` or ``functions.NAME(`` prefix, or a ``<tool_call>``/``<function_call>`` tag. Plain JSON
  a customer pastes (``{"order_id": "A17"}``) is not a fault.
- `early_stop`: the turn holds a stop phrase (so the conversation ended there) while the end state did not
  hold: the customer gave up, or declared victory, before the goal. Since the stop phrase ends the
  conversation, the end state when it was said is the conversation's final end state.
"""

from __future__ import annotations

import re
from typing import Sequence

FAULT_KINDS = ("empty", "as_assistant", "tool_syntax", "early_stop")
"""Every fault kind, in the order a turn lists them."""

_LABEL = re.compile(
    r"^[ \t>*_#-]*(?:assistant|agent|support(?:[ \t]+agent)?|customer[ \t]+(?:service|support)(?:[ \t]+agent)?|"
    r"ai|bot)[ \t]*[*_]*[ \t]*:", re.IGNORECASE | re.MULTILINE)
_OFFER = re.compile(
    r"\bhow (?:can|may|could) i (?:help|assist) you\b|\bi can (?:help|assist) you with\b|"
    r"\bwhat can i (?:help|assist) you with\b|\bi'?m here to (?:help|assist)(?: you)?\b|"
    r"\banything else i (?:can|could) (?:help|assist)(?: you)? with\b|\bthank(?:s| you) for contacting\b",
    re.IGNORECASE)
_TOOL_KEY = re.compile(r"\{[^{}]{0,200}?[\"']tool[\"']\s*:\s*[\"']", re.IGNORECASE)
_NAME_ARGS = re.compile(r"[\"']name[\"']\s*:\s*[\"'][^\"']{1,100}[\"']\s*,\s*[\"'](?:arguments|parameters)[\"']\s*:|"
                        r"[\"'](?:arguments|parameters)[\"']\s*:\s*\{[^{}]{0,400}\}\s*,\s*[\"']name[\"']\s*:",
                        re.IGNORECASE)
_CALL_KEY = re.compile(r"[\"'](?:tool_calls|function_call)[\"']\s*:", re.IGNORECASE)
_FUNCTIONS = re.compile(r"\bfunctions\.[A-Za-z_][A-Za-z0-9_]*\s*[:(]")
_TAG = re.compile(r"</?\s*(?:tool_call|function_call|tool_use|\|tool_call\|)\s*>", re.IGNORECASE)


def is_empty(text: str | None) -> bool:
    return not (text or "").strip().strip("\"'`").strip()


def as_assistant(text: str) -> bool:
    return bool(_LABEL.search(text) or _OFFER.search(text))


def tool_syntax(text: str) -> bool:
    return bool(_TAG.search(text) or _FUNCTIONS.search(text) or _CALL_KEY.search(text)
                or _TOOL_KEY.search(text) or _NAME_ARGS.search(text))


def text_faults(text: str | None) -> list[str]:
    """The faults one simulated turn shows by its text alone (every kind but early_stop)."""
    text = text or ""
    if is_empty(text):
        return ["empty"]
    text = text[:20_000]
    return [kind for kind, found in (("as_assistant", as_assistant(text)), ("tool_syntax", tool_syntax(text)))
            if found]


def says_stop(text: str | None, stop_phrases: Sequence[str]) -> bool:
    """The turn holds a stop phrase (matched as the state machine does: a case-insensitive substring)."""
    low = (text or "").lower()
    return any(phrase.lower() in low for phrase in stop_phrases if phrase)


def simulator_faults(turns: Sequence[str | None], stop_phrases: Sequence[str] = (),
                     goal_reached: bool | None = None) -> list[list[str]]:
    """Per simulated-customer turn (its text, in order), the fault kinds it shows (empty list: none).

    `goal_reached` is the end state when the first stop phrase was said (the conversation ends there, so it
    is the final end state); `early_stop` is only claimed when it is False (None: unknown, e.g. an error).
    """
    out = []
    stopped = False
    for text in turns:
        kinds = text_faults(text)
        if not stopped and says_stop(text, stop_phrases):
            stopped = True
            if goal_reached is False:
                kinds.append("early_stop")
        out.append(kinds)
    return out


__all__ = ["FAULT_KINDS", "simulator_faults", "text_faults"]
