"""The same report renders to the same PDF bytes in two fresh processes, whichever font subsetter weasyprint
uses: HarfBuzz-subset (libharfbuzz-subset0) or, without it, fontTools (which stamps fonts with the current time
unless roadtest pins it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tools import require_library

pytestmark = pytest.mark.pdf
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
RENDER = """
import sys
if sys.argv[2] == "fonttools":                 # as on a machine without libharfbuzz-subset0
    import weasyprint.pdf.fonts
    weasyprint.pdf.fonts.harfbuzz_subset = None
from roadtest.report.render import font_subsetter
assert sys.argv[2] == "fonttools" or font_subsetter() == "harfbuzz"
from roadtest.cli import app
app(["report", sys.argv[1], "-w", sys.argv[1], "--format", "pdf"])
"""


def render_in_a_fresh_process(tmp_path: Path, name: str, subsetter: str) -> bytes:
    run_dir = tmp_path / name
    shutil.copytree(FIXTURE, run_dir)
    proc = subprocess.run([sys.executable, "-c", RENDER, str(run_dir), subsetter], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return (run_dir / "report.pdf").read_bytes()


@pytest.mark.parametrize("subsetter", ["harfbuzz", "fonttools"])
def test_two_renders_in_fresh_processes_are_byte_identical(tmp_path, subsetter):
    if subsetter == "harfbuzz":
        require_library("libharfbuzz-subset.so")
    first = render_in_a_fresh_process(tmp_path, "a", subsetter)
    time.sleep(1.1)                              # font timestamps have one-second resolution
    second = render_in_a_fresh_process(tmp_path, "b", subsetter)
    assert first[:5] == b"%PDF-" and len(first) > 10_000
    assert first == second
