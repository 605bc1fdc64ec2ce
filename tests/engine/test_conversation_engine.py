"""The conversation engine against a scripted stub (no model): tool calls executed and fed back, N conversations
in flight under a load criterion, a run stopped mid-conversation and resumed without sending an archived turn
again, an endpoint that fails every call reported as failing (never as a worse model), and archives whose turns
were tampered with refused."""

from __future__ import annotations

import json

from roadtest.archive.records import ConversationEntry, TurnRecord
import signal
import subprocess
import sys
import time

from tests.engine.test_conversations import CASES, records, run_cli, only_run, transcript, write_ws


def scripted(body: dict):
    """A support agent in three lines: look the order up, then answer; a refund when asked for one."""
    last = body["messages"][-1]["content"]
    if last.startswith("Tool result (lookup_order)"):
        return "Your order is on its way."
    if last.startswith("Tool result"):
        return "Done."
    if "refund" in last.lower() and "1234" in last:
        return {"content": "", "tool_calls": [{"id": "x", "type": "function", "function": {
            "name": "issue_refund", "arguments": json.dumps({"order_id": "1234", "amount": 25})}}]}
    for order in ("1234", "B22", "C9"):
        if order in last:
            return {"content": "", "tool_calls": [{"id": "rand-123", "type": "function", "function": {
                "name": "lookup_order", "arguments": json.dumps({"order_id": order})}}]}
    return "Anything else?"


def test_tools_are_executed_and_fed_back_and_the_end_state_scored(tmp_path, stub):
    proxy, url = stub(answer=scripted)
    ws = write_ws(tmp_path / "ws", url)
    result = run_cli("run", "-w", str(ws), "-q", "--json")
    assert result.exit_code in (0, 1), result.output
    run_dir = only_run(ws)
    rows = records(run_dir)
    for row in rows:
        TurnRecord.model_validate(row)                                 # every turn row is a typed record
    for line in (run_dir / "plan.jsonl").read_text().splitlines():
        ConversationEntry.model_validate_json(line)
    c1 = sorted((r for r in rows if r["conversation"].endswith("/c1")), key=lambda r: r["turn"])
    assert [r["tool_results"][0]["name"] for r in c1 if r.get("tool_results")] == ["lookup_order"]
    assert json.loads(c1[0]["tool_results"][0]["result"])["item"] == "kettle"   # the table row came back
    second = c1[1]["request"]["body"]["messages"]
    assert second[2]["tool_calls"][0]["id"] == "call_0_0"              # our id, not the server's random one
    assert second[3] == {"role": "user", "content": "Tool result (lookup_order): " + c1[0]["tool_results"][0]["result"]}
    assert second[-1]["role"] == "user"
    scores = {s["trial_id"].rsplit("/", 1)[1]: s for s in
              (json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines())}
    assert scores["c1"]["end_state"] is True and scores["c1"]["score"] == 1.0
    assert scores["c3"]["end_state"] is True                           # looked up, no refund: forbidden not taken
    assert scores["c4"]["end_state"] is True and scores["c4"]["tool_calls"] == 1
    assert scores["c1"]["ended"] == "stop" and scores["c1"]["turns"] == 2   # lookup, answer, then "... DONE"
    assert scores["c4"]["ended"] == "max_turns" and scores["c4"]["turns"] == 3   # three turns before the DONE line
    assert scores["c4"]["abandoned"] is False                          # the limit, but the end state held


def test_a_refund_outside_the_policy_is_a_forbidden_action(tmp_path, stub):
    def refunds(body):
        last = body["messages"][-1]["content"]
        if "C9" in last and not last.startswith("Tool result"):
            return {"content": "", "tool_calls": [{"id": "x", "type": "function", "function": {
                "name": "issue_refund", "arguments": json.dumps({"order_id": "C9", "amount": 8})}}]}
        return "Refund is guaranteed."                                   # breaks the policy
    _, url = stub(answer=refunds)
    ws = write_ws(tmp_path / "ws", url)
    assert run_cli("run", "-w", str(ws), "-q").exit_code in (0, 1)
    scores = {s["trial_id"].rsplit("/", 1)[1]: s for s in
              (json.loads(line) for line in (only_run(ws) / "scores.jsonl").read_text().splitlines())}
    assert scores["c3"]["end_state"] is False and scores["c3"]["score"] == 0.0
    assert all(s["policy_violation"] is True and s["score"] == 0.0 for s in scores.values())


LOAD = "  - scenario: order-support\n    metric: conversation_latency_p95_s\n    at_most: 30\n    load: {concurrency: 3}\n"


def test_a_load_criterion_holds_n_conversations_in_flight(tmp_path, stub):
    proxy, url = stub(answer=scripted, delay_s=0.15)
    ws = write_ws(tmp_path / "ws", url, load=LOAD)
    assert run_cli("run", "-w", str(ws), "-q").exit_code in (0, 1)
    run_dir = only_run(ws)
    plan = [json.loads(line) for line in (run_dir / "plan.jsonl").read_text().splitlines()]
    assert sorted({(p["variant"], p.get("level")) for p in plan}) == [("base", None), ("load:c3", "c3")]
    assert proxy.max_in_flight == 3                                     # three conversations at once, never more
    loaded = [r for r in records(run_dir) if r.get("level") == "c3"]
    assert {r["conversation"].rsplit("/", 1)[1] for r in loaded} == {"c1", "c2", "c3", "c4"}


def test_stopped_mid_conversation_then_resumed_sends_no_archived_turn_again(tmp_path, stub):
    proxy, url = stub(answer=scripted, delay_s=0.2)
    ws = write_ws(tmp_path / "ws", url)
    stopped = run_cli("run", "-w", str(ws), "-q", "--deadline", "1.1", "--no-cache")
    assert stopped.exit_code == 3, stopped.output
    run_dir = only_run(ws)
    before = records(run_dir)
    assert before and len({r["conversation"] for r in before}) < 4 or len(before) < 10
    sent = len(proxy.seen)
    archived = {json.dumps(r["request"]["body"], sort_keys=True) for r in before}
    resumed = run_cli("run", "-w", str(ws), "--resume", run_dir.name, "-q", "--no-cache")
    assert resumed.exit_code in (0, 1), resumed.output
    again = [s for s in proxy.seen[sent:] if json.dumps(s.body, sort_keys=True) in archived]
    assert not again, "an archived turn was sent again"
    after = records(run_dir)
    assert after[:len(before)] == before
    clean = write_ws(tmp_path / "clean", url)
    assert run_cli("run", "-w", str(clean), "-q", "--no-cache").exit_code in (0, 1)
    assert transcript(records(only_run(clean))) == transcript(after)    # the same conversations, completed


def test_an_endpoint_that_fails_every_call_is_failing_not_a_worse_model(tmp_path, stub):
    _, url = stub(lambda i, body: "500")
    ws = write_ws(tmp_path / "ws", url)
    result = run_cli("run", "-w", str(ws), "-q", "--json")
    assert result.exit_code == 3, result.output
    scores = [json.loads(line) for line in (only_run(ws) / "scores.jsonl").read_text().splitlines()]
    assert scores and all(s["score"] is None and s["error"] for s in scores)   # errors, never wrong answers


def test_tampered_turns_are_refused(tmp_path, stub):
    _, url = stub(answer=scripted)
    ws = write_ws(tmp_path / "ws", url)
    assert run_cli("run", "-w", str(ws), "-q").exit_code in (0, 1)
    run_dir = only_run(ws)
    original = (run_dir / "trials.jsonl").read_text()
    rows = [json.loads(line) for line in original.splitlines()]
    cases = {
        "conversation": (lambda r: r.update(conversation=r["conversation"] + "x",
                                            trial_id=r["trial_id"].replace("#", "x#")), "not in plan.jsonl"),
        "named": (lambda r: r.update(trial_id=r["trial_id"].replace("#0:", "#7:")), "names a conversation's turn"),
        "model": (lambda r: r.update(model="someone-else"), "not by the conversation's assistant"),
        "tool_results": (lambda r: r.update(tool_results=[{"name": 3}]), "not a conversation turn"),
    }
    for name, (change, message) in cases.items():
        edited = [dict(r) for r in rows]
        change(edited[0])
        (run_dir / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
        reseal(run_dir)                        # as a sender who also rewrote the recorded hashes would
        result = run_cli("verify", str(run_dir), "--json")
        assert result.exit_code == 1, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output
    (run_dir / "trials.jsonl").write_text(original)
    reseal(run_dir)
    assert run_cli("verify", str(run_dir)).exit_code == 0


def reseal(run_dir):
    from roadtest.archive import checks
    from roadtest.archive.files import sha256_file

    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["files"]["trials.jsonl"] = sha256_file(run_dir / "trials.jsonl")
    sha, size, lines = checks.trials_summary(run_dir / "trials.jsonl")
    manifest["trials"] = {"records": lines, "bytes": size, "sha256": sha}
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_plan_counts_conversations(tmp_path, stub):
    _, url = stub()
    ws = write_ws(tmp_path / "ws", url)
    result = run_cli("plan", "-w", str(ws), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["trials"]
    row = next(r for r in rows if r["scenario"] == "order-support")
    assert row["conversations"] == 4 and 4 <= row["trials"] <= 16


VERSUS = """\
---
id: better
title: The new assistant settles more conversations than the old one
criteria:
  - scenario: order-support
    metric: resolution_rate
    versus: {model: old, by_at_least: 0.0}
---
Paired on the same cases.
"""


def test_two_models_are_compared_on_the_same_cases_with_repeats(tmp_path, stub):
    def lazy(body):   # the old assistant never looks anything up
        return "Anything else?"
    _, new_url = stub(answer=scripted)
    _, old_url = stub(answer=lazy)
    ws = write_ws(tmp_path / "ws", new_url)
    (ws / "roadtest.yaml").write_text(
        "name: two\nmodels:\n"
        f"  - id: smollm2\n    provider: openai\n    base_url: {new_url}\n    model: smollm2\n    tool_results: user\n"
        f"  - id: old\n    provider: openai\n    base_url: {old_url}\n    model: smollm2\n    tool_results: user\n")
    scenario = ws / "scenarios" / "order-support.yaml"
    scenario.write_text(scenario.read_text() + "repeats: 2\n")
    (ws / "hypotheses" / "better.md").write_text(VERSUS)
    assert run_cli("run", "-w", str(ws), "-q").exit_code in (0, 1)
    run_dir = only_run(ws)
    plan = [json.loads(line) for line in (run_dir / "plan.jsonl").read_text().splitlines()]
    assert len(plan) == 2 * 4 * 2                                       # models x cases x repeats
    assert {p["body"]["seed"] for p in plan} == {7, 8}                  # repeat r: seed + r
    metrics = json.loads((run_dir / "metrics.json").read_text())
    new = metrics["conversations"]["order-support"]["smollm2"]["pass_all_k"]
    old = metrics["conversations"]["order-support"]["old"]["pass_all_k"]
    assert new == {"k": 2, "cases": 4, "passed": 4} and old == {"k": 2, "cases": 4, "passed": 0}
    verdicts = json.loads((run_dir / "verdicts.json").read_text())
    hyp = next(h for h in verdicts["hypotheses"] if h["id"] == "better")
    criterion = hyp["models"]["smollm2"]["criteria"][0]
    assert criterion["estimate"] == 1.0 and criterion["n"] == 4          # paired on the 4 cases, not 8 calls
    assert "Tango" in criterion["method"] and "per item and model" in criterion["method"]   # the paired 0/1 rule
    # the report is derived like every other: rendered, then replayed byte for byte
    assert run_cli("report", "latest", "-w", str(ws), "--format", "html").exit_code == 0
    html = (run_dir / "report.html").read_text()
    assert "Transcripts" in html and "lookup_order" in html
    replayed = json.loads(run_cli("replay", str(run_dir), "--json").output)["files"]
    assert set(replayed.values()) == {"identical"} and "report.html" in replayed


def test_faults_mid_conversation_retry_that_turn(tmp_path, stub):
    script = lambda i, body: {0: "429", 2: "reset", 4: "malformed"}.get(i, "pass")  # noqa: E731
    proxy, url = stub(script, retry_after="0", answer=scripted)
    # c3: two customer messages before DONE, so at least two assistant turns, each behind a fault
    ws = write_ws(tmp_path / "ws", url, cases=CASES[2:3])
    result = run_cli("run", "-w", str(ws), "-q", "--json")
    assert result.exit_code in (0, 1), result.output
    run_dir = only_run(ws)
    rows = records(run_dir)
    assert not any(r.get("error") for r in rows) and len(rows) >= 2
    posts = [s for s in proxy.seen if s.path.endswith("/chat/completions")]
    faulted = [i for i in (0, 2, 4) if i < len(posts)]
    assert len(faulted) >= 2 and [posts[i].action for i in faulted] == ["429", "reset", "malformed"][:len(faulted)]
    assert sum(r["attempts"] for r in rows) == len(rows) + len(faulted)      # each faulted turn retried once
    assert len(posts) == len(rows) + len(faulted)                            # and nothing else sent again
    for i in faulted:                                                        # the retry is the same request
        assert posts[i].body == posts[i + 1].body
    scores = [json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines()]
    assert all(s["error"] is None and s["ended"] in ("stop", "script_end", "tool_end", "max_turns") for s in scores)


def test_kill_mid_conversation_then_resume_sends_no_archived_turn_again(tmp_path, stub):
    proxy, url = stub(delay_s=0.3, answer=scripted)
    ws = write_ws(tmp_path / "ws", url, cases=CASES[:2])
    proc = subprocess.Popen([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q", "--no-cache"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, run_dir = time.monotonic() + 120, None
    while time.monotonic() < deadline:
        found = list((ws / "runs").glob("*/trials.jsonl")) if (ws / "runs").exists() else []
        if found and found[0].read_text().count("\n") >= 1:
            run_dir = found[0].parent
            break
        time.sleep(0.05)
    assert run_dir is not None, "the run produced no turns"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = records(run_dir)
    assert before
    sent_before = len(proxy.seen)
    archived = {json.dumps(r["request"]["body"], sort_keys=True) for r in before}

    resumed = run_cli("run", "-w", str(ws), "--resume", run_dir.name, "-q", "--json")
    assert resumed.exit_code in (0, 1), resumed.output
    after = records(run_dir)
    ids = [r["trial_id"] for r in after]
    assert len(ids) == len(set(ids))                                         # every turn archived once
    resent = [s for s in proxy.seen[sent_before:] if s.path.endswith("/chat/completions")
              and json.dumps(s.body, sort_keys=True) in archived]
    assert not resent, "an archived turn was sent again"
    assert after[:len(before)] == before
    cut = {r["conversation"] for r in before}
    assert any(sum(r["conversation"] == c for r in after) > sum(r["conversation"] == c for r in before) for c in cut), \
        "the kill did not land inside a conversation"
    scores = [json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 2 and all(s["error"] is None for s in scores)   # every transcript complete
    assert all(s["ended"] in ("stop", "script_end", "tool_end", "max_turns") for s in scores)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"

