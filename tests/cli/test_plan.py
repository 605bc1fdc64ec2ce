"""roadtest plan: before any model call, what a run would do and which criteria its n can decide."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_HYPOTHESIS, write_workspace

runner = CliRunner()

UNDECIDABLE = TINY_HYPOTHESIS.replace("""  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
""", """  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
  - scenario: tiny-math
    metric: error_rate
    at_most: 0.05
""")


def test_plan_counts_trials_and_flags_what_n_cannot_decide(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", hypothesis=UNDECIDABLE)
    result = runner.invoke(app, ["plan", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["trials"][0]["trials"] == 5 and plan["trials"][0]["tokens_in_est"] > 0
    assert plan["trials"][0]["cost_max"] is None                         # no price: not priced
    rows = {r["metric"]: r for r in plan["feasibility"]["criteria"]}
    assert "intersection-union" in plan["feasibility"]["family"]
    assert rows["latency_p95_s"]["decidable"] == "no"                    # 5 items cannot bound a p95
    assert rows["latency_p95_s"]["n_min"] == 59                          # the item is the unit: 0.95^59 < 0.05
    assert rows["error_rate"]["decidable"] == "no" and rows["error_rate"]["n_min"] == 59   # 0.95^n < 0.05
    # under `decision: all` a criterion is supported at its own alpha and refuted at Holm's first step
    assert rows["error_rate"]["alpha"] == 0.05 and rows["error_rate"]["alpha_refute"] == 0.05 / len(rows)
    assert not (ws / "runs").exists()                                    # nothing was run

    text = runner.invoke(app, ["plan", "-w", str(ws)], env={"COLUMNS": "200"})
    assert text.exit_code == 0
    assert "NO: needs ≥" in text.output and "next: roadtest run" in text.output
