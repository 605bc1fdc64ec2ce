"""Cache and replay speed, and peak memory, on large archives made against the stub server.

    .venv/bin/python benchmarks/bench_archive.py [--trials 10000] [--memory-trials 100000]

1. Run a 10,000-trial workspace against the instant stub (fills the response cache).
2. Run it again: every call comes from the cache. 3. `roadtest replay` it.
4. Run a 100,000-trial workspace and replay it, each in a fresh process, reporting peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import stub, workspace  # noqa: E402

CHILD = """
import resource, sys, time
from roadtest.cli import app
t = time.perf_counter()
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("SECONDS", time.perf_counter() - t, file=sys.stderr)
    print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def roadtest(*args: str) -> tuple[float, float]:
    """Run the CLI in a fresh process; (seconds, peak RSS in MB)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr[-2000:])
    values = dict(line.split(" ", 1) for line in proc.stderr.splitlines() if line.startswith(("SECONDS", "MAXRSS_KB")))
    return float(values["SECONDS"]), float(values["MAXRSS_KB"]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--memory-trials", type=int, default=100_000)
    args = parser.parse_args()
    with stub(0.0) as url, tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp) / "ws", url, args.trials, concurrency=64)
        first, rss1 = roadtest("run", "-w", str(ws), "-q")
        again, rss2 = roadtest("run", "-w", str(ws), "-q", "--json")
        replay, rss3 = roadtest("replay", "latest", "-w", str(ws))
        print(f"{args.trials:,} trials: first run {first:.1f} s ({args.trials / first:,.0f}/s), "
              f"again from the cache {again:.1f} s, replay {replay:.1f} s")
        big = workspace(Path(tmp) / "big", url, args.memory_trials, concurrency=64)
        run_s, run_mb = roadtest("run", "-w", str(big), "-q", "--no-cache")
        replay_s, replay_mb = roadtest("replay", "latest", "-w", str(big))
        print(f"{args.memory_trials:,} trials: run {run_s:.0f} s, peak {run_mb:.0f} MB; "
              f"replay {replay_s:.0f} s, peak {replay_mb:.0f} MB")


if __name__ == "__main__":
    main()
