"""The conversation state machine: from a plan entry and the turns so far, the next call or the end.

A conversation is one plan entry (kind 'conversation': case x model x repeat x variant) holding everything that
determines it: the assistant's base request (system prompt, tools, sampling), the customer (a script, or the
simulator's base request), the turn limit and stop phrases, the expected and forbidden actions. Every call it
makes, assistant or simulated customer, is a turn row of trials.jsonl (kind 'turn') named `<entry id>#<k>:<role>`,
with the tool results its reply caused.

The engine asks `next_call()`, sends it (or takes the archived record on a resume) and hands the record to
`take()`; scoring does the same over the archive alone. The same records give the same conversation.

Turn limit: `max_turns` counts assistant turns, i.e. calls to the model under test (a call that only uses tools
is a turn). The conversation ends when the customer's message holds a stop phrase (that message is not sent),
when the script runs out, when an `ends: true` tool is called, at `max_turns`, or at the first call that failed
(an error: the conversation is then not evidence about the model).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from roadtest.conversation.protocol import parse_action, render_transcript
from roadtest.conversation.tools import ToolBox, ToolResult
from roadtest.plan.trial import CHAT, Trial
from roadtest.scoring.outputs import read_output

OPENING = "(You are now chatting with the support assistant. Write your first message to it.)"
"""The simulated customer's first instruction (its chat needs a user message to answer)."""
ENDINGS = ("stop", "script_end", "tool_end", "max_turns", "error", "incomplete")
MAX_CALLS = 16
"""Tool calls run per assistant turn; more are refused (one invalid call counts them)."""


def turn_id(conversation: str, k: int, role: str) -> str:
    """The trial id of the k-th call (0-based, both roles) of a conversation."""
    return f"{conversation}#{k}:{role}"


@dataclass
class Event:
    """One line of the transcript as the report shows it."""

    turn: int
    role: str
    """user | assistant | tool_call | tool_result"""
    text: str
    tool: str | None = None
    valid: bool | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Outcome:
    """How a conversation ended and what it did (everything scoring needs besides the policy)."""

    ended: str
    error: str | None
    end_state: bool | None
    missing: list[dict[str, Any]]
    forbidden: list[dict[str, Any]]
    assistant_turns: int
    user_turns: int
    tool_calls: int
    invalid_tool_calls: int
    tools_used: dict[str, int]
    events: list[Event]


@dataclass
class Dialogue:
    """One conversation being driven (by the engine) or replayed (by scoring)."""

    entry: Trial
    toolbox: ToolBox
    messages: list[dict[str, Any]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    sim_messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    taken: list[dict[str, Any]] = field(default_factory=list)
    """The records taken, in order (assistant and simulator turns)."""
    calls: int = 0
    assistant_calls: int = 0
    user_turns: int = 0
    script_pos: int = 0
    phase: str = "user"
    ended: str | None = None
    error: str | None = None
    pending: Trial | None = None

    def __post_init__(self) -> None:
        setup = self.entry.dialogue or {}
        self.setup = setup
        if self.protocol == "tools":
            self.messages = [dict(m) for m in self.entry.body.get("messages") or []]
        sim = setup.get("simulator")
        if sim is not None and sim["endpoint"] == CHAT:   # the opening instruction stays in the customer's history
            self.sim_messages = [dict(m) for m in sim["body"].get("messages") or []] + [
                {"role": "user", "content": OPENING}]

    # -- what it is ---------------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return self.setup.get("protocol", "tools")

    @property
    def max_turns(self) -> int:
        return int(self.setup.get("max_turns", 6))

    @property
    def script(self) -> list[str] | None:
        return self.setup.get("script")

    # -- driving ------------------------------------------------------------------------------------------
    def next_call(self) -> Trial | None:
        """The next call to send, or None when the conversation is over (then `ended` says why)."""
        if self.pending is not None:
            return self.pending
        while self.ended is None:
            if self.phase == "user":
                if self.script is not None:
                    if self.script_pos >= len(self.script):
                        self._end("script_end")
                        break
                    if self.assistant_calls >= self.max_turns:
                        self._end("max_turns")
                        break
                    text = str(self.script[self.script_pos])
                    self.script_pos += 1
                    self._customer_says(text)
                    continue
                if self.assistant_calls >= self.max_turns:
                    self._end("max_turns")
                    break
                self.pending = self._simulator_call()
                return self.pending
            if self.assistant_calls >= self.max_turns:
                self._end("max_turns")
                break
            self.pending = self._assistant_call()
            return self.pending
        return None

    def take(self, record: dict[str, Any]) -> list[ToolResult]:
        """The response to the pending call; returns the tool results its reply caused (archived with it)."""
        trial, self.pending = self.pending, None
        if trial is None:
            raise ValueError("no call is pending")
        self.taken.append(record)
        self.calls += 1
        out = read_output(record)
        if trial.role == "assistant":
            self.assistant_calls += 1
        if out.error is not None:
            self.error = f"simulator:{out.error}" if trial.role == "user" else out.error
            self._end("error")
            return []
        if trial.role == "user":
            self._customer_says(out.text or "", simulated=True)
            return []
        return self._assistant_said(trial, record, out.text or "")

    def incomplete(self) -> None:
        """The archive ends before the conversation did (a run stopped or killed): not evidence either way."""
        self.pending = None
        self._end("incomplete")

    def _end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why

    # -- the customer ---------------------------------------------------------------------------------------
    def _customer_says(self, text: str, simulated: bool = False) -> None:
        self.events.append(Event(self.calls - 1 if simulated else self.calls, "user", text))
        if any(phrase in text for phrase in self.setup.get("stop") or []):   # as written: "DONE", not "done"
            self._end("stop")
            return
        self.user_turns += 1
        if self.protocol == "tools":
            self.messages.append({"role": "user", "content": text})
        else:
            self.lines.append(("user", text))
        self.sim_messages.append({"role": "assistant", "content": text})
        self.phase = "assistant"

    def _simulator_call(self) -> Trial:
        sim = self.setup["simulator"]
        if sim["endpoint"] == CHAT:
            body = {**sim["body"], "messages": [dict(m) for m in self.sim_messages]}
        else:
            body = {**sim["body"], "prompt": self._customer_prompt(sim["body"].get("prompt", ""))}
        return self._turn(sim["model"], sim["endpoint"], body, "user")

    def _customer_prompt(self, system: str) -> str:
        said = "\n".join(f"{'Customer' if m['role'] == 'assistant' else 'Assistant'}: {' '.join(m['content'].split())}"
                         for m in self.sim_messages if m.get("role") in ("user", "assistant"))
        return f"{system.strip()}\n\n{said + chr(10) if said else ''}Customer:"

    # -- the assistant ---------------------------------------------------------------------------------------
    def _assistant_call(self) -> Trial:
        base = self.entry.body
        if self.protocol == "tools":
            body = {**base, "messages": [dict(m) for m in self.messages]}
        else:
            system = self.setup.get("system")
            body = {**base, "prompt": render_transcript(system, self.toolbox.signatures(), self.lines)}
        return self._turn(self.entry.model, self.entry.endpoint, body, "assistant")

    def _turn(self, model: str, endpoint: str, body: dict[str, Any], role: str) -> Trial:
        e = self.entry
        return Trial(id=turn_id(e.id, self.calls, role), model=model, scenario=e.scenario, item=e.item,
                     repeat=e.repeat, variant=e.variant, endpoint=endpoint, body=body, reference={}, kind="turn",
                     level=e.level, conversation=e.id, turn=self.calls, role=role)

    def _assistant_said(self, trial: Trial, record: dict[str, Any], text: str) -> list[ToolResult]:
        turn = trial.turn or 0
        calls = _tool_calls(record, turn) if self.protocol == "tools" else []
        if self.protocol == "text":
            action = parse_action(text)
            if action.tool is not None or action.malformed:
                calls = [(f"call_{turn}_0", action.tool or "", action.arguments, action.malformed)]
                self.lines.append(("assistant", _action_line(action)))
            else:
                self.lines.append(("assistant", text))
        if not calls:
            self.events.append(Event(turn, "assistant", text))
            if self.protocol == "tools":
                self.messages.append({"role": "assistant", "content": text})
            self.sim_messages.append({"role": "user", "content": text})
            self.phase = "user"
            return []
        if text.strip() and self.protocol == "tools":
            self.events.append(Event(turn, "assistant", text))
        results = []
        for call_id, name, arguments, malformed in calls:
            if malformed:
                result = ToolResult(call_id, str(name or "")[:200], arguments, False,
                                    "Error: that line is not a JSON action such as "
                                    '{"tool": "name", "arguments": {...}}.', "bad_json")
            else:
                result = self.toolbox.call(call_id, name, arguments)
            results.append(result)
        if self.protocol == "tools":
            self.messages.append({"role": "assistant", "content": text, "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": str(name), "arguments": _argument_text(args)}}
                for cid, name, args, _ in calls]})
        for result in results:
            self.events.append(Event(turn, "tool_call", _argument_text(result.arguments), result.name, result.valid,
                                     result.error))
            self.events.append(Event(turn, "tool_result", result.result, result.name, result.valid, result.error))
            if self.protocol == "text":
                self.lines.append(("tool", result.result))
            elif self.setup.get("tool_results", "tool") == "tool":
                self.messages.append({"role": "tool", "tool_call_id": result.call_id, "content": result.result})
            else:
                self.messages.append({"role": "user", "content": f"Tool result ({result.name}): {result.result}"})
        self.results.extend(results)
        if any(r.ends and r.valid for r in results):
            self._end("tool_end")
        self.phase = "assistant"
        return results

    # -- the end -----------------------------------------------------------------------------------------------
    def outcome(self) -> Outcome:
        reference = self.entry.reference or {}
        expect, forbid = reference.get("expect") or [], reference.get("forbid") or []
        done = [r for r in self.results if r.valid]
        missing = [a for a in expect if not any(_matches(a, r) for r in done)]
        forbidden = [a for a in forbid if any(_matches(a, r) for r in done)]
        ok = self.ended not in ("error", "incomplete")
        return Outcome(
            ended=self.ended or "incomplete", error=self.error if self.ended == "error" else
            ("incomplete" if self.ended == "incomplete" else None),
            end_state=(not missing and not forbidden) if ok else None, missing=missing, forbidden=forbidden,
            assistant_turns=self.assistant_calls, user_turns=self.user_turns, tool_calls=len(self.results),
            invalid_tool_calls=sum(not r.valid for r in self.results),
            tools_used=dict(Counter(r.name for r in self.results)), events=self.events)


def replay(entry: Trial, toolbox: ToolBox, records: dict[str, dict[str, Any]]) -> Dialogue:
    """The conversation as the archive has it: every archived turn taken in order; ends 'incomplete' when the
    archive stops before the conversation did.

    A received archive is not trusted: an archived turn must carry the request the conversation would have sent
    at that point (its body, or `request_digest` of it), and every archived turn must be one the conversation
    took; otherwise AlteredArchive (exit 1) names the turn."""
    d = Dialogue(entry, toolbox)
    while (trial := d.next_call()) is not None:
        record = records.get(trial.id)
        if record is None:
            d.incomplete()
            break
        sent = record.get("request_digest") or body_digest((record.get("request") or {}).get("body"))
        if sent != body_digest(trial.body):
            raise _altered(trial.id, "does not carry the request the conversation sends at that turn")
        d.take(record)
    extra = sorted(set(records) - {r.get("trial_id") for r in d.taken})
    if extra:
        raise _altered(extra[0], "is a turn the conversation never took (after its end, or past a missing turn)")
    return d


def body_digest(body: Any) -> str:
    """What identifies a request body (canonical JSON, hashed)."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _altered(turn: str, why: str):
    from roadtest.errors import AlteredArchive

    return AlteredArchive(f"trials.jsonl: turn {turn[:160]} {why}",
                          "the archive was changed after its run wrote it: nothing is derived from it; restore it "
                          "from another copy (`roadtest verify` names what else changed)")


def _tool_calls(record: dict[str, Any], turn: int) -> list[tuple[str, Any, Any, bool]]:
    body = (record.get("response") or {}).get("body") or {}
    try:
        message = (body.get("choices") or [{}])[0].get("message") or {}
    except (AttributeError, IndexError, TypeError):
        return []
    raw = message.get("tool_calls") if isinstance(message, dict) else None
    if not isinstance(raw, list):
        return []
    out = []
    if len(raw) > MAX_CALLS:   # past the cap: one refused call says so (counted invalid), the rest are not run
        raw = raw[:MAX_CALLS] + [{"function": {"name": "", "arguments": "{}"}, "_over": len(raw) - MAX_CALLS}]
    for i, call in enumerate(raw):
        call = call if isinstance(call, dict) else {}
        fn = call.get("function")
        fn = fn if isinstance(fn, dict) else {}
        # Our own call ids in the history, not the server's: llama.cpp's are random, and the next request must be
        # the same in every run (the cache, a rerun) when the answers are.
        out.append((f"call_{turn}_{i}", fn.get("name"), fn.get("arguments", "{}"), False))
    return out


def _argument_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def _action_line(action) -> str:
    if action.tool is None:
        return str(action.arguments or action.text)
    return json.dumps({"tool": action.tool, "arguments": action.arguments}, sort_keys=True, ensure_ascii=False)


def _same(expected: Any, got: Any) -> bool:
    """Argument values match: numbers by value (25 matches 25.0, "25.00" and "$25"), anything else as text without
    case or outer spaces. Text that only looks like a number is text: an id "007" does not match 7."""
    num_e, num_g = _number(expected), _number(got)
    if num_e is not None and num_g is not None:
        return abs(num_e - num_g) <= 1e-6 * max(1.0, abs(num_e))
    if isinstance(expected, dict) and isinstance(got, dict):
        return all(k in got and _same(v, got[k]) for k, v in expected.items())
    if isinstance(expected, (str, int, float)) and isinstance(got, (str, int, float)) \
            and not isinstance(expected, bool) and not isinstance(got, bool):
        return str(expected).strip().casefold() == str(got).strip().casefold()
    return expected == got


_NUMBER = re.compile(r"^[$€£]?\s*-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


def _number(value: Any) -> float | None:
    """A JSON number, or text written as a plain amount ("25", "25.00", "$25"; not "007" or "1e3")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip().lstrip("$€£").strip())
    return None


def _matches(action: Any, result: ToolResult) -> bool:
    """An expected or forbidden action ({tool, args}) matches a valid call: same tool, and every argument it
    names equal (arguments it does not name may be anything)."""
    if not isinstance(action, dict) or action.get("tool") != result.name:
        return False
    args = action.get("args") or {}
    got = result.arguments if isinstance(result.arguments, dict) else {}
    return all(k in got and _same(v, got[k]) for k, v in args.items())


__all__ = ["Dialogue", "ENDINGS", "Event", "OPENING", "Outcome", "body_digest", "replay", "turn_id"]
