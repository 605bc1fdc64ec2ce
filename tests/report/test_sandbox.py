"""A workspace's report templates are someone else's code: they render in the sandbox, within budgets, and only
regular files inside report_templates/ are read. Checked through every command that renders a page: report,
replay, a report over several runs, and diff --html."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ r.__class__.__init__.__globals__ }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch MARKER') }}",
    "{% set x = [1, 2] %}{{ x.append(3) }}",
]
BUDGETS = [
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{{ 9**(9**9) }}",
    "{{ 'x' * 10**9 }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ '%1000000000d' % 1 }}",
]


def workspace_with(tmp_path: Path, header: str) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    (ws / "report_templates").mkdir(parents=True)
    (ws / "report_templates" / "_header.html.j2").write_text(header.replace("MARKER", str(tmp_path / "pwned")))
    run_dir = ws / "runs" / FIXTURE.name
    shutil.copytree(FIXTURE, run_dir)
    return ws, run_dir


def commands(ws: Path, run_dir: Path) -> list[list[str]]:
    second = run_dir.parent / "second"
    if not second.exists():
        shutil.copytree(FIXTURE, second)
    return [["report", str(run_dir), "-w", str(ws), "--format", "html"],
            ["replay", str(run_dir), "-w", str(ws)],
            ["report", str(run_dir), str(second), "-w", str(ws), "--format", "html", "--out", str(ws / "both")],
            ["diff", str(run_dir), str(second), "-w", str(ws), "--html", str(ws / "diff.html")]]


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_template_cannot_reach_python(tmp_path, payload):
    ws, run_dir = workspace_with(tmp_path, f"<header>{payload}</header>\n")
    diff_payload = payload.replace("r.", "d.")                  # the diff page's view is `d`
    (ws / "report_templates" / "diff.html.j2").write_text(f"{diff_payload}\n".replace("MARKER", str(tmp_path / "pwned")))
    every = commands(ws, run_dir)
    for args in every if payload == ESCAPES[0] else every[:1]:      # every page-rendering command, then report
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "report template error" in result.output, (args, result.output)
        assert "unsafe" in result.output or "not safely callable" in result.output, (args, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("payload", BUDGETS)
def test_a_template_that_would_run_forever_or_fill_memory_is_stopped(tmp_path, payload):
    ws, run_dir = workspace_with(tmp_path, f"<header>{payload}</header>\n")
    started = time.monotonic()
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"])
    assert result.exit_code == 2, result.output
    assert "_header.html.j2" in result.output, result.output
    assert "too large" in result.output or "beyond" in result.output, result.output
    assert time.monotonic() - started < 30


def test_a_linked_stylesheet_is_refused_and_nothing_is_read_through_it(tmp_path):
    ws, run_dir = workspace_with(tmp_path, '<header id="top"><h1>{{ r.title }}</h1></header>\n')
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (ws / "report_templates" / "report.css").symlink_to(secret)
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"])
    assert result.exit_code == 2, result.output
    assert "report.css" in result.output and "symbolic link" in result.output
    html = run_dir / "report.html"
    assert not html.exists() or "TOP-SECRET-CONTENT" not in html.read_text()


def test_a_linked_templates_folder_is_not_used(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "_header.html.j2").write_text("<header>FROM-ELSEWHERE</header>\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "report_templates").symlink_to(elsewhere, target_is_directory=True)
    run_dir = ws / "runs" / FIXTURE.name
    shutil.copytree(FIXTURE, run_dir)
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert "FROM-ELSEWHERE" not in (run_dir / "report.html").read_text()


def test_a_safe_override_still_works_in_the_sandbox(tmp_path):
    ws, run_dir = workspace_with(tmp_path, '<header id="top"><h1>ACME: {{ r.title | upper }} '
                                           '{% for m in r.models %}{{ loop.index }}{% endfor %}</h1></header>\n')
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert "ACME: " in (run_dir / "report.html").read_text()
