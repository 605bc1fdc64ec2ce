"""Whole-process throughput: `roadtest run` against a plain aiohttp script, each a fresh process on the stub.

    .venv/bin/python benchmarks/bench_throughput.py [--requests 1000] [--in-flight 64] [--repeats 3]

(a) benchmarks/aiohttp_client.py sends the requests and parses the answers, nothing else;
(b) `roadtest run --no-cache` on a workspace of that many items at max_concurrency IN_FLIGHT: start-up, plan,
    the engine, the archive, scoring, metrics and verdicts, as a user runs it.
For each: wall time from process start to exit, requests/s over it, CPU (user + system), the time from process
start to the first completion request reaching the stub (wall, and the client's CPU by then, read from /proc by
the stub), and the span from the first request to the last (the sending itself). Then the same for `roadtest run` on a
one-item workspace: how soon a small run gets its first request out. Medians of --repeats fresh processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import stub, workspace  # noqa: E402


def _post(url: str, data: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(data).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def timed(url: str, command: list[str], cwd: Path | None = None) -> dict[str, float | None]:
    """One fresh process: its wall time, CPU time, and when (wall, CPU) its first request reached the stub."""
    before = os.times()
    start = time.time()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _post(url + "/_watch", {"pid": proc.pid})   # the client needs tens of ms to start: this is there first
    _, stderr = proc.communicate()
    wall = time.time() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}:\n{stderr.decode(errors='replace')[-2000:]}")
    tally = _get(url + "/_stats")
    return {"wall": wall, "cpu": (after.children_user - before.children_user)
            + (after.children_system - before.children_system),
            "first_wall": tally["first"] - start if tally["first"] else None,
            "first_cpu": tally["cpu_at_first"], "count": tally["count"],
            "span": tally["last"] - tally["first"] if tally["first"] else None}


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


def roadtest_run(url: str, root: Path, items: int, in_flight: int) -> list[str]:
    workspace(root, url, items, in_flight)
    return [sys.executable, "-m", "roadtest", "run", "--no-cache", "--quiet"]


HEADER = f"{'process':<30}{'wall':>9}{'req/s':>8}{'CPU':>9}{'1st req':>10}{'CPU by 1st':>12}{'1st-last':>10}"


def row(name: str, runs: list[dict], requests: int) -> dict[str, float | None]:
    """Print and return the medians of one kind of process (wall, requests/s, CPU, first request, sending span)."""
    if any(r["count"] != requests for r in runs):
        raise SystemExit(f"{name}: the stub saw {[r['count'] for r in runs]} requests, not {requests}")
    wall = median(runs, "wall")
    figures = {"wall": wall, "rps": requests / wall, "cpu": median(runs, "cpu"),
               "first_wall": median(runs, "first_wall"), "first_cpu": median(runs, "first_cpu"),
               "span": median(runs, "span")}
    first_cpu = f"{figures['first_cpu']:.2f} s" if figures["first_cpu"] is not None else "—"
    print(f"{name:<30}{wall:>7.2f} s{figures['rps']:>8.1f}{figures['cpu']:>7.2f} s{figures['first_wall']:>8.3f} s"
          f"{first_cpu:>12}{figures['span']:>8.3f} s", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, c = args.requests, args.in_flight
    print(f"{n} requests, {c} in flight, fresh processes, median of {args.repeats}")
    print(HEADER)
    with stub(0.0) as url, tempfile.TemporaryDirectory() as tmp:
        plain = [sys.executable, str(HERE / "aiohttp_client.py"), url, str(n), str(c)]
        a = row("(a) plain aiohttp script", [timed(url, plain) for _ in range(args.repeats)], n)
        big = roadtest_run(url, Path(tmp) / "big", n, c)
        b = row("(b) roadtest run --no-cache", [timed(url, big, Path(tmp) / "big") for _ in range(args.repeats)], n)
        small = roadtest_run(url, Path(tmp) / "small", 1, c)
        row("roadtest run, 1 item", [timed(url, small, Path(tmp) / "small") for _ in range(args.repeats)], 1)
    print(f"throughput ratio (b)/(a): {b['rps'] / a['rps']:.2f}x")


if __name__ == "__main__":
    main()
