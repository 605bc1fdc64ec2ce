"""The decision record against the real llama.cpp server: SmolLM2 answers the first run; then the fault proxy
in front of it serves a different model under the same name (other answers, another system_fingerprint), and the
record notices: history flags the flip and the drift, gate fails and its JUnit file says why, and the decision
document shows the decision contradicted, in HTML and in the PDF read back."""

from __future__ import annotations

import json
import subprocess

import pytest
from junitparser import Failure, JUnitXml
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_ITEMS, write_workspace

runner = CliRunner()

HYPOTHESIS = """\
---
id: needs-tuning
title: The base model cannot do sums yet
decision: all
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_most: 0.5
---
Before fine-tuning, the small model gets at most half of the sums right.
"""
ANSWERS = {i["question"]: str(i["answer"]) for i in TINY_ITEMS}


def _run(ws) -> dict:
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.model
@pytest.mark.pdf
def test_a_model_swapped_under_its_name_contradicts_the_decision(tmp_path, fault_proxy):
    swapped = {"on": False}

    def answer(body):
        if not swapped["on"]:
            return None                                   # the real model's answer
        text = json.dumps(body)
        return next((a for q, a in ANSWERS.items() if q in text), None)

    proxy, url = fault_proxy(answer=answer, fingerprint="fp_smollm2")
    ws = write_workspace(tmp_path / "ws", url=url, hypothesis=HYPOTHESIS)
    first = _run(ws)
    verdict = first["verdicts"]["needs-tuning"]["smollm2"]
    decide = ["decide", "needs-tuning", "-m", "smollm2", "--run", first["run_id"], "--by", "Model council",
              "--note", "Fine-tune before launch.", "-w", str(ws), "--json"]
    if verdict != "SUPPORTED":            # the real model decides its own verdict; the record says either way
        decide += ["--against-evidence", f"the evidence is {verdict}; we fine-tune regardless"]
    decided = runner.invoke(app, decide)
    assert decided.exit_code == 0, decided.output
    decision = json.loads(decided.stdout)

    swapped["on"] = True
    proxy.fingerprint = "fp_other_model"
    second = _run(ws)
    assert second["verdicts"]["needs-tuning"]["smollm2"] == "REFUTED"   # 5 of 5 right: L = 0.549 > 0.5

    history = json.loads(runner.invoke(app, ["history", "-w", str(ws), "--json"]).stdout)
    (cell,) = history["cells"]
    assert [p["run_id"] for p in cell["points"]] == [first["run_id"], second["run_id"]]
    assert cell["points"][1]["drift"] and "fp_smollm2 -> fp_other_model" in cell["points"][1]["drift_reasons"][0]
    assert cell["points"][1]["flip"] == (verdict != "REFUTED")
    assert history["decisions"][0]["status"] == "contradicted"

    junit = tmp_path / "gate.xml"
    gated = runner.invoke(app, ["gate", second["run_id"], "-w", str(ws), "--junit", str(junit)])
    assert gated.exit_code == 1, gated.output
    (case,) = list(next(iter(JUnitXml.fromfile(str(junit)))))
    (failure,) = case.result
    assert isinstance(failure, Failure) and failure.type == "contradicted"
    assert decision["id"] in failure.message and "fp_other_model" in failure.message

    report = runner.invoke(app, ["report", second["run_id"], "-w", str(ws)])
    assert report.exit_code == 0, report.output
    folder = ws / "runs" / second["run_id"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="decisions"' in html and decision["id"] in html and "contradicted" in html
    text = subprocess.run(["pdftotext", "-layout", str(folder / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Decisions" in text and decision["id"] in text and "contradicted" in text
    replayed = runner.invoke(app, ["replay", second["run_id"], "-w", str(ws), "--json"])
    assert replayed.exit_code == 0, replayed.output
    files = json.loads(replayed.stdout)["files"]
    assert files["report.html"] == "identical" and files["report.pdf"] == "identical"
