"""Kill a real `roadtest run` with SIGKILL, resume it, and get exactly the uninterrupted run; the cache."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import write_workspace

runner = CliRunner()
ITEMS = [{"id": f"a{i}-{j}", "question": f"What is {i} plus {j}?", "answer": i + j, "kind": "add" if j % 2 else "even"}
         for i in range(1, 7) for j in range(1, 6)]   # 30 distinct items


@pytest.fixture
def slow_proxy(fault_proxy):
    return fault_proxy(delay_s=0.15)


def lines(run_dir: Path) -> list[dict]:
    return [json.loads(l) for l in (run_dir / "trials.jsonl").read_text().splitlines() if l.endswith("}")]


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, slow_proxy):
    proxy, url = slow_proxy
    ws = write_workspace(tmp_path / "ws", url=url, items=ITEMS)
    proc = subprocess.Popen([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    run_dir = None
    while time.monotonic() < deadline:
        found = list((ws / "runs").glob("*/trials.jsonl")) if (ws / "runs").exists() else []
        if found and found[0].read_text().count("\n") >= 8:
            run_dir = found[0].parent
            break
        time.sleep(0.05)
    assert run_dir is not None, "the run produced no trials"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = lines(run_dir)
    assert 8 <= len(finished) < 30
    with (run_dir / "trials.jsonl").open("a") as f:       # what a kill mid-write leaves behind
        f.write('{"trial_id": "smollm2/tiny-math/base/r0/a1-1", "half')
    sent_before = len(proxy.seen)

    result = runner.invoke(app, ["run", "-w", str(ws), "--resume", run_dir.name, "-q", "--json"])
    assert result.exit_code == 0, result.output
    final = lines(run_dir)
    ids = [r["trial_id"] for r in final]
    assert len(ids) == len(set(ids)) == 30                                   # every trial exactly once
    assert (run_dir / "trials.jsonl").read_text().endswith("\n")
    resent = {s.digest for s in proxy.seen[sent_before:]}
    finished_digests = {s.digest for s in proxy.seen[:sent_before]
                        if any(r["request"]["body"] == s.body for r in finished)}
    assert not resent & finished_digests                                     # no finished call sent twice
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["resumes"]) == 1

    with sqlite3.connect(ws / ".roadtest" / "cache.sqlite") as db:
        stores = [row[0] for row in db.execute("SELECT stores FROM responses")]
    assert len(stores) == 30 and set(stores) == {1}                          # the cache saw each request once

    # The same workspace, uninterrupted, calling the model again: the same scores and verdicts.
    clean = tmp_path / "clean"
    shutil.copytree(ws, clean, ignore=shutil.ignore_patterns("runs", ".roadtest"))
    assert runner.invoke(app, ["run", "-w", str(clean), "-q", "--no-cache"]).exit_code == 0
    clean_dir = next((clean / "runs").iterdir())

    def scored(d):
        return sorted((s["trial_id"], s["score"], s["extracted"]) for s in
                      map(json.loads, (d / "scores.jsonl").read_text().splitlines()))

    assert scored(run_dir) == scored(clean_dir)
    acc = lambda d: json.loads((d / "metrics.json").read_text())["scenarios"]["tiny-math"]["smollm2"]["variants"]["base"]["metrics"]["accuracy"]  # noqa: E731
    assert acc(run_dir) == acc(clean_dir)
    verdicts = lambda d: json.loads((d / "verdicts.json").read_text())["hypotheses"][0]["models"]["smollm2"]["criteria"][0]  # noqa: E731
    assert verdicts(run_dir)["verdict"] == verdicts(clean_dir)["verdict"]


def test_a_second_run_comes_from_the_cache_and_no_cache_sends_again(tmp_path, slow_proxy):
    proxy, url = slow_proxy
    ws = write_workspace(tmp_path / "ws", url=url)
    first = json.loads(runner.invoke(app, ["run", "-w", str(ws), "-q", "--json"]).stdout)
    assert first["cached"] == 0 and len(proxy.seen) == 5
    second = json.loads(runner.invoke(app, ["run", "-w", str(ws), "-q", "--json"]).stdout)
    assert second["cached"] == 5 and len(proxy.seen) == 5                    # nothing sent
    cached = lines(Path(second["path"]))
    assert all(r["cache"]["hit"] for r in cached)
    assert [r["response"] for r in cached] == [r["response"] for r in lines(Path(first["path"]))]
    third = json.loads(runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"]).stdout)
    assert third["cached"] == 0 and len(proxy.seen) == 10


def test_resume_of_a_complete_run_says_so(tmp_path, slow_proxy):
    _, url = slow_proxy
    ws = write_workspace(tmp_path / "ws", url=url)
    assert runner.invoke(app, ["run", "-w", str(ws), "-q"]).exit_code == 0
    result = runner.invoke(app, ["run", "-w", str(ws), "--resume", "latest"])
    assert result.exit_code == 2 and "already complete" in result.output


def test_deadline_stops_with_exit_3_and_resume_finishes(tmp_path, slow_proxy):
    _, url = slow_proxy
    ws = write_workspace(tmp_path / "ws", url=url, items=ITEMS)
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--deadline", "1.5"])
    assert result.exit_code == 3, result.output
    assert "roadtest run --resume" in result.output
    run_dir = next((ws / "runs").iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "stopped: deadline"
    assert 0 < len(lines(run_dir)) < 30
    assert runner.invoke(app, ["run", "-w", str(ws), "--resume", run_dir.name, "-q"]).exit_code == 0
    assert len(lines(run_dir)) == 30


def test_max_cost_stops_before_the_budget_is_exceeded(tmp_path, slow_proxy):
    _, url = slow_proxy
    ws = write_workspace(tmp_path / "ws", url=url, items=ITEMS)
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", "    model: smollm2\n"
                                           "    price: {input_per_mtok: 1000, output_per_mtok: 1000}\n"))
    # each call: ~10 prompt tokens estimated, 6 output tokens max -> about 0.016; 0.1 buys a handful
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--max-cost", "0.1", "--no-cache"])
    assert result.exit_code == 3 and "--max-cost" in result.output
    run_dir = next((ws / "runs").iterdir())
    rows = lines(run_dir)
    spent = sum((r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]) * 1000 / 1e6 for r in rows)
    assert 0 < len(rows) < 30 and spent <= 0.1
    # the budget is the whole run's: resuming with the same budget sends nothing more
    again = runner.invoke(app, ["run", "-w", str(ws), "--resume", run_dir.name, "-q", "--max-cost", "0.1", "--no-cache"])
    assert again.exit_code == 3 and len(lines(run_dir)) == len(rows)
    # a larger one lets the run go on, and the total stays within it
    runner.invoke(app, ["run", "-w", str(ws), "--resume", run_dir.name, "-q", "--max-cost", "0.2", "--no-cache"])
    rows = lines(run_dir)
    spent = sum((r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]) * 1000 / 1e6 for r in rows)
    assert spent <= 0.2
