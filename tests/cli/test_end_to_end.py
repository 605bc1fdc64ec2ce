"""End to end through the CLI against a real llama.cpp server: archive, report, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import write_workspace

runner = CliRunner()


def run_ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def only_run(ws: Path) -> Path:
    runs = [p for p in (ws / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """One real run through the local provider: roadtest starts and stops its own llama.cpp server."""
    ws = write_workspace(tmp_path_factory.mktemp("e2e") / "ws", url=None)
    result = run_ok("run", "-w", str(ws), "--json")
    return ws, only_run(ws), json.loads(result.stdout)


def test_archive_has_every_trial_with_request_and_response(local_run):
    ws, run_dir, summary = local_run
    assert summary["trials"] == 5 and summary["errors"] == 0
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 5
    for line in lines:
        t = json.loads(line)
        assert t["request"]["endpoint"] == "chat/completions"
        assert t["request"]["body"]["messages"][-1]["content"].startswith("What is")
        assert t["request"]["body"]["temperature"] == 0.0 and t["request"]["body"]["seed"] == 7
        assert t["response"]["status"] == 200
        assert t["response"]["body"]["choices"][0]["message"]["content"] is not None
        assert t["latency_s"] > 0 and t["usage"]["completion_tokens"] >= 1
        assert t["error"] is None
    assert {json.loads(l)["item"] for l in lines} == {"a1", "a2", "a3", "a4", "a5"}


def test_manifest_records_configuration_hashes_and_endpoint(local_run):
    ws, run_dir, _ = local_run
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "complete" and m["schema_version"] == 2
    assert len(m["fingerprint"]) == 64
    assert m["datasets"]["scenarios/tiny-math.jsonl"] == __import__("hashlib").sha256(
        (ws / "scenarios/tiny-math.jsonl").read_bytes()).hexdigest()
    assert m["endpoints"]["smollm2"]["provider"] == "local"
    assert len(m["endpoints"]["smollm2"]["gguf_sha256"]) == 64
    assert set(m["files"]) == {"plan.jsonl", "trials.jsonl", "scores.jsonl", "metrics.json", "verdicts.json"}
    assert m["versions"]["roadtest"] and m["versions"]["llama-cpp-python"]
    assert m["config"]["scenarios"]["tiny-math"]["spec"]["sampling"]["temperature"] == 0.0


def test_derived_files_agree_with_the_trials(local_run):
    _, run_dir, summary = local_run
    scores = [json.loads(l) for l in (run_dir / "scores.jsonl").read_text().splitlines()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    acc = metrics["scenarios"]["tiny-math"]["smollm2"]["variants"]["base"]["metrics"]["accuracy"]
    assert acc["value"] == pytest.approx(sum(s["score"] for s in scores) / 5)
    # strata (the tiny dataset's `kind`) never widen an interval: the exact rule for 5 items, one call each
    assert acc["n"] == 5 and acc["method"] == "exact binomial / Clopper-Pearson"
    verdicts = json.loads((run_dir / "verdicts.json").read_text())
    cell = verdicts["hypotheses"][0]["models"]["smollm2"]
    assert cell["verdict"] in ("SUPPORTED", "REFUTED", "INCONCLUSIVE")
    assert summary["verdicts"]["tiny-claim"]["smollm2"] == cell["verdict"]


@pytest.mark.pdf
def test_report_html_and_pdf(local_run):
    ws, run_dir, _ = local_run
    result = run_ok("report", run_dir.name, "-w", str(ws))
    html_path, pdf_path = run_dir / "report.html", run_dir / "report.pdf"
    assert str(html_path.resolve()) in result.output and str(pdf_path.resolve()) in result.output
    html = html_path.read_text()
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:|file:|//)', html)      # nothing the page would fetch
    reader = PdfReader(str(pdf_path))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    verdict = json.loads((run_dir / "verdicts.json").read_text())["hypotheses"][0]["models"]["smollm2"]["verdict"]
    for needle in ("Decision summary", "The model can add small numbers", "smollm2", verdict,
                   "Reproducibility appendix", "tiny-math", run_dir.name):
        assert needle in text, needle


def test_same_tiny_run_twice_is_identical(tmp_path, llama_server):
    ws = write_workspace(tmp_path / "ws", url=llama_server)
    run_ok("run", "-w", str(ws), "-q", "--no-cache")   # both runs really call the model
    run_ok("run", "-w", str(ws), "-q", "--no-cache")
    runs = sorted(p for p in (ws / "runs").iterdir())
    assert len(runs) == 2
    fingerprints = [json.loads((r / "manifest.json").read_text())["fingerprint"] for r in runs]
    assert fingerprints[0] == fingerprints[1]

    def outputs(run_dir):
        rows = [json.loads(l) for l in (run_dir / "trials.jsonl").read_text().splitlines()]
        return {r["trial_id"]: (r["request"]["body"], r["response"]["body"]["choices"][0]["message"]["content"])
                for r in rows}

    assert outputs(runs[0]) == outputs(runs[1])
    assert (runs[0] / "scores.jsonl").read_text().count("\n") == 5


@pytest.mark.pdf
def test_replay_rewrites_identical_derived_files(local_run):
    ws, run_dir, _ = local_run
    before = {n: (run_dir / n).read_bytes() for n in ("scores.jsonl", "metrics.json", "verdicts.json")}
    run_ok("replay", str(run_dir), "-w", str(ws))
    assert {n: (run_dir / n).read_bytes() for n in before} == before


@pytest.mark.pdf
def test_two_copies_of_one_model_are_not_shown_to_differ(tmp_path, llama_server):
    twin = f"  - id: twin\n    provider: openai\n    base_url: {llama_server}\n    model: smollm2\n"
    hyp = (TINY_HYPOTHESIS_VERSUS)
    ws = write_workspace(tmp_path / "ws", url=llama_server, extra_models=twin, hypothesis=hyp)
    run_ok("run", "-w", str(ws), "-q")
    run_dir = only_run(ws)
    verdicts = json.loads((run_dir / "verdicts.json").read_text())
    hyp = verdicts["hypotheses"][0]
    assert "intersection-union" in hyp["family"] and "Holm" in hyp["family"]   # one family per hypothesis x model
    versus = hyp["models"]["smollm2"]["criteria"][2]
    assert versus["verdict"] != "SUPPORTED" and versus["estimate"] == 0.0       # the same model is not better
    assert hyp["models"]["twin"]["criteria"][2]["verdict"] == "NOT APPLICABLE"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    best = metrics["ranks"]["scenarios"]["tiny-math"]
    assert best["in_set"] == [True, True]                  # either may be the best: the set holds both
    scan = metrics["comparisons"][0]
    assert scan["difference"] == 0.0 and not scan["shown"] and "not shown to differ" in scan["wording"]
    run_ok("report", str(run_dir), "-w", str(ws), "--format", "pdf")
    text = " ".join(p.extract_text() for p in PdfReader(str(run_dir / "report.pdf")).pages)
    assert "not shown to differ" in text and "tied" not in text and "within noise" not in text


TINY_HYPOTHESIS_VERSUS = """\
---
id: tiny-claim
title: The model can add small numbers
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_least: 0.5
  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
  - scenario: tiny-math
    metric: accuracy
    versus: {model: twin, by_at_least: 0.0}
---
Two copies of one model must not be shown to differ.
"""
