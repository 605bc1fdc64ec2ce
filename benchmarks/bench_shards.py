"""Sharded runs: one plan run whole, as two `--shard` processes at once then `roadtest merge`, and as two Ray tasks
on a local cluster (`roadtest run --ray --shards 2`), against the stub with a delay so the endpoint dominates.

    .venv/bin/python benchmarks/bench_shards.py [--items 400] [--delay 0.25] [--in-flight 8] [--repeats 1]

Each shard is its own process with its own max_concurrency (IN_FLIGHT), so two shards keep twice as many calls in
flight: the ideal is half the unsharded wall time. Printed for each: wall time from the first process's start to
the merged archive (fresh processes, --no-cache, medians of --repeats), and its overhead against that ideal. The
Ray row pays for starting and stopping a local Ray cluster (printed on its own: `ray.init` to `ray.shutdown`
with nothing run, in this process). Every way must agree: the merged verdicts equal the unsharded run's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import stub, workspace  # noqa: E402

ROADTEST = [sys.executable, "-m", "roadtest"]


def call(command: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen) -> dict:
    """Wait for a `roadtest ... --json` process; its JSON summary (exit code 1 is a refuted gate, still a run)."""
    out, err = proc.communicate()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, proc.args))} exited {proc.returncode}:\n"
                         f"{err.decode(errors='replace')[-2000:]}")
    return json.loads(out)


def verdicts(summary: dict) -> str:
    return (Path(summary["path"]) / "verdicts.json").read_text()


def unsharded(root: Path) -> tuple[float, float | None, str]:
    """(wall, None, verdicts) of one `roadtest run`."""
    start = time.perf_counter()
    summary = finish(call([*ROADTEST, "run", "--no-cache", "--quiet", "--json"], root))
    return time.perf_counter() - start, None, verdicts(summary)


def two_processes(root: Path) -> tuple[float, float | None, str]:
    """`--shard 1/2` and `--shard 2/2` at once, then `roadtest merge` of the two folders: (wall, the merge's
    share of it, verdicts)."""
    start = time.perf_counter()
    procs = [call([*ROADTEST, "run", "--no-cache", "--quiet", "--json", "--shard", f"{k}/2"], root) for k in (1, 2)]
    folders = [finish(p)["path"] for p in procs]
    merging = time.perf_counter()
    summary = finish(call([*ROADTEST, "merge", *folders, "--json"], root))
    end = time.perf_counter()
    return end - start, end - merging, verdicts(summary)


def on_ray(root: Path) -> tuple[float, float | None, str]:
    """(wall, None, verdicts) of `roadtest run --ray --shards 2` (a local cluster started and stopped in it)."""
    start = time.perf_counter()
    summary = finish(call([*ROADTEST, "run", "--no-cache", "--quiet", "--json", "--ray", "--shards", "2"], root))
    return time.perf_counter() - start, None, verdicts(summary)


def ray_start_stop() -> tuple[float, float]:
    """A local cluster as roadtest starts it, with nothing run: seconds to start, seconds to stop."""
    import ray

    from roadtest.workflow import on_ray as module

    start = time.perf_counter()
    with module.connect(ray, None, 2, HERE, HERE / "runs"):
        up = time.perf_counter()
    return up - start, time.perf_counter() - up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"{args.items} trials, stub delay {args.delay:g} s, {args.in_flight} in flight per process, "
          f"fresh processes, median of {args.repeats}")
    ways = {"unsharded": unsharded, "2 shards, 2 processes + merge": two_processes,
            "Ray, local cluster, --shards 2": on_ray}
    walls: dict[str, list[float]] = {name: [] for name in ways}
    merges: list[float] = []
    with stub(args.delay) as url, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            decided = set()
            for i, (name, way) in enumerate(ways.items()):
                root = workspace(Path(tmp) / f"{r}-{i}", url, args.items, args.in_flight)
                wall, merge, verdict_text = way(root)
                walls[name].append(wall)
                merges += [merge] if merge is not None else []
                decided.add(verdict_text)
            if len(decided) != 1:
                raise SystemExit("the three ways decided differently: see the verdicts.json of each")
    base = statistics.median(walls["unsharded"])
    ideal = base / 2
    print(f"{'way':<34}{'wall':>9}{'vs ideal':>11}{'overhead':>10}")
    for name, values in walls.items():
        wall = statistics.median(values)
        target = base if name == "unsharded" else ideal
        print(f"{name:<34}{wall:>7.2f} s{target:>9.2f} s{wall - target:>+8.2f} s")
    up, down = ray_start_stop()
    print(f"ideal for 2 shards: half the unsharded wall time ({ideal:.2f} s); the same verdicts every way")
    print(f"of the 2-process wall time, `roadtest merge` (a fresh process) took {statistics.median(merges):.2f} s")
    print(f"a local Ray cluster alone (in this process): {up:.2f} s to start, {down:.2f} s to stop")


if __name__ == "__main__":
    main()
