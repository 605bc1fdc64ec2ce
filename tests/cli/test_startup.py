"""Start-up matches the command: `roadtest --help` and `check` import none of the heavy libraries that only
running, deriving and reporting need (the timings are in benchmarks/bench_startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "matplotlib", "weasyprint", "httpx", "aiohttp")
CHECK_NEEDS_NONE_OF = HEAVY + ("jsonschema", "roadtest.archive", "roadtest.engine", "roadtest.scoring")
"""What `check` must not load: jsonschema only checks arguments in a run (a tool schema outside the plain subset
is the exception); the archive, engine and scoring stages are for runs."""
PROBE = """
import json, sys
from roadtest.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules)}))
""" % (CHECK_NEEDS_NONE_OF,)


def _loaded(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["decide", "--help"]])
def test_help_loads_no_heavy_library(args):
    result = _loaded(*args)
    assert result == {"code": 0, "loaded": []}


def test_check_loads_no_heavy_library(tiny_workspace):
    result = _loaded("check", "-w", str(tiny_workspace))
    assert result == {"code": 0, "loaded": []}


def test_check_of_a_workspace_with_tools_loads_no_heavy_library(tmp_path):
    """The init workspace has a conversation with three tools: their schemas are plain, so checking them needs
    no jsonschema (and no stage of a run)."""
    assert _loaded("init", str(tmp_path / "ws"))["code"] == 0
    result = _loaded("check", "-w", str(tmp_path / "ws"))
    assert result == {"code": 0, "loaded": []}


def test_check_of_a_schema_outside_the_plain_subset_loads_jsonschema(tmp_path):
    assert _loaded("init", str(tmp_path / "ws"))["code"] == 0
    scenario = tmp_path / "ws" / "scenarios" / "order-support.yaml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("      required: [order_id]\n", "      required: [order_id]\n"
                                     "      $defs: {id: {type: string}}\n", 1), encoding="utf-8")
    result = _loaded("check", "-w", str(tmp_path / "ws"))
    assert result == {"code": 0, "loaded": ["jsonschema"]}
