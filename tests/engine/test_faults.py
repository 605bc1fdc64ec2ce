"""The engine against a fault-injecting proxy in front of the real llama.cpp server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import write_workspace

runner = CliRunner()


@pytest.fixture
def proxy(fault_proxy):
    return fault_proxy


def workspace(tmp_path: Path, url: str, extra: str = "") -> Path:
    ws = write_workspace(tmp_path / "ws", url=url)
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", "    model: smollm2\n    timeout_s: 3\n"
                                           "    max_retries: 3\n" + extra))
    return ws


def run(ws: Path, *extra: str):
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache", "--retry-base", "0.05", *extra])
    return result


def trials(ws: Path) -> list[dict]:
    run_dir = sorted((ws / "runs").iterdir())[-1]
    return [json.loads(l) for l in (run_dir / "trials.jsonl").read_text().splitlines()]


def first_of(item_text: str, action: str):
    """Fail the first request for one item, pass everything else."""
    fired = []

    def script(i, body):
        if item_text in json.dumps(body) and not fired:
            fired.append(i)
            return action
        return "pass"

    return script


@pytest.mark.parametrize("action,kind", [
    ("429", "http_429"), ("500", "http_500"), ("503", "http_503"), ("reset", "connection"),
    ("slow", "timeout"), ("malformed", "bad_response"), ("truncated", "connection"),
])
def test_a_transient_fault_is_retried_and_nothing_is_lost(tmp_path, proxy, action, kind):
    p, url = proxy(first_of("2 plus 2", action), retry_after="0")
    ws = workspace(tmp_path, url)
    result = run(ws)
    assert result.exit_code == 0, result.output
    rows = trials(ws)
    assert sorted(r["item"] for r in rows) == ["a1", "a2", "a3", "a4", "a5"]        # each trial exactly once
    assert all(r["error"] is None for r in rows)
    retried = next(r for r in rows if r["item"] == "a1")
    assert retried["attempts"] == 2
    assert len(p.seen) == 6                                                          # 5 calls + 1 retry
    assert p.seen[0].action == action and p.seen[1].digest == p.seen[0].digest     # the same request again


@pytest.mark.parametrize("action,kind,attempts", [
    ("500", "http_500", 4), ("reset", "connection", 4), ("slow", "timeout", 4), ("malformed", "bad_response", 4),
    ("400", "http_400", 1),   # a client error is not retried
])
def test_an_unrecoverable_fault_is_an_error_row_with_its_reason(tmp_path, proxy, action, kind, attempts):
    p, url = proxy(lambda i, body: action if "3 plus 5" in json.dumps(body) else "pass", slow_s=4.0)
    ws = workspace(tmp_path, url)
    result = run(ws)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trials"] == 5 and summary["errors"] == 1
    failed = next(r for r in trials(ws) if r["item"] == "a2")
    assert failed["error"]["kind"] == kind
    assert failed["attempts"] == attempts
    if action in ("500", "400"):
        assert failed["error"]["message"] == f"injected {action}"                   # the server's own words
        assert failed["response"]["status"] == int(action)


def test_retry_after_is_honoured(tmp_path, proxy):
    p, url = proxy(first_of("2 plus 2", "429"), retry_after="1")
    ws = workspace(tmp_path, url)
    assert run(ws).exit_code == 0
    first, second = p.seen[0], next(s for s in p.seen[1:] if s.digest == p.seen[0].digest)
    assert second.at - first.at >= 1.0
    assert next(r for r in trials(ws) if r["item"] == "a1")["retry_wait_s"] >= 1.0


def test_concurrency_limit_is_respected(tmp_path, proxy):
    p, url = proxy(delay_s=0.3)
    ws = workspace(tmp_path, url, extra="    max_concurrency: 2\n")
    assert run(ws).exit_code == 0
    assert p.max_in_flight == 2


def test_requests_per_minute_limit(tmp_path, proxy):
    p, url = proxy()
    ws = workspace(tmp_path, url, extra="    rpm: 120\n")             # 2 per second, a burst of 2
    assert run(ws).exit_code == 0
    starts = sorted(s.at for s in p.seen)
    assert starts[-1] - starts[0] >= 1.4                                 # 5 calls at 2/s after a burst of 2


def test_api_keys_never_reach_the_archive(tmp_path, proxy, monkeypatch):
    p, url = proxy(lambda i, body: "400")
    monkeypatch.setenv("TINY_KEY", "sk-test-secret-123")
    ws = workspace(tmp_path, url, extra="    api_key_env: TINY_KEY\n")
    assert run(ws).exit_code == 3            # every call refused: NOT DECIDED, never a verdict about the model
    run_dir = sorted((ws / "runs").iterdir())[-1]
    for f in run_dir.iterdir():
        assert "sk-test-secret-123" not in f.read_text(errors="replace"), f.name


def test_retry_errors_sends_only_the_failed_calls_again(tmp_path, proxy):
    outage = {"on": True}
    p, url = proxy(lambda i, body: "500" if outage["on"] and "3 plus 5" in json.dumps(body) else "pass")
    ws = workspace(tmp_path, url)
    first = json.loads(run(ws).stdout)
    assert first["errors"] == 1
    run_dir = sorted((ws / "runs").iterdir())[-1]
    sent_before = len(p.seen)
    outage["on"] = False                                                   # the endpoint recovered
    again = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache", "--resume", run_dir.name,
                                "--retry-errors"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["trials"] == 5 and summary["errors"] == 0
    resent = p.seen[sent_before:]
    assert len(resent) == 1 and "3 plus 5" in json.dumps(resent[0].body)  # only the failed call went out again
    rows = trials(ws)
    assert [r["item"] for r in rows].count("a2") == 2                      # the error row stays as a record
    assert runner.invoke(app, ["verify", str(run_dir), "-w", str(ws)]).exit_code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["scenarios"]["tiny-math"]["smollm2"]["variants"]["base"]["metrics"]["error_rate"]["value"] == 0.0
