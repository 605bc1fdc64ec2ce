"""Start-up cost of the command line: wall and CPU time (user + system) of `roadtest --help`, `check` and `plan`
on the demo workspace, each the median of several fresh processes. What the process imports is what it pays:
a command that does not derive or report should not load pandas, scipy, matplotlib or weasyprint.

Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROADTEST = [sys.executable, "-m", "roadtest"]
REPEATS = 5


def measure(args: list[str]) -> tuple[float, float]:
    """(median wall s, median CPU s) of a fresh `roadtest ARGS` process."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = os.times()
        t0 = time.perf_counter()
        subprocess.run(ROADTEST + args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - t0)
        after = os.times()
        cpus.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
    return statistics.median(walls), statistics.median(cpus)


def heavy_modules(args: list[str]) -> list[str]:
    """The heavy libraries the command imports (from -X importtime)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "roadtest", *args], cwd=ROOT,
                         capture_output=True, text=True).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
    return sorted(n for n in ("pandas", "scipy", "matplotlib", "weasyprint", "numpy", "httpx") if n in names)


def main() -> None:
    print(f"{'command':<22}{'wall (median)':>16}{'CPU (median)':>16}   heavy imports")
    for args in (["--help"], ["check"], ["plan"]):
        wall, cpu = measure(args)
        print(f"{'roadtest ' + ' '.join(args):<22}{wall:>14.3f} s{cpu:>14.3f} s   "
              f"{', '.join(heavy_modules(args)) or '—'}")


if __name__ == "__main__":
    main()
