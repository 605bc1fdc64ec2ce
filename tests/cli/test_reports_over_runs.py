"""One document over several runs, when some of their calls failed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import write_workspace

runner = CliRunner()


@pytest.mark.pdf
def test_a_report_over_runs_with_failed_calls(tmp_path, fault_proxy):
    outage = {"on": True}
    p, url = fault_proxy(lambda i, body: "500" if outage["on"] and "3 plus 5" in json.dumps(body) else "pass")
    ws = write_workspace(tmp_path / "ws", url=url)
    config = ws / "roadtest.yaml"
    config.write_text(config.read_text().replace("    model: smollm2\n", "    model: smollm2\n    max_retries: 0\n"))
    first = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"])
    outage["on"] = False
    second = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"])
    runs = [json.loads(r.stdout)["run_id"] for r in (first, second)]
    assert json.loads(first.stdout)["errors"] == 1 and json.loads(second.stdout)["errors"] == 0
    result = runner.invoke(app, ["report", *runs, "-w", str(ws)])
    assert result.exit_code == 0, result.output
    html = next(line.split(": ", 1)[1] for line in result.output.splitlines() if line.startswith("html: "))
    text = open(html, encoding="utf-8").read()
    assert runs[0] in text and runs[1] in text and "injected 500" in text
