"""An outage is never a verdict about the model: a dead endpoint is NOT DECIDED, never REFUTED or 'worse'."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_HYPOTHESIS, TINY_ITEMS, write_workspace

runner = CliRunner()

HYPOTHESIS = TINY_HYPOTHESIS.replace("""  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
""", """  - scenario: tiny-math
    metric: accuracy
    versus: {model: dead, by_at_least: 0.0}
""")

DEAD = "  - id: dead\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n    max_retries: 0\n"


def _run_dir(ws):
    return next(p for p in (ws / "runs").iterdir() if p.is_dir() and p.name.startswith("20"))


def _workspace(tmp_path, url):
    items = [{**item, "id": f"q{i}", "answer": 4} for i, item in enumerate(TINY_ITEMS * 4)]   # 20 items
    return write_workspace(tmp_path / "ws", url, items=items, hypothesis=HYPOTHESIS, extra_models=DEAD)


def test_a_dead_endpoint_stops_the_run_and_its_verdicts_are_not_decided(tmp_path, stub):
    _, url = stub()                                           # the healthy model: answers "4" to everything
    ws = _workspace(tmp_path, url)
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--retry-base", "0.01"])
    assert result.exit_code == 3 and "endpoint failing: dead" in result.output, result.output
    report = runner.invoke(app, ["report", "latest", "-w", str(ws), "--format", "html"])
    assert report.exit_code == 0, report.output
    verdicts = json.loads((_run_dir(ws) / "verdicts.json").read_text())["hypotheses"][0]["models"]
    assert verdicts["dead"]["verdict"] == "NOT DECIDED"       # never REFUTED: an outage is not evidence
    assert "dead's endpoint failed" in verdicts["dead"]["not_decided"][0]
    versus = verdicts["smollm2"]["criteria"][1]
    assert versus["verdict"] == "NOT DECIDED" and "outage" in versus["note"]   # never "+1.0 better"
    assert verdicts["smollm2"]["criteria"][0]["verdict"] != "NOT DECIDED"     # its own answers still count


def test_a_finished_run_with_a_failing_model_exits_3_naming_it(tmp_path, stub):
    """Every call of one model is refused with 400 (the request's fault, so the engine does not stop): the run
    finishes, that model and every comparison against it are NOT DECIDED, and `run` exits 3."""
    _, url = stub()
    _, refusing = stub(lambda i, body: "400")
    items = [{**item, "id": f"q{i}", "answer": 4} for i, item in enumerate(TINY_ITEMS * 4)]
    ws = write_workspace(tmp_path / "ws", url, items=items, hypothesis=HYPOTHESIS,
                         extra_models=DEAD.replace("http://127.0.0.1:9/v1", refusing))
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--retry-base", "0.01"])
    assert result.exit_code == 3, result.output
    out = json.loads(result.stdout)
    assert out["verdicts"]["tiny-claim"] == {"smollm2": "NOT DECIDED", "dead": "NOT DECIDED"}
    assert any("dead's endpoint failed 20 of 20 calls" in line for line in out["not_decided"])
    assert "NOT DECIDED" in result.stderr and "--retry-errors" in result.stderr
    run_dir = _run_dir(ws)
    healthy = json.loads((run_dir / "verdicts.json").read_text())["hypotheses"][0]["models"]["smollm2"]["criteria"]
    assert healthy[0]["verdict"] == "SUPPORTED"               # 20 of 20 right: decided on its own answers
    dead = json.loads((run_dir / "metrics.json").read_text())["scenarios"]["tiny-math"]["dead"]["variants"]["base"]
    assert dead["metrics"]["accuracy"]["value"] is None and dead["metrics"]["error_rate"]["value"] == 1.0
