"""A conversation scenario's part of its page: the conversation metrics, tool use, how the conversations ended, the
simulated customer's faults, and real transcripts of failed conversations (metrics.json's "conversations")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from roadtest.report.formatting import count, plural
from roadtest.report.scenario_view import Cell, _cell, clip, in_conversation_table

METRICS = {"resolution_rate": "resolved without a policy violation",
           "policy_violation_rate": "conversations with a policy violation",
           "end_state_accuracy": "end state as expected, policy aside",
           "abandon_rate": "turn limit reached before the end state held",
           "turns_mean": "assistant turns per conversation",
           "tool_calls_mean": "per conversation, refused calls included",
           "invalid_tool_call_rate": "refused tool calls, per conversation that called one",
           "conversation_latency_p95_s": "a whole conversation (its turns' latencies summed)",
           "pass_all_k": "resolved in every repeat",
           "simulator_fault_rate": "share of a conversation's simulated turns out of role, averaged over conversations"}
"""The conversation metrics in the order the table shows them, each with a few words on what it counts; any other
metric in_conversation_table follows, by name."""
ENDINGS: dict[str | None, str] = {"stop": "stop phrase", "script_end": "script ran out", "tool_end": "ending tool",
                                    "max_turns": "turn limit", "error": "failed call", "incomplete": "incomplete"}
ROLES = {"user": "Customer", "assistant": "Assistant", "tool_call": "Tool call", "tool_result": "Tool result"}
REFUSALS: dict[str | None, str] = {"unknown_tool": "no such tool", "bad_json": "arguments not JSON",
                                     "invalid_arguments": "arguments against its schema"}
FAULTS = {"empty": "empty", "as_assistant": "written as the assistant", "tool_syntax": "tool-call syntax",
          "early_stop": "stopped early"}
TURN_CHARS = 600
"""Longer turns are clipped (at a word boundary) in a transcript."""
FAULT_EXAMPLES = 2


@dataclass(frozen=True)
class ConversationRow:
    metric: str
    better: str
    gloss: str
    cells: list[Cell]


@dataclass(frozen=True)
class ToolRow:
    name: str
    kind: str
    cells: list[tuple[str, str]]
    """Per model: (calls, 'k invalid' or '')."""


@dataclass(frozen=True)
class Turn:
    role: str
    """user | assistant | tool_call | tool_result (the CSS class)."""
    label: str
    turn: int
    text: str
    tool: str = ""
    refused: str = ""
    """Why the tool call was refused (an invalid call), in words."""
    violation: str | None = None
    """The policy rules this turn broke, when it broke any ('' when the archive gives no reasons)."""


@dataclass(frozen=True)
class Transcript:
    outcome: str
    resolved: bool
    about: str
    """conversation, item, repeat, variant, how it ended."""
    turns: list[Turn]
    missing: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    left_off: str = ""
    """How many later events metrics.json left off, in words."""


@dataclass(frozen=True)
class Fault:
    where: str
    kinds: str
    text: str


@dataclass(frozen=True)
class SimulatorFaults:
    sentence: str
    faulty: bool
    examples: list[Fault]


@dataclass(frozen=True)
class ModelConversations:
    model: str
    ended: str
    not_evidence: str
    pass_k: str
    simulator: SimulatorFaults | None
    transcripts: list[Transcript]


@dataclass(frozen=True)
class ConversationView:
    setup: str
    models: list[str]
    sizes: list[str]
    rows: list[ConversationRow]
    notes: list[str]
    tools: list[ToolRow]
    per_model: list[ModelConversations]


def conversation_view(sid: str, spec: dict[str, Any], metrics: dict[str, Any],
                      models: list[str]) -> ConversationView | None:
    """The section of a conversation scenario; None for a single scenario or a metrics.json without the section."""
    section = (metrics.get("conversations") or {}).get(sid)
    if spec.get("kind") != "conversation" or not section:
        return None
    per_model, catalogue = metrics["scenarios"].get(sid, {}), metrics["metrics"]
    shown = [m for m in models if m in section]
    estimates = {m: per_model.get(m, {}).get("variants", {}).get("base", {}).get("metrics", {}) for m in shown}
    order = _metric_order(estimates, catalogue)
    return ConversationView(
        _setup(spec), shown, [plural(section[m]["conversations"], "conversation") for m in shown],
        _rows(estimates, shown, catalogue, order), _notes(estimates, shown, order), _tools(spec, section, shown),
        [_model(m, section[m], estimates[m]) for m in shown])


def _setup(spec: dict[str, Any]) -> str:
    """Who the customer is, when a conversation ends, how it is scored: one sentence."""
    user = spec.get("user") or {}
    sim = user.get("simulator")
    who = (f"the customer is simulated by {sim['model']} (temperature {sim.get('temperature', 0.0)})" if sim
           else f"the customer's messages are scripted (dataset field {user.get('script')})")
    bits = [who, f"at most {plural(user.get('max_turns', 6), 'assistant turn')}"]
    if user.get("stop"):
        bits.append("a customer message with " + " or ".join(repr(s) for s in user["stop"]) + " ends it")
    scoring = spec.get("scoring") or {}
    rule = "scored by its end state"
    if scoring.get("expect") or scoring.get("forbid"):
        fields = [f"actions it must take from field {scoring['expect']}" if scoring.get("expect") else "",
                  f"actions it must never take from field {scoring['forbid']}" if scoring.get("forbid") else ""]
        rule += " (" + "; ".join(f for f in fields if f) + ")"
    return "; ".join(bits + [rule])


def _metric_order(estimates: dict[str, dict[str, Any]], catalogue: dict[str, Any]) -> list[str]:
    """The metrics the scenario's table leaves to this one, in METRICS order."""
    present = {metric for e in estimates.values() for metric in e
               if in_conversation_table(metric, catalogue.get(metric, {}))}
    return [m for m in METRICS if m in present] + sorted(present - set(METRICS))


def _rows(estimates: dict[str, dict[str, Any]], models: list[str], catalogue: dict[str, Any],
          order: list[str]) -> list[ConversationRow]:
    rows = []
    for metric in order:
        info = catalogue.get(metric, {})
        better = {"higher": "↑", "lower": "↓"}.get(info.get("direction", ""), "")
        cells = [_cell(estimates[m].get(metric), info.get("unit", "")) for m in models]
        rows.append(ConversationRow(metric, better, METRICS.get(metric, ""), cells))
    return rows


def _notes(estimates: dict[str, dict[str, Any]], models: list[str], shown: list[str]) -> list[str]:
    """Why a metric of this table has no estimate (or how it was measured), once per metric."""
    seen: dict[str, list[str]] = {}
    for m in models:
        for metric, e in estimates[m].items():
            if metric in shown and e.get("note") and e["note"] not in seen.setdefault(metric, []):
                seen[metric].append(e["note"])
    return [f"{metric}: {' / '.join(notes)}" for metric, notes in seen.items() if notes]


def _tools(spec: dict[str, Any], section: dict[str, Any], models: list[str]) -> list[ToolRow]:
    """The scenario's tools in its order (called or not), then names the models called that are no tool of it;
    the last row: every call."""
    declared = {t["name"]: t for t in spec.get("tools") or []}
    names = list(declared) + sorted({n for m in models for n in section[m].get("tools", {}) if n not in declared})
    rows = []
    for name in names:
        tool = declared.get(name)
        kind = ("not a tool of this scenario" if tool is None else "lookup" if tool.get("lookup")
                else "action, ends the conversation" if (tool.get("action") or {}).get("ends") else "action")
        cells = [_tool_cell(section[m].get("tools", {}).get(name, {}).get("calls", 0),
                            section[m].get("tools", {}).get(name, {}).get("invalid", 0)) for m in models]
        rows.append(ToolRow(name or "(no name)", kind, cells))
    if rows:
        rows.append(ToolRow("all tools", "", [_tool_cell(section[m].get("tool_calls", 0),
                                                          section[m].get("invalid_tool_calls", 0)) for m in models]))
    return rows


def _tool_cell(calls: int, invalid: int) -> tuple[str, str]:
    return count(calls), (f"{count(invalid)} invalid" if calls else "")


def _model(model: str, entry: dict[str, Any], estimates: dict[str, Any]) -> ModelConversations:
    return ModelConversations(model, _ended(entry), _not_evidence(entry, estimates), _pass_k(entry.get("pass_all_k")),
                              _simulator(entry.get("simulator")),
                              [_transcript(t) for t in entry.get("transcripts", [])])


def _ended(entry: dict[str, Any]) -> str:
    ended = entry.get("ended") or {}
    order = [r for r in ENDINGS if r in ended] + sorted(r for r in ended if r not in ENDINGS)
    parts = [f"{ENDINGS.get(r, r)} {count(ended[r])}" for r in order if ended[r]]
    return f"{plural(entry['conversations'], 'conversation')}. How they ended: " + (" · ".join(parts) or "—")


def _not_evidence(entry: dict[str, Any], estimates: dict[str, Any]) -> str:
    """Failed and unfinished conversations: said to be no evidence about the model, with the n the rates count."""
    errors, incomplete = entry.get("errors", 0), entry.get("incomplete", 0)
    if not errors and not incomplete:
        return ""
    unfinished = count(incomplete) if errors else plural(incomplete, "conversation")
    bits = [f"{plural(errors, 'conversation')} ended in a failed call" if errors else "",
            f"{unfinished} {'was' if incomplete == 1 else 'were'} not finished" if incomplete else ""]
    text = " and ".join(b for b in bits if b) + ": not evidence about the model (a failed call is never a wrong answer)"
    n = (estimates.get("resolution_rate") or {}).get("n")
    if n is not None and n == entry["conversations"] - errors - incomplete:
        text += f"; the rates count the other {count(n)}"
    return text + "."


def _pass_k(entry: dict[str, Any] | None) -> str:
    if not entry:
        return ""
    cases = plural(entry["cases"], "case")
    return f"Resolved in every one of {entry['k']} repeats: {count(entry['passed'])} of {cases}."


def _simulator(entry: dict[str, Any] | None) -> SimulatorFaults | None:
    if entry is None:
        return None
    turns, faults = entry.get("turns", 0), entry.get("faults", 0)
    if not faults:
        return SimulatorFaults(f"Simulated customer: no faulty message in its {plural(turns, 'turn')}.", False, [])
    kinds = ", ".join(f"{count(n)} {FAULTS.get(k, k)}" for k, n in sorted(entry.get("by_kind", {}).items(),
                                                                           key=lambda kv: (-kv[1], kv[0])) if n)
    sentence = (f"The simulated customer was faulty in {count(faults)} of its {plural(turns, 'turn')} ({kinds}). "
                "A broken simulated customer can make a conversation look resolved or failed: the outcomes of "
                "these conversations say as much about the simulator as about the model.")
    examples = [Fault(f"conversation {ex['conversation']}, turn {ex['turn']}",
                      ", ".join(FAULTS.get(k, k) for k in ex.get("kinds", [])), clip(ex.get("text") or "", TURN_CHARS)
                      or "(empty)") for ex in entry.get("examples", [])[:FAULT_EXAMPLES]]
    return SimulatorFaults(sentence, True, examples)


def _transcript(t: dict[str, Any]) -> Transcript:
    outcome = ["resolved" if t["resolved"] else "not resolved"]
    if t.get("violation"):
        outcome.append("policy violation")
    if t.get("end_state") is not None:
        outcome.append("end state as expected" if t["end_state"] else "end state not as expected")
    about = (f"conversation {t['conversation']} · item {t['item']} · repeat {t['repeat']}"
             + (f" · variant {t['variant']}" if t.get("variant") not in (None, "", "base") else "")
             + f" · ended: {ENDINGS.get(t.get('ended'), t.get('ended'))}")
    left = t.get("events_left_off") or 0
    return Transcript(", ".join(outcome), bool(t["resolved"]), about, [_turn(e) for e in t.get("events", [])],
                      [_action(a) for a in t.get("missing") or []], [_action(a) for a in t.get("forbidden") or []],
                      f"… and {plural(left, 'later event')}, not shown." if left else "")


def _turn(e: dict[str, Any]) -> Turn:
    role = e["role"] if e["role"] in ROLES else "assistant"
    text = clip(e.get("text") or "", TURN_CHARS) or ("{}" if role == "tool_call" else "(empty)")
    refused = REFUSALS.get(e.get("error"), e.get("error") or "invalid") if e.get("valid") is False else ""
    violation = (e.get("reasons") or "") if e.get("violation") else None
    return Turn(role, ROLES.get(e["role"], e["role"]), e.get("turn", 0), text, e.get("tool") or "",
                refused if role == "tool_call" else "", violation)


def _action(a: dict[str, Any]) -> str:
    """An expected or forbidden action: its tool and the arguments given for it."""
    rest = {k: v for k, v in a.items() if k != "tool"}
    args = next(iter(rest.values())) if set(rest) in ({"args"}, {"arguments"}) else rest
    return f"{a.get('tool')} {json.dumps(args, sort_keys=True, ensure_ascii=False)}" if args else str(a.get("tool"))
