"""The first ten minutes: init -> check -> plan -> run -> report, as a new user types it; help and overrides."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_SCENARIO, write_workspace

runner = CliRunner()
COMMANDS = ["init", "check", "plan", "run", "report", "replay", "rerun", "diff", "verify", "runs"]


def ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.model
@pytest.mark.pdf
def test_init_check_plan_run_report(tmp_path):
    ws = tmp_path / "my-eval"
    created = ok("init", str(ws))
    assert "next: cd" in created.output
    assert len(list((ws / "scenarios").glob("*.yaml"))) == 4
    assert len(list((ws / "hypotheses").glob("*.md"))) == 3
    config = (ws / "roadtest.yaml").read_text()
    assert "provider: local" in config and "# - id: gpt-4o-mini" in config and "api_key_env" in config
    for scenario in (ws / "scenarios").glob("*.yaml"):
        assert "success:" in scenario.read_text()
    assert "ok: 4 scenarios" in ok("check", "-w", str(ws)).output
    plan = json.loads(ok("plan", "-w", str(ws), "--json").stdout)
    assert plan["time_s_est"] > 0 and len(plan["feasibility"]["criteria"]) == 7
    assert all(c["decidable"] for c in plan["feasibility"]["criteria"]), plan["feasibility"]   # a fair first run
    # The conversation hypothesis is planned and checked above; its run (about 40 s of tool calls on 2 cores) is
    # left to tests/engine/test_conversations.py, which runs conversations against the same model.
    run = json.loads(ok("run", "-w", str(ws), "-q", "--json", "-m", "smollm2-135m",
                        "-H", "self-serve", "-H", "support-traffic").stdout)
    assert run["trials"] > 0 and run["errors"] == 0
    report = ok("report", "latest", "-w", str(ws))
    pdf = next(line.split(": ", 1)[1] for line in report.output.splitlines() if line.startswith("pdf: "))
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Which model for our support assistant?" in text and "Decision summary" in text


def test_init_refuses_an_existing_workspace(tmp_path):
    ok("init", str(tmp_path / "ws"))
    result = runner.invoke(app, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "already a roadtest workspace" in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_an_example(name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_a_workspace_template_overrides_the_default(tmp_path, llama_server):
    ws = write_workspace(tmp_path / "ws", url=llama_server)
    (ws / "report_templates").mkdir()
    (ws / "report_templates" / "_header.html.j2").write_text(
        '<header id="top"><h1>ACME model board: {{ r.title }}</h1></header>\n')
    ok("run", "-w", str(ws), "-q")
    ok("report", "latest", "-w", str(ws), "--format", "html")
    html = next((ws / "runs").glob("*/report.html")).read_text()
    assert "ACME model board: Test decision" in html and "Decision summary" in html


def test_a_broken_template_override_is_a_clear_error(tmp_path, llama_server):
    ws = write_workspace(tmp_path / "ws", url=llama_server)
    (ws / "report_templates").mkdir()
    (ws / "report_templates" / "_header.html.j2").write_text("<h1>{{ r.titel }}</h1>\n")
    ok("run", "-w", str(ws), "-q")
    result = runner.invoke(app, ["report", "latest", "-w", str(ws), "--format", "html"])
    assert result.exit_code == 2
    assert "_header.html.j2" in result.output and "titel" in result.output and "Traceback" not in result.output


@pytest.mark.pdf
def test_one_report_over_two_runs_warns_when_settings_differ(tmp_path, llama_server):
    ws = write_workspace(tmp_path / "ws", url=llama_server)
    ok("run", "-w", str(ws), "-q")
    (ws / "scenarios" / "tiny-math.yaml").write_text(TINY_SCENARIO.replace("max_new_tokens: 6", "max_new_tokens: 8"))
    ok("run", "-w", str(ws), "-q")
    a, b = sorted(p.name for p in (ws / "runs").iterdir() if p.name.startswith("20"))
    result = json.loads(ok("report", a, b, "-w", str(ws), "--json").stdout)
    html_path = next(p for p in result["written"] if p.endswith(".html"))
    html = open(html_path).read()
    assert a in html and b in html
    assert "was run with different settings" in html and "scenarios.tiny-math.limits.max_new_tokens" in html
    verdicts = json.loads(open(html_path.replace("report.html", "verdicts.json")).read())
    assert set(verdicts["hypotheses"][0]["models"]) == {"smollm2", f"smollm2.{b}"}
    # each model is its own family: the second run's model does not change the first one's verdicts
    first = json.loads((ws / "runs" / a / "verdicts.json").read_text())["hypotheses"][0]["models"]["smollm2"]
    assert verdicts["hypotheses"][0]["models"]["smollm2"] == first
