"""Conversations scored: one score row per conversation (the conversation is the item), rebuilt from its turns.

Each plan entry of kind 'conversation' is replayed through the state machine (roadtest.conversation.dialogue)
over its archived turn records; the row has every column of SCORE_COLUMNS, read for a conversation as:

- `trial_id`: the plan entry's id; `model`, `scenario`, `variant`, `item`, `repeat`, `level`, `group`,
  `cluster`: the entry's.
- `score`: resolved. 1.0 when the end state holds (every expected action taken with matching arguments, no
  forbidden action taken) and no assistant turn broke the policy; else 0.0. None when the conversation is an
  error or incomplete: an outage is never a wrong answer.
- `error`: the outcome's error kind ('timeout', 'http_500', 'simulator:http_500' for a failed simulated
  customer, 'incomplete' when the archive stops before the conversation ended), else None. `error_message`:
  the failed call's message (or why it is incomplete).
- `extracted`: the valid tool calls it made, `name {arguments}` joined with '; ' (None: none).
  `reference`: the expected and forbidden actions as JSON. `answer_key`: `extracted` normalised.
- `format_ok`: not an error. `empty`: answered, yet the assistant said nothing in any turn and called no tool.
- `finish_reason`: the last answered assistant turn's. `truncated`: some assistant turn was cut off ('length').
- `latency_s`: the assistant turns' latencies summed (the time the customer waited; the simulated customer's
  own calls are not counted). `tokens_in`, `tokens_out`: summed over the answered assistant turns (None when a
  turn did not report them); `cost` from the model's price.
- `cached`: every assistant turn came from the response cache; `warmup`: some assistant turn was a warm-up call;
  `started_at`: the first call's.
- `policy_violation`: some assistant turn's text (what the customer saw; tool-only turns say nothing) breaks
  the scenario's policy (forbid / require rules; a policy judge does not judge conversations); `policy_reasons`:
  'turn K: reason' joined with '; '. None without a policy.
- `toxicity`: the highest toxicity of the assistant's texts; `toxic`: at or over the threshold.
- `output`: the assistant's last text (cut to OUTPUT_CHARS); None for an error, like a failed call.
- `confidence`, `confidence_kind`: None (no log-probabilities are asked for in conversations).

And CONVERSATION_COLUMNS, present in the frame only when the run has conversations (so the scores.jsonl of a
run without any is what it always was); None on single-call rows:

- `end_state`: the end state holds (True/False; None for an error or incomplete conversation).
- `turns`: assistant turns (calls to the model under test, a tool-only call included).
- `user_turns`: customer messages the assistant received (the stop-phrase message is not sent, so not counted).
- `tool_calls`, `invalid_tool_calls`: tool calls made, and those refused (unknown tool, arguments not JSON or
  not satisfying the schema, a malformed text-protocol action).
- `abandoned`: the turn limit ended it before the end state held (None for an error).
- `ended`: why it ended: stop | script_end | tool_end | max_turns | error | incomplete.
- `sim_turns`: answered simulated-customer turns; `sim_faults`: those with a fault
  (roadtest.conversation.faults); both None when a script plays the customer.
- `cached_turns`: assistant turns answered from the response cache (a conversation with any is not timed).
- `turn_latency_max_s`: the slowest assistant turn's latency.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from roadtest.archive.schema import TurnRow
from roadtest.conversation.dialogue import replay
from roadtest.conversation.faults import simulator_faults
from roadtest.conversation.tools import ToolBox
from roadtest.plan.trial import Trial
from roadtest.scoring.outputs import read_output
from roadtest.scoring.policy import violations
from roadtest.scoring.rules import normalise
from roadtest.spec import ModelSpec, Scenario
from roadtest.conversation.dialogue import body_digest
from roadtest.scoring.scores import _cost

CONVERSATION_COLUMNS = ["end_state", "turns", "user_turns", "tool_calls", "invalid_tool_calls", "abandoned", "ended",
                        "sim_turns", "sim_faults", "cached_turns", "turn_latency_max_s"]
EVENT_CHARS = 600
"""A transcript line's text is cut here in the summaries the report shows."""
_TURN = re.compile(r"#(\d+):(?:assistant|user)$")


@dataclass
class ScoredConversation:
    """One conversation scored: its score row, its summary for the report, and the assistant's texts (for
    the toxicity classifier, which scores all conversations at once)."""

    row: dict[str, Any]
    summary: dict[str, Any]
    texts: list[str]


def slim(record: TurnRow) -> dict[str, Any]:
    """A turn row as the JSON the state machine replays, without what scoring never reads (its request holds the
    whole history so far), keeping a digest of the request body: the replayed conversation must have sent
    exactly that request."""
    out = record.model_dump(exclude_unset=True, exclude={"request", "tool_results", "reference"})
    out["request_digest"] = body_digest(record.request.body)
    return out


def role_of(record: dict[str, Any]) -> str:
    role = record.get("role")
    if role in ("assistant", "user"):
        return role
    return "user" if str(record.get("trial_id", "")).endswith(":user") else "assistant"


def turn_of(record: dict[str, Any]) -> int | None:
    if isinstance(record.get("turn"), int):
        return record["turn"]
    found = _TURN.search(str(record.get("trial_id", "")))
    return int(found.group(1)) if found else None


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return None if not values or len(known) < len(values) else int(sum(known))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def score_conversation(entry: Trial, records: dict[str, dict[str, Any]], scenario: Scenario, toolbox: ToolBox,
                       model: ModelSpec | None = None, output_chars: int = 400,
                       reference_chars: int = 200) -> ScoredConversation:
    """Replay one conversation over its turn records (trial id -> record) and score it."""
    d = replay(entry, toolbox, records)
    o = d.outcome()
    assistant = [r for r in d.taken if role_of(r) == "assistant"]
    simulated = [r for r in d.taken if role_of(r) == "user"]
    outs = [read_output(r) for r in assistant]
    answered = [out for out in outs if out.error is None]
    error = o.error
    reference = entry.reference or {}

    said = [(i, ev) for i, ev in enumerate(o.events) if ev.role == "assistant" and (ev.text or "").strip()]
    flags: dict[int, list[str]] = {}
    if scenario.policy is not None:
        for i, ev in said:
            broken = violations(ev.text, scenario.policy, False, None)
            if broken:
                flags[i] = broken
    violation = bool(flags) if scenario.policy is not None else None
    reasons = "; ".join(f"turn {o.events[i].turn}: {r}" for i, found in flags.items() for r in found) or None

    # A conversation the assistant never spoke in (the customer's first message held the stop phrase) says
    # nothing about the assistant: no score, not a resolution.
    spoke = o.assistant_turns > 0
    score = None if error is not None or not spoke else (1.0 if o.end_state and not violation else 0.0)
    done = [r for r in d.results if r.valid]
    extracted = "; ".join(f"{r.name} {_json(r.arguments)}" for r in done)[:output_chars] or None
    latencies = [float(r.get("latency_s") or 0.0) for r in assistant]
    hits = [bool((r.get("cache") or {}).get("hit")) for r in assistant]
    tokens_in = _sum([out.tokens_in for out in answered])
    tokens_out = _sum([out.tokens_out for out in answered])
    message = None
    if o.ended == "error" and d.taken:
        message = ((d.taken[-1].get("error") or {}).get("message") or "")[:200] or None
    elif o.ended == "incomplete":
        message = f"the archive ends after {len(d.taken)} of this conversation's calls: the run stopped before it ended"
    last_text = said[-1][1].text if said else ""

    sim_texts, sim_kinds, sim_turns = None, None, None
    if (entry.dialogue or {}).get("simulator") is not None:
        sim_records = [r for r in simulated if read_output(r).error is None]
        sim_turns = [(turn_of(r), read_output(r).text or "") for r in sim_records]
        sim_texts = [text for _, text in sim_turns]
        goal = o.end_state if o.ended == "stop" else None
        sim_kinds = simulator_faults(sim_texts, (entry.dialogue or {}).get("stop") or [], goal)

    row = {
        "trial_id": entry.id, "model": entry.model, "scenario": entry.scenario, "variant": entry.variant,
        "item": str(entry.item), "repeat": int(entry.repeat), "group": reference.get("group"),
        "cluster": reference.get("cluster"), "score": score, "extracted": extracted,
        "answer_key": normalise(extracted or ""), "format_ok": error is None,
        "empty": error is None and not said and not d.results, "error": error,
        "finish_reason": answered[-1].finish_reason if answered else None,
        "truncated": any(out.finish_reason == "length" for out in answered),
        "latency_s": float(sum(latencies)), "tokens_in": tokens_in, "tokens_out": tokens_out,
        "cost": _cost(model, tokens_in, tokens_out), "confidence": None, "confidence_kind": None,
        "toxicity": None, "toxic": None, "policy_violation": violation, "policy_reasons": reasons,
        "error_message": message, "started_at": d.taken[0].get("started_at") if d.taken else None,
        "level": entry.level, "cached": bool(hits) and all(hits),
        "warmup": any(bool(r.get("warmup")) for r in assistant),
        "reference": _json({"expect": reference.get("expect") or [],
                            "forbid": reference.get("forbid") or []})[:reference_chars],
        "output": None if error is not None else last_text[:output_chars],
        # the conversation's own columns
        "end_state": o.end_state if spoke else None, "turns": o.assistant_turns, "user_turns": o.user_turns,
        "tool_calls": o.tool_calls, "invalid_tool_calls": o.invalid_tool_calls,
        "abandoned": None if error is not None else (o.ended == "max_turns" and not o.end_state),
        "ended": o.ended, "sim_turns": None if sim_kinds is None else len(sim_kinds),
        "sim_faults": None if sim_kinds is None else sum(bool(k) for k in sim_kinds),
        "cached_turns": sum(hits), "turn_latency_max_s": max(latencies) if latencies else None,
    }

    tools: dict[str, dict[str, int]] = {}
    for r in d.results:
        t = tools.setdefault(r.name, {"calls": 0, "invalid": 0})
        t["calls"] += 1
        t["invalid"] += int(not r.valid)
    events = []
    for i, ev in enumerate(o.events):
        item = ev.as_dict()
        item["text"] = (item.get("text") or "")[:EVENT_CHARS]
        if i in flags:
            item.update(violation=True, reasons="; ".join(flags[i]))
        events.append(item)
    summary = {
        "conversation": entry.id, "model": entry.model, "scenario": entry.scenario, "variant": entry.variant,
        "item": str(entry.item), "repeat": int(entry.repeat), "resolved": None if score is None else score == 1.0,
        "end_state": o.end_state, "violation": violation, "ended": o.ended, "error": error,
        "missing": o.missing, "forbidden": o.forbidden, "tools": dict(sorted(tools.items())),
        "tool_calls": o.tool_calls, "invalid_tool_calls": o.invalid_tool_calls,
        "simulator": None if sim_kinds is None else {
            "turns": len(sim_kinds), "faults": [
                {"turn": turn, "kinds": kinds, "text": text[:EVENT_CHARS]}
                for (turn, text), kinds in zip(sim_turns or [], sim_kinds) if kinds]},
        "events": events,
    }
    return ScoredConversation(row, summary, [ev.text for _, ev in said])


def fault_counts(summaries: list[dict[str, Any]]) -> Counter:
    """Fault kind -> simulated turns showing it, over these conversations' summaries."""
    counts: Counter = Counter()
    for s in summaries:
        for fault in (s.get("simulator") or {}).get("faults") or []:
            counts.update(fault["kinds"])
    return counts


__all__ = ["CONVERSATION_COLUMNS", "EVENT_CHARS", "ScoredConversation", "fault_counts", "role_of",
           "score_conversation", "slim", "turn_of"]
