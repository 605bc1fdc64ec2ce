"""The claims a selection meeting makes (no_worse_than, equivalent_to, robust_to_settings): bad ones are
path:line with a hint, exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_HYPOTHESIS, write_workspace

runner = CliRunner()


@pytest.mark.parametrize("claim,where,words,hint", [
    ("no_worse_than: {model: smollm2, margin: .nan}", ":11:", "expected a finite number greater than 0",
     "`margin: 0.02`"),
    ("no_worse_than: {model: smollm2, margin: 5}", ":11:", "a margin on accuracy is a share between 0 and 1",
     "`margin: 0.02`"),
    ("equivalent_to: {model: ghost, margin: 0.1}", ":11:", "unknown model 'ghost'", "known: smollm2"),
    ("no_worse_than: {model: smollm2}", ":11:", "missing required key 'criteria[1].no_worse_than.margin'",
     "`margin: 0.02`"),
    ("at_least: 0.5\n    robust_to_settings: true", ":12:", "applies to a comparison",
     "drop `robust_to_settings:`"),
    ("no_worse_than: {model: smollm2, margin: 0.1}\n    at_least: 0.5", ":9:", "needs exactly one of",
     "has its own margin"),
])
def test_a_bad_claim_is_path_line_with_a_hint(tmp_path, claim, where, words, hint):
    hyp = TINY_HYPOTHESIS.replace("metric: latency_p95_s\n    at_most: 5.0", "metric: accuracy\n    " + claim)
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", hypothesis=hyp)
    result = runner.invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    first, second = result.output.splitlines()[:2]
    assert first.startswith(f"hypotheses/tiny.md{where}") and words in first, first
    assert second.strip().startswith("hint:") and hint in second, second


def test_the_new_claims_check_clean(tmp_path):
    hyp = TINY_HYPOTHESIS.replace("metric: latency_p95_s\n    at_most: 5.0",
                                  "metric: accuracy\n    equivalent_to: {model: twin, margin: 0.05}\n"
                                  "    robust_to_settings: true")
    twin = "  - id: twin\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n    model: smollm2\n"
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", hypothesis=hyp, extra_models=twin)
    result = runner.invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 0, result.output
