"""roadtest.yaml's report settings for cost: `report.currency` and `report.traffic`; a traffic figure for a
scenario that does not exist is a located problem with a did-you-mean."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.load import load_workspace

runner = CliRunner()


def _report(ws, block: str) -> int:
    """Replace the report settings of roadtest.yaml; the line the block starts on."""
    path = ws / "roadtest.yaml"
    text = path.read_text()
    head = text[:text.index("report:\n")]
    path.write_text(head + "report:\n  title: Test decision\n" + block)
    return head.count("\n") + 3


def test_currency_and_traffic_load(tiny_workspace):
    _report(tiny_workspace, "  currency: USD\n  traffic:\n    items_per_month: 500000\n"
                            "    scenarios: {tiny-math: 20000}\n")
    result = runner.invoke(app, ["check", "-w", str(tiny_workspace)])
    assert result.exit_code == 0, result.output
    report = load_workspace(tiny_workspace).spec.report
    assert report.currency == "USD" and report.traffic.items_per_month == 500_000
    assert report.traffic.scenarios == {"tiny-math": 20_000}


def test_a_traffic_figure_for_an_unknown_scenario_is_located_with_a_hint(tiny_workspace):
    start = _report(tiny_workspace, "  traffic:\n    items_per_month: 1000\n    scenarios:\n      tiny-math: 10\n"
                                    "      tiny-mat: 200\n")
    line = start + 4
    assert (tiny_workspace / "roadtest.yaml").read_text().splitlines()[line - 1] == "      tiny-mat: 200"
    result = runner.invoke(app, ["check", "-w", str(tiny_workspace)])
    assert result.exit_code == 2, result.output
    assert f"roadtest.yaml:{line}: report.traffic.scenarios: unknown scenario 'tiny-mat'" in result.output
    assert "did you mean 'tiny-math'?" in result.output
    assert "tiny-math: 10" not in result.output and result.output.count("unknown scenario") == 1
    payload = json.loads(runner.invoke(app, ["check", "-w", str(tiny_workspace), "--json"]).stdout)
    assert [(p["path"], p["line"]) for p in payload["problems"]] == [("roadtest.yaml", line)]


def test_a_traffic_figure_for_a_scenario_that_failed_to_load_is_not_a_second_problem(tiny_workspace):
    _report(tiny_workspace, "  traffic:\n    scenarios: {tiny-math: 10}\n")
    scenario = tiny_workspace / "scenarios" / "tiny-math.yaml"
    scenario.write_text(scenario.read_text().replace("repeats: 1", "repeats: -1"))
    result = runner.invoke(app, ["check", "-w", str(tiny_workspace)])
    assert result.exit_code == 2
    assert "scenarios/tiny-math.yaml" in result.output and "report.traffic" not in result.output
