"""What a new user sees in an 80-column terminal: JSON even for usage errors, ids never cut, diffs shown whole,
and the budget's blind spots named before anything is spent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.spec.metrics import METRICS
from tests.conftest import TINY_SCENARIO, write_workspace

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
LONG_MODEL = "a-model-with-a-really-long-identifier-v2-2026-12-01"


@pytest.mark.parametrize("args,words", [
    (["run", "--max-cost", "abc"], "--max-cost"),
    (["run", "--no-such-option"], "No such option"),
    (["diff", "only-one-run"], "Missing argument"),
    (["report", "--format", "docx"], "unknown format"),
    (["run", "--retry-errors"], "--retry-errors works with --resume"),
    (["run", "--max-cost", "nan"], "--max-cost must be a positive amount"),
    (["run", "--max-cost", "-1"], "--max-cost must be a positive amount"),
    (["run", "--deadline", "nan"], "--deadline must be a positive duration"),
])
def test_usage_errors_with_json_are_json(tmp_path, args, words):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    result = runner.invoke(app, [*args, "-w", str(ws), "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["exit_code"] == 2
    assert words in payload["error"]["message"] and payload["error"]["hint"]
    assert "Traceback" not in result.output


def test_usage_errors_are_json_from_the_installed_command_too(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "roadtest", "run", "--max-cost", "abc", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["kind"] == "usage"
    assert "Traceback" not in proc.stderr


def test_bad_input_with_json_lists_every_problem(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", scenario=TINY_SCENARIO.replace("repeats: 1", "repeats: 0"))
    result = runner.invoke(app, ["run", "-w", str(ws), "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["problems"][0]["path"] == "scenarios/tiny-math.yaml" and payload["problems"][0]["line"] > 0


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_metric_names_are_never_cut_at_80_columns():
    result = runner.invoke(app, ["check", "--metrics"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "…" not in result.output
    assert all(len(line) <= 80 for line in _lines(result.output))
    for name in METRICS.names():
        assert any(name in line.split() or f" {name} " in line for line in _lines(result.output)), name


def test_run_ids_and_model_ids_are_never_cut_at_80_columns(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    runs = ws / "runs"
    for run_id in ("20261201-101500-9c01aa", "20261201-111500-9c01ab"):
        shutil.copytree(FIXTURE, runs / run_id)
        manifest = json.loads((runs / run_id / "manifest.json").read_text())
        manifest["run_id"] = run_id
        manifest["config"]["selection"]["models"] = [LONG_MODEL, "smollm2"]
        (runs / run_id / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["runs", "-w", str(ws)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for run_id in ("20261201-101500-9c01aa", "20261201-111500-9c01ab"):
        assert run_id in result.output
    assert LONG_MODEL in result.output                # whole, on one line
    assert all(len(line) <= 80 for line in _lines(result.output))


def test_diff_shows_a_changed_prompt_whole(tmp_path):
    a, b = tmp_path / "runs" / "a-run", tmp_path / "runs" / "b-run"
    shutil.copytree(FIXTURE, a)
    shutil.copytree(FIXTURE, b)
    manifest = json.loads((b / "manifest.json").read_text())
    scenario = manifest["config"]["scenarios"]["tiny-math"]["spec"]
    long_system = ("You are a careful assistant. Read the question, work it out step by step in your head, and then "
                   "answer with the number only, nothing else, no units and no words.")
    scenario["prompt"]["system"] = long_system
    (b / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["diff", str(a), str(b), "-w", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code in (0, 1), result.output
    assert "prompt.system" in result.output
    assert "+" + long_system in result.output.replace("    +", "+")          # the new prompt, whole, as a diff line
    assert "…" not in result.output


def test_max_cost_names_the_models_it_cannot_count(tmp_path):
    unpriced = "  - id: remote\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n    model: x\n"
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", extra_models=unpriced)
    check = runner.invoke(app, ["check", "-w", str(ws), "--max-cost", "2.5"])
    assert check.exit_code == 0 and "warning:" in check.output and "remote" in check.output
    assert "cannot stop them" in check.output or "cannot stop" in check.output
    plan = json.loads(runner.invoke(app, ["plan", "-w", str(ws), "--max-cost", "2.5", "--json"]).stdout)
    assert any("remote" in w for w in plan["warnings"])
    assert not runner.invoke(app, ["check", "-w", str(ws)]).output.count("warning:")   # no budget, no warning
