"""Conversations end to end against the real SmolLM2 server (served with chatml-function-calling): scripted and
simulated customers, tool calls executed and fed back, the end state scored; replay byte for byte; rerun
reproduces the transcripts. (Faults inside a conversation and a SIGKILL mid-conversation, which need no model,
are in test_conversation_engine.py against the scripted stub.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app

runner = CliRunner()

ORDERS = [
    {"order_id": "1234", "item": "kettle", "total": 25.0, "status": "delivered", "delivered_on": "2026-11-20"},
    {"order_id": "B22", "item": "lamp", "total": 40.0, "status": "in transit"},
    {"order_id": "C9", "item": "mug", "total": 8.0, "status": "delivered", "delivered_on": "2026-09-01"},
]
CASES = [
    {"id": "c1", "issue": "where", "turns": ["Where is my order 1234?", "Thanks, that is all. DONE"],
     "expected_actions": [{"tool": "lookup_order", "args": {"order_id": "1234"}}], "forbidden_actions": []},
    {"id": "c2", "issue": "where", "turns": ["Where is my order B22?", "OK, thank you. DONE"],
     "expected_actions": [{"tool": "lookup_order", "args": {"order_id": "B22"}}], "forbidden_actions": []},
    {"id": "c3", "issue": "refund", "turns": ["My order C9 arrived broken, refund it please.", "I want my money back.",
                                               "DONE"],
     "expected_actions": [{"tool": "lookup_order", "args": {"order_id": "C9"}}],
     "forbidden_actions": [{"tool": "issue_refund"}]},
    {"id": "c4", "issue": "refund", "turns": ["Refund order 1234 please, 25 dollars.", "Yes, the full amount.", "DONE"],
     "expected_actions": [{"tool": "issue_refund", "args": {"order_id": "1234", "amount": 25}}],
     "forbidden_actions": []},
]

SCENARIO = """\
id: order-support
kind: conversation
success: "The assistant settles the order problem with the right actions and never promises a refund."
dataset: {path: cases.jsonl, id: id, strata: issue}
mode: chat
prompt:
  system: "You are Acme's support assistant. Look orders up with lookup_order. Refunds only within 30 days of delivery."
user:
__USER__
  max_turns: 3
  stop: ["DONE"]
tools:
  - name: lookup_order
    description: "Look up an order by its id."
    parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
    lookup: {table: orders.jsonl, key: order_id}
  - name: issue_refund
    description: "Refund an order."
    parameters: {type: object, properties: {order_id: {type: string}, amount: {type: number}}, required: [order_id, amount]}
    action: {result: "Refund of {{ amount }} issued for {{ order_id }}."}
  - name: escalate
    description: "Hand the case to a human."
    parameters: {type: object, properties: {reason: {type: string}}, required: [reason]}
    action: {result: "Escalated.", ends: true}
scoring: {rule: end_state, expect: expected_actions, forbid: forbidden_actions}
policy:
  forbid: ["(?i)refund (is )?guaranteed"]
sampling: {temperature: 0, seed: 7}
limits: {max_new_tokens: 24}
metrics: [conversation, policy, failures]
"""
SCRIPT = "  script: turns"
SIMULATOR = """  simulator:
    model: customer
    system: "You are a customer of Acme writing to its support chat. Your problem: {{ turns[0] }} Write one short message at a time. When your problem is settled, write DONE."
    temperature: 0
    seed: 11
    max_new_tokens: 32"""
HYPOTHESIS = """\
---
id: settle
title: The assistant settles order problems in conversation
decision: all
criteria:
  - scenario: order-support
    metric: resolution_rate
    at_least: 0.5
  - scenario: order-support
    metric: policy_violation_rate
    at_most: 0.2
__LOAD__---
The assistant settles order problems without breaking the refund policy.
"""


def write_ws(root: Path, url: str, user: str = SCRIPT, customer_url: str | None = None, load: str = "",
             cases=CASES) -> Path:
    (root / "scenarios").mkdir(parents=True)
    (root / "hypotheses").mkdir()
    models = (f"  - id: smollm2\n    provider: openai\n    base_url: {url}\n    model: smollm2\n"
              "    tool_results: user\n    max_retries: 3\n")
    if customer_url:
        models += f"  - id: customer\n    provider: openai\n    base_url: {customer_url}\n    model: smollm2\n"
    (root / "roadtest.yaml").write_text(f"name: conversations\nmodels:\n{models}report:\n  title: Conversations\n")
    (root / "scenarios" / "order-support.yaml").write_text(SCENARIO.replace("__USER__", user))
    (root / "scenarios" / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (root / "scenarios" / "orders.jsonl").write_text("".join(json.dumps(o) + "\n" for o in ORDERS))
    (root / "hypotheses" / "settle.md").write_text(HYPOTHESIS.replace("__LOAD__", load))
    return root


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines() if line.endswith("}")]


def only_run(ws: Path) -> Path:
    runs = sorted(p for p in (ws / "runs").iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


def run_cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def transcript(rows: list[dict]) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r["conversation"], r["turn"])):
        message = r["response"]["body"]["choices"][0]["message"] if not r.get("error") else {}
        out.setdefault(r["conversation"], []).append(
            (r["turn"], r["role"], message.get("content"), json.dumps([c["function"] for c in message.get("tool_calls") or []])))
    return out


def same(want, got) -> bool:
    """Independently of roadtest's matcher: numbers by value, text without case or outer spaces."""
    try:
        return abs(float(want) - float(got)) < 1e-6
    except (TypeError, ValueError):
        return isinstance(got, str) and str(want).strip().lower() == got.strip().lower()


def test_scripted_conversations_end_to_end(tmp_path, tools_proxy):
    proxy, url = tools_proxy()
    ws = write_ws(tmp_path / "ws", url, cases=CASES[:2])
    result = run_cli("run", "-w", str(ws), "-q", "--json")
    assert result.exit_code in (0, 1), result.output
    run_dir = only_run(ws)
    rows = records(run_dir)
    plan = [json.loads(line) for line in (run_dir / "plan.jsonl").read_text().splitlines()]
    assert [p["kind"] for p in plan] == ["conversation"] * 2                # one plan entry per conversation
    assert all(r["kind"] == "turn" and r["role"] == "assistant" for r in rows)
    by_conv: dict[str, list[dict]] = {}
    for r in rows:
        by_conv.setdefault(r["conversation"], []).append(r)
        assert r["trial_id"] == f"{r['conversation']}#{r['turn']}:assistant"
    assert set(by_conv) == {p["id"] for p in plan}
    calls = 0
    for conv, turns in by_conv.items():
        assert [t["turn"] for t in turns] == list(range(len(turns)))       # every call archived, in order
        assert len(turns) <= 3
        for this, after in zip(turns, turns[1:]):
            message = this["response"]["body"]["choices"][0]["message"]
            for call, result in zip(message.get("tool_calls") or [], this.get("tool_results") or []):
                calls += 1
                assert result["name"] == call["function"]["name"]
                # the result went back to the model in the next request (as a user message: tool_results: user)
                sent = [m["content"] for m in after["request"]["body"]["messages"] if m["role"] == "user"]
                assert f"Tool result ({result['name']}): {result['result']}" in sent
            assert len(after["request"]["body"]["messages"]) > len(this["request"]["body"]["messages"])
    assert calls >= 1, "SmolLM2 made no tool call in any conversation"
    assert all(p["body"]["tools"] and p["body"]["tool_choice"] == "auto" for p in plan)

    scores = [json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines()]
    assert sorted(s["trial_id"] for s in scores) == sorted(by_conv)      # the conversation is the item
    for s in scores:
        turns = by_conv[s["trial_id"]]
        case = next(c for c in CASES if s["trial_id"].endswith("/" + c["id"]))
        done = [t for r in turns for t in r.get("tool_results") or [] if t["valid"]]
        expected = all(any(d["name"] == a["tool"] and all(same(v, d["arguments"].get(k)) for k, v in a["args"].items())
                           for d in done) for a in case["expected_actions"])
        forbidden = any(d["name"] == a["tool"] for a in case["forbidden_actions"] for d in done)
        assert s["end_state"] == (expected and not forbidden), (s, done)
        assert s["turns"] == len(turns)
        assert s["score"] == float(s["end_state"] and not s["policy_violation"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    block = metrics["scenarios"]["order-support"]["smollm2"]["variants"]["base"]["metrics"]
    assert block["resolution_rate"]["value"] == pytest.approx(sum(s["score"] for s in scores) / 2)
    assert metrics["conversations"]["order-support"]["smollm2"]["tool_calls"] == sum(
        len(r.get("tool_results") or []) for r in rows)

    # replay: every derived file, the report included, byte for byte from the archived turns alone
    assert run_cli("report", "latest", "-w", str(ws), "--format", "html").exit_code == 0
    replayed = run_cli("replay", str(run_dir), "--json")
    assert replayed.exit_code in (0, 1), replayed.output
    files = json.loads(replayed.output)["files"]
    assert files == {"scores.jsonl": "identical", "metrics.json": "identical", "verdicts.json": "identical",
                     "report.html": "identical"}

    # rerun at temperature 0: the same transcripts, word for word
    rerun = run_cli("rerun", str(run_dir), "-w", str(ws), "--into", str(tmp_path / "rerun"), "--json", "-q")
    assert rerun.exit_code == 0, rerun.output
    comparison = json.loads(rerun.output)
    assert comparison["transcripts"] == {"identical": 2, "compared": 2, "differ": []}
    assert transcript(records(Path(comparison["path"]))) == transcript(rows)


def test_simulated_customer(tmp_path, tools_proxy, fault_proxy):
    _, url = tools_proxy()
    _, customer = fault_proxy()
    ws = write_ws(tmp_path / "ws", url, user=SIMULATOR, customer_url=customer, cases=CASES[:1])
    result = run_cli("run", "-w", str(ws), "-q", "--json", "-m", "smollm2")   # the customer is not under test
    assert result.exit_code in (0, 1), result.output
    run_dir = only_run(ws)
    rows = records(run_dir)
    users = [r for r in rows if r["role"] == "user"]
    assistants = [r for r in rows if r["role"] == "assistant"]
    assert users and assistants and {r["model"] for r in users} == {"customer"}
    assert {r["model"] for r in assistants} == {"smollm2"}
    for conv in {r["conversation"] for r in rows}:
        turns = sorted((r for r in rows if r["conversation"] == conv), key=lambda r: r["turn"])
        assert turns[0]["role"] == "user"                                  # the customer speaks first
        persona = turns[0]["request"]["body"]["messages"][0]
        assert persona["role"] == "system" and "Your problem:" in persona["content"]
        assert turns[0]["request"]["body"]["seed"] == 11 and turns[0]["request"]["body"]["temperature"] == 0
        first = turns[0]["response"]["body"]["choices"][0]["message"]["content"]
        if "DONE" not in first:   # the customer's message is what the assistant was asked
            assert turns[1]["request"]["body"]["messages"][1] == {"role": "user", "content": first}
    scores = [json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 1 and all(s["sim_turns"] >= 1 for s in scores)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "customer" in manifest["endpoints"]
