"""Start-up cost of the command line: wall and CPU time (user + system) of `roadtest --help`, `check` and `plan`,
each the median of several fresh processes. What the process imports is what it pays: a command that does not
derive or report should not load pandas, scipy, matplotlib or weasyprint, and `check` has a budget of its own
(under 0.3 s of CPU on the workspace `roadtest init` writes).

Python's bytecode cache is on (in a temporary folder, so nothing is written into the tree) and warmed by one
unmeasured run, as after any install; one more row shows `check` with every source compiled in each process, as
under PYTHONDONTWRITEBYTECODE=1 with an editable install.

Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROADTEST = [sys.executable, "-m", "roadtest"]
REPEATS = 5
CHECK_BUDGET_S = 0.3
"""The CPU `roadtest check` may take on the init workspace (median of REPEATS processes)."""


def environment(cache: Path | None) -> dict[str, str]:
    """The children's environment: bytecode cached under `cache`, or never written (None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def measure(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(median wall s, median CPU s) of a fresh `roadtest ARGS` process, after one unmeasured run."""
    walls, cpus = [], []
    for i in range(REPEATS + 1):
        before = os.times()
        t0 = time.perf_counter()
        subprocess.run(ROADTEST + args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        wall = time.perf_counter() - t0
        after = os.times()
        if i:
            walls.append(wall)
            cpus.append((after.children_user - before.children_user) +
                        (after.children_system - before.children_system))
    return statistics.median(walls), statistics.median(cpus)


def heavy_modules(args: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """The heavy libraries the command imports (from -X importtime)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "roadtest", *args], cwd=cwd, env=env,
                         capture_output=True, text=True).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
    return sorted(n for n in ("pandas", "scipy", "matplotlib", "weasyprint", "numpy", "httpx", "jsonschema")
                  if n in names)


def row(label: str, args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Print one command's figures; its CPU median."""
    wall, cpu = measure(args, cwd, env)
    print(f"{label:<44}{wall:>12.3f} s{cpu:>12.3f} s   {', '.join(heavy_modules(args, cwd, env)) or '—'}")
    return cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cached = environment(Path(tmp) / "pycache")
        init = Path(tmp) / "ws"
        subprocess.run(ROADTEST + ["init", str(init)], env=cached, stdout=subprocess.DEVNULL, check=True)
        print(f"{'command (median of ' + str(REPEATS) + ')':<44}{'wall':>14}{'CPU':>14}   heavy imports")
        row("roadtest --help", ["--help"], ROOT, cached)
        row("roadtest check (demo workspace)", ["check"], ROOT, cached)
        cpu = row("roadtest check (init workspace)", ["check"], init, cached)
        row("roadtest check (init, sources compiled)", ["check"], init, environment(None))
        row("roadtest plan (demo workspace)", ["plan"], ROOT, cached)
    verdict = "within" if cpu < CHECK_BUDGET_S else "OVER"
    print(f"\ncheck CPU on the init workspace: {cpu:.3f} s (median of {REPEATS}), {verdict} the "
          f"{CHECK_BUDGET_S} s budget")


if __name__ == "__main__":
    main()
