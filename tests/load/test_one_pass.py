"""roadtest check finds every problem of a broken workspace in one pass, and names nothing that is not wrong."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_HYPOTHESIS, TINY_SCENARIO, write_workspace

runner = CliRunner()

BROKEN_SCENARIO = """\
id: triage
success: "The model routes a ticket."
dataset: {path: triage.jsonl, id: id, group: prodcut}
mode: chat
prompt:
  system: "Route tickets."
  template: "Ticket: {{ txt }}\\nQueue:"
  fewshot: {k: 40, seed: 1, pool: triage.train.jsonl}
sampling: {temperature: 0.0, top_p: 1.5, seed: 7, topk: 3}
limits: {max_new_tokens: 6}
repeats: 0
scoring:
  rule: choice
  answer: queue
  choices: [billing, shipping]
metrics: [accuracy, calibraton]
"""
ROWS = [{"id": f"t{i}", "text": f"ticket {i}", "product": "app", "queue": q}
        for i, q in enumerate(["billing", "shipping", "technical", "billing"])]
HYPOTHESIS = """\
---
id: routes
title: It routes
criteria:
  - scenario: triage
    metric: accuracy
    at_least: 0.5
  - scenario: triage
    metric: latency_p50
    at_most: 2.0
  - scenario: triage
    metric: accuracy
    at_least: lots
---
Text.
"""


def broken_workspace(tmp_path: Path) -> Path:
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    (ws / "scenarios" / "ticket-routing.yaml").write_text(BROKEN_SCENARIO)      # file name differs from its id
    lines = [json.dumps(r) for r in ROWS] + ['{"id": "t9", "text": "broken']
    (ws / "scenarios" / "triage.jsonl").write_text("\n".join(lines) + "\n")
    (ws / "scenarios" / "triage.train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:2]))
    (ws / "hypotheses" / "routes.md").write_text(HYPOTHESIS)
    return ws


def problems(ws: Path) -> list[dict]:
    result = runner.invoke(app, ["check", "-w", str(ws), "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)["problems"]


def test_every_problem_of_a_broken_scenario_in_one_pass(tmp_path):
    found = problems(broken_workspace(tmp_path))
    text = "\n".join(f"{p['path']}:{p['line']}: {p['message']}" for p in found)
    expected = [
        ("scenarios/ticket-routing.yaml:9", "sampling.top_p"),                 # validation
        ("scenarios/ticket-routing.yaml:9", "unknown key 'topk'"),
        ("scenarios/ticket-routing.yaml:11", "repeats"),
        ("scenarios/ticket-routing.yaml:3", "no row of scenarios/triage.jsonl has a field 'prodcut'"),   # the dataset
        ("scenarios/ticket-routing.yaml:7", "{{ txt }}"),                       # the template against the rows
        ("scenarios/ticket-routing.yaml:8", "few-shot k = 40"),                 # the pool
        ("scenarios/ticket-routing.yaml:16", "unknown metric or family 'calibraton'"),
        ("scenarios/triage.jsonl:3", "answer 'technical' is not one of scoring.choices"),   # the rows
        ("scenarios/triage.jsonl:5", "invalid JSON"),
        ("hypotheses/routes.md:9", "unknown metric 'latency_p50'"),            # the hypothesis's other criteria
        ("hypotheses/routes.md:13", "at_least"),
    ]
    for where, words in expected:
        assert any(f"{p['path']}:{p['line']}" == where and words in p["message"] for p in found), (where, words, text)


def test_a_scenario_that_fails_is_not_also_an_unknown_scenario(tmp_path):
    found = problems(broken_workspace(tmp_path))
    assert not [p for p in found if "unknown scenario" in p["message"]], found


def test_a_repaired_place_brings_no_problem_of_its_own(tmp_path):
    """The check repairs a bad value with an example to go on; the example's consequences are never reported."""
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1",
                         scenario=TINY_SCENARIO.replace("template: \"{{ question }}\\nAnswer:\"", "template: 12")
                         .replace("repeats: 1", "repeats: many"))
    found = problems(ws)
    assert {p["field"] for p in found} == {"prompt.template", "repeats"}, found


def test_a_fixed_workspace_has_nothing_left(tmp_path):
    """What one pass reported is all there was: fixing exactly those lines leaves a valid workspace."""
    ws = broken_workspace(tmp_path)
    scenario = ws / "scenarios" / "ticket-routing.yaml"
    text = scenario.read_text()
    for old, new in [("prodcut", "product"), ("{{ txt }}", "{{ text }}"), ("k: 40", "k: 2"), ("top_p: 1.5", "top_p: 1.0"),
                     (", topk: 3", ""), ("repeats: 0", "repeats: 1"), ("shipping]", "shipping, technical]"),
                     ("calibraton", "latency")]:
        text = text.replace(old, new)
    scenario.write_text(text)
    data = ws / "scenarios" / "triage.jsonl"
    data.write_text(data.read_text().replace('{"id": "t9", "text": "broken\n', ""))
    hyp = ws / "hypotheses" / "routes.md"
    hyp.write_text(hyp.read_text().replace("latency_p50\n", "latency_p50_s\n").replace("at_least: lots", "at_least: 0.2"))
    result = runner.invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 0, result.output


def test_a_key_written_twice_does_not_hide_the_rest(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1",
                         scenario=TINY_SCENARIO + "repeats: 2\n", hypothesis=TINY_HYPOTHESIS.replace(
                             "metric: latency_p95_s", "metric: latency_p95"))
    found = problems(ws)
    assert any("appears twice" in p["message"] for p in found), found
    assert any("unknown metric 'latency_p95'" in p["message"] for p in found), found


def test_a_regular_expression_in_require_is_a_warning(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1",
                         scenario=TINY_SCENARIO + 'policy:\n  require: ["(?i)answer: .*", "thank you"]\n')
    result = runner.invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    line = next(i for i, l in enumerate((ws / "scenarios" / "tiny-math.yaml").read_text().splitlines(), 1)
                if "require:" in l)
    assert f"scenarios/tiny-math.yaml:{line}: policy.require[0]" in result.output
    assert "looks like a regular expression" in result.output and "require[1]" not in result.output
    warnings = json.loads(runner.invoke(app, ["check", "-w", str(ws), "--json"]).stdout)["warnings"]
    assert len(warnings) == 1


def test_a_broken_config_still_checks_the_model_references(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1",
                         hypothesis=TINY_HYPOTHESIS.replace("    at_most: 5.0\n", "    at_most: 5.0\n  - scenario: tiny-math\n"
                                                            "    metric: accuracy\n    versus: {model: smollm3, by_at_least: 0}\n"))
    config = ws / "roadtest.yaml"
    config.write_text(config.read_text().replace("report:\n", "reprot: {}\nreport:\n"))
    found = problems(ws)
    assert any("unknown key 'reprot'" in p["message"] for p in found), found
    assert any("unknown model 'smollm3'" in p["message"] and "smollm2" in p["hint"] for p in found), found


def test_the_older_group_field_keeps_working_and_check_says_it_is_now_strata(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1",
                         scenario=TINY_SCENARIO.replace("strata: kind", "group: kind"))
    result = runner.invoke(app, ["check", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("scenarios/tiny-math.yaml:3: dataset.group 'kind' is read as strata")
    assert "`cluster: kind`" in warnings[0]
    both = TINY_SCENARIO.replace("strata: kind", "strata: kind, group: id")
    ws2 = write_workspace(tmp_path / "ws2", "http://127.0.0.1:9/v1", scenario=both)
    refused = runner.invoke(app, ["check", "-w", str(ws2)])
    assert refused.exit_code == 2 and "older name of `strata:`" in refused.output


def test_a_criterion_on_a_described_statistic_is_a_warning(tmp_path):
    hyp = TINY_HYPOTHESIS.replace("metric: latency_p95_s\n    at_most: 5.0", "metric: ece\n    at_most: 0.1")
    scenario = TINY_SCENARIO + "metrics: [accuracy, calibration]\n"
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", hypothesis=hyp, scenario=scenario)
    warnings = json.loads(runner.invoke(app, ["check", "-w", str(ws), "--json"]).stdout)["warnings"]
    assert any("ece is described, not decided" in w and "always INCONCLUSIVE" in w for w in warnings)
