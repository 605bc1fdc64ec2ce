"""Load levels: 'if traffic triples' is measured at the stated concurrency or request rate."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import write_workspace

runner = CliRunner()

ITEMS = [{"id": f"q{i}", "question": f"What is {i} plus 2?", "answer": i + 2, "kind": "add"} for i in range(1, 13)]

HYPOTHESIS = """\
---
id: traffic
title: Latency holds when traffic triples
criteria:
  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
    load: {concurrency: 3}
  - scenario: tiny-math
    metric: latency_p50_s
    at_most: 5.0
    load: {rps: 8}
---
Measured, not guessed.
"""


@pytest.fixture
def proxy(fault_proxy):
    return fault_proxy(delay_s=0.15)


def test_load_levels_are_run_measured_and_judged(tmp_path, proxy):
    p, url = proxy
    ws = write_workspace(tmp_path / "ws", url=url, items=ITEMS, hypothesis=HYPOTHESIS)
    # A first run fills the cache: load trials must still be sent.
    assert runner.invoke(app, ["run", "-w", str(ws), "-q"]).exit_code == 0
    p.seen.clear()
    p.max_in_flight = 0
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cached"] == 12                        # the normal-level calls came from the cache
    assert len(p.seen) == 24                              # both load levels were really sent
    assert p.max_in_flight >= 3                           # the open-loop level overlaps calls too
    run_dir = __import__("pathlib").Path(summary["path"])
    rows = [json.loads(l) for l in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert {r.get("level") for r in rows} == {None, "c3", "r8"}
    assert all(r.get("cache") is None for r in rows if r.get("level"))

    load = json.loads((run_dir / "metrics.json").read_text())["load"]["tiny-math"]["smollm2"]
    assert set(load) == {"base", "c3", "r8"}
    assert 2.0 <= load["c3"]["achieved_concurrency"] <= 3.05
    assert load["r8"]["achieved_rps"] == pytest.approx(8, rel=0.1)
    # measured live at the level: every load call went through the proxy's 0.15 s delay, none is a cached latency
    assert load["c3"]["metrics"]["latency_mean_s"]["value"] >= 0.15
    base_latencies = {r["latency_s"] for r in rows if not r.get("level")}
    assert not base_latencies & {r["latency_s"] for r in rows if r.get("level") == "c3"}
    crit = json.loads((run_dir / "verdicts.json").read_text())["hypotheses"][0]["models"]["smollm2"]["criteria"]
    assert [c["load"] for c in crit] == ["c3", "r8"]
    # the first two calls sent in this run warmed the endpoint up: set apart from the latency claim
    warm = [r for r in rows if r.get("warmup")]
    assert len(warm) == 2 and all(r.get("level") == "c3" for r in warm)
    assert crit[0]["n"] == 12 - 2

    report = runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"])
    assert report.exit_code == 0
    html = (run_dir / "report.html").read_text()
    assert "Latency under load" in html and "3 in flight" in html and "8 requests/s" in html and "8.0 requests/s" not in html
