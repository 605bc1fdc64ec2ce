"""Start-up matches the command: `roadtest --help` and `check` import none of the heavy libraries that only
running, deriving and reporting need (the timings are in benchmarks/bench_startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "matplotlib", "weasyprint", "httpx", "aiohttp")
PROBE = """
import json, sys
from roadtest.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


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
