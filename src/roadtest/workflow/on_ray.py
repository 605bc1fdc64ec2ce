"""`roadtest run --ray [ADDRESS] --shards N`: the shards of a run (roadtest.plan.shards) as Ray tasks, their
progress streamed to this process, their run folders brought back and merged.

Ray is the scheduler, nothing more: each task is `roadtest run --shard K/N` in a Ray worker, writing its run
folder into a temporary folder there and returning that folder's files as bytes, so no shared filesystem is
needed. This process writes every shard folder under the workspace's runs folder with exactly those bytes and
merges them with `roadtest merge`'s own code, so the merged archive is byte for byte what `--shard` runs plus
`roadtest merge` of the same folders write.

Without an address, a local Ray cluster is started for the run and stopped after it: on 127.0.0.1 only, one
logical CPU per shard at least (a shard waits on its endpoint, not the CPU), no dashboard, no usage report, its
session (sockets, logs, spilled objects) in a fresh short folder /tmp/rt-ray-* (a unix socket's path must stay
under ~100 bytes, and the workspace is no place for Ray's logs), removed at the end.

With an address, the workspace travels to the cluster as the job's working_dir, without its runs folder and
`.roadtest` (the response cache); the cluster's workers need roadtest installed (the same version).

Ray is imported only here, inside the functions: `pip install 'roadtest[ray]'`.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterator

from roadtest.archive import RunArchive
from roadtest.errors import RoadtestError, RunError
from roadtest.load import load_workspace
from roadtest.plan.shards import MAX_SHARDS, Shard
from roadtest.workflow.running import RunOptions, RunResult

if TYPE_CHECKING:
    from roadtest.engine import Events

RAY_HINT = "pip install 'roadtest[ray]'"
FLUSH_S = 0.2
"""How often a task sends its progress to the driver (and how often the driver looks)."""
SKIP = {".lock"}
"""Files of a run folder that do not travel: the lock is the writer's, not the run's."""
CACHE_DIR = ".roadtest"
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""A local cluster: Ray's single-machine mode (its servers on 127.0.0.1 only), and no usage report."""
CANCEL_WAIT_S = 15.0
"""After Ctrl-C: how long the cancelled tasks have to return what they finished."""


@dataclass
class Outcome:
    """What one shard's task returns: its run folder (name, files as bytes, where it was written on the worker)
    and the error it stopped with, if any."""

    index: int
    count: int
    name: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    origin: str | None = None
    error: RoadtestError | None = None

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def run_on_ray(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
               command: list[str], options: RunOptions = RunOptions(), warn: Callable[[str], None] = lambda _: None,
               address: str | None = None, shards: int = 2) -> tuple[RunResult, list[Path]]:
    """Run the selection as `shards` Ray tasks (a local cluster when `address` is None) and merge them: the merged
    run's result and the shard folders (written under the workspace's runs folder). A shard that failed or stopped
    early keeps its folder there and raises RunError naming it and how to finish it; `--max-cost` is split evenly
    between the shards, so the whole run stays within it."""
    ray = import_ray()
    if not 1 <= shards <= MAX_SHARDS:
        raise RoadtestError(f"--shards {shards}: give between 1 and {MAX_SHARDS} shards", "e.g. --ray --shards 4")
    ws = load_workspace(root, allow_outside=options.allow_outside)   # bad input is refused before Ray starts
    if options.max_cost is not None:
        options = replace(options, max_cost=options.max_cost / shards)
    relay = Relay(events, warn)
    with connect(ray, address, shards, ws.root, ws.runs_dir):
        task_root = str(ws.root) if address is None else None   # on a cluster: the job's working_dir
        outcomes = gather(ray, [(task_root, hypotheses, models, command, options, Shard(k, shards))
                                for k in range(1, shards + 1)], relay)
    folders = [write_shard(ws.runs_dir, o) for o in outcomes if o.name is not None]
    check_outcomes(outcomes, folders)
    from roadtest.workflow import merging, running
    merged = merging.merge([RunArchive(p) for p in folders])
    for message in merged.warnings:
        relay.warning(message)
    return replace(running.result_of(merged.archive, merged.verdicts), warnings=tuple(relay.warnings)), folders


def import_ray() -> Any:
    """The ray module, or the error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise RoadtestError("the Ray extra is not installed", RAY_HINT) from None
    return ray


@contextmanager
def connect(ray: Any, address: str | None, shards: int, root: Path, runs_dir: Path) -> Iterator[None]:
    """Ray for the run: the cluster at `address` (the workspace sent as the job's working_dir), a local one
    started and stopped here, or, when this process is connected already, that one (left as it was)."""
    if ray.is_initialized():
        yield
        return
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    if address is not None:
        try:
            ray.init(address=address, runtime_env={"working_dir": str(root), "excludes": excludes(root, runs_dir)},
                     **quiet)
        except Exception as exc:  # noqa: BLE001 - Ray's ConnectionError, RuntimeError, ValueError, ...
            words = str(exc).strip().splitlines()
            raise RoadtestError(f"could not connect to the Ray cluster at {address}: "
                                f"{words[-1] if words else type(exc).__name__}",
                                "check the address (`ray status` on the cluster), or give --ray alone for a local "
                                "cluster") from None
        try:
            yield
        finally:
            ray.shutdown()
        return
    session = Path(tempfile.mkdtemp(prefix="rt-ray-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        with loopback(ray):
            ray.init(num_cpus=max(shards, os.cpu_count() or 1), _temp_dir=str(session), **quiet)
            try:
                yield
            finally:
                ray.shutdown()
    finally:
        shutil.rmtree(session, ignore_errors=True)


@contextmanager
def loopback(ray: Any) -> Iterator[None]:
    """A local cluster on 127.0.0.1 only, and offline. Ray's servers otherwise listen on every interface of the
    machine (its cluster mode, the default on Linux): this is its single-machine mode, the default on macOS and
    Windows, read from the environment by Ray's child processes and from ray_constants by this one. The
    environment and the constant are put back afterwards."""
    constants: Any = getattr(getattr(ray, "_private", None), "ray_constants", None)
    saved = {name: os.environ.get(name) for name in LOCAL_ENV}
    flag = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    os.environ.update(LOCAL_ENV)
    if flag is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if flag is not None:
            constants.ENABLE_RAY_CLUSTER = flag


def excludes(root: Path, runs_dir: Path) -> list[str]:
    """What of the workspace does not travel to a cluster: earlier runs and the response cache."""
    rel = runs_dir.resolve().relative_to(root.resolve()).as_posix()
    return [f"/{rel}/", f"/{CACHE_DIR}/"]


def gather(ray: Any, tasks: list[tuple], relay: Relay) -> list[Outcome]:
    """Submit one task per shard, relay their progress until all have returned, and return their outcomes in
    shard order. Interrupted (Ctrl-C), the tasks are cancelled: each keeps what it finished."""
    from ray.util.queue import Queue

    queue = Queue(actor_options={"num_cpus": 0})
    remote = ray.remote(num_cpus=1, max_retries=0)(shard_task)   # a retried shard would send its calls again
    refs = [remote.remote(*task, queue) for task in tasks]
    pending, timeout = list(refs), None
    try:
        try:
            while pending:
                _, pending = ray.wait(pending, num_returns=1, timeout=FLUSH_S)
                relay.drain(queue)
        except KeyboardInterrupt:   # each task's run is interrupted as a run is (it keeps what finished)
            for ref in pending:
                ray.cancel(ref)
            ray.wait(pending, num_returns=len(pending), timeout=CANCEL_WAIT_S)
            timeout = 0.0
        outcomes = [collect(ray, ref, shard, timeout) for ref, (*_, shard) in zip(refs, tasks)]
        relay.drain(queue)
    finally:
        queue.shutdown()
    return outcomes


def collect(ray: Any, ref: Any, shard: Shard, timeout: float | None = None) -> Outcome:
    """A task's outcome; a task Ray itself lost (worker died, cancelled before it started, not back within
    `timeout` of an interrupt) has no folder."""
    try:
        return ray.get(ref, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - Ray's own failures (RayTaskError, WorkerCrashedError, timeouts)
        text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return Outcome(shard.index, shard.count,
                       error=RunError(f"shard {shard.label}'s Ray task failed: {text}",
                                      f"run it again with: roadtest run --shard {shard.label}"))


def shard_task(root: str | None, hypotheses: list[str] | None, models: list[str] | None, command: list[str],
               options: RunOptions, shard: Shard, queue: Any) -> Outcome:
    """In a Ray worker: the shard's run into a temporary runs folder, returned as bytes with its error."""
    from roadtest.workflow import running

    forward = Forward(queue, shard)
    runs_dir = Path(tempfile.mkdtemp(prefix="roadtest-shard-"))
    outcome = Outcome(shard.index, shard.count)
    try:
        running.run(Path(root) if root is not None else Path.cwd(), hypotheses, models, forward, command, options,
                    forward.warning, shard=shard, runs_dir=runs_dir)
    except RoadtestError as exc:
        outcome.error = portable(exc)
    except KeyboardInterrupt:   # cancelled outside the engine (which turns it into a RunError itself)
        outcome.error = RunError("interrupted", "")
    except Exception as exc:  # noqa: BLE001 - a bug: its folder still comes back, its traceback as a warning
        forward.warning(f"shard {shard.label} failed:\n{traceback.format_exc()}")
        outcome.error = RunError(f"{type(exc).__name__}: {exc}", "")
    finally:
        forward.flush()
    try:
        folders = [p for p in runs_dir.iterdir() if p.is_dir()]
        if folders:
            outcome.name, outcome.origin, outcome.files = folders[0].name, str(folders[0]), read_folder(folders[0])
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)
    return outcome


def portable(exc: RoadtestError) -> RoadtestError:
    """The error itself when it survives pickling (to travel back from the worker), else its words and exit code."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - an error type whose constructor pickle cannot call
        copy = RunError(exc.message, exc.hint)
        copy.exit_code = exc.exit_code
        return copy


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every regular file of a run folder (relative POSIX path -> bytes), the lock left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.name not in SKIP}


def write_shard(runs_dir: Path, outcome: Outcome) -> Path:
    """The shard's folder under the runs folder, with exactly the bytes its task returned (staged, then renamed
    into place, so a half-written folder is never taken for a run)."""
    assert outcome.name is not None
    target = runs_dir / outcome.name
    staging = runs_dir / f".{outcome.name}.incoming-{os.getpid()}"
    staging.mkdir(parents=True)
    for rel, data in outcome.files.items():
        parts = PurePosixPath(rel).parts
        if PurePosixPath(rel).is_absolute() or ".." in parts:
            raise RunError(f"shard {outcome.label} returned a file outside its folder: {rel}", "")
        path = staging.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    try:
        staging.rename(target)
    except OSError:
        raise RunError(f"a run folder {target} exists already; shard {outcome.label} is kept in {staging}",
                       f"move it aside, rename {staging.name} to {outcome.name}, then roadtest merge the shards") \
            from None
    return target


def check_outcomes(outcomes: list[Outcome], folders: list[Path]) -> None:
    """Every shard finished, or the error that names those that did not and how to finish them."""
    failed = [o for o in outcomes if o.error is not None]
    if not failed:
        return
    if not folders and failed[0].error is not None:   # refused before any call (a key, a selection): one error
        raise failed[0].error
    lines, steps = [], []
    for o in failed:
        assert o.error is not None
        if o.name is None:
            lines.append(f"shard {o.label}: {o.error.message} (no run folder)")
            steps.append(f"roadtest run --shard {o.label}")
            continue
        message = o.error.message.replace(o.origin or "", str(folders[0].parent / o.name))
        lines.append(f"shard {o.label} ({o.name}): {message}")
        steps.append(f"roadtest run --resume {o.name}")
    names = " ".join(p.name for p in folders)
    raise RunError(f"{len(failed)} of {len(outcomes)} shards did not finish:\n  " + "\n  ".join(lines),
                   f"finish them with: {'; '.join(steps)}; then: roadtest merge {names}"
                   + (" and the new shard folders" if any(o.name is None for o in failed) else ""))


class Forward:
    """Events in a worker: batched and sent to the driver's queue every FLUSH_S (and when a group finishes)."""

    def __init__(self, queue: Any, shard: Shard) -> None:
        self.queue, self.shard = queue, shard
        self.batch: list[tuple] = []
        self.sent = time.monotonic()

    def model_started(self, label: str, total: int | None) -> None:
        self._add(("started", label, total))

    def trial_finished(self, record: dict[str, Any]) -> None:
        self._add(("trial", dict(record)))

    def model_finished(self, label: str) -> None:
        self._add(("finished", label))
        self.flush()

    def warning(self, message: str) -> None:
        self._add(("warn", message))

    def _add(self, item: tuple) -> None:
        self.batch.append(item)
        if time.monotonic() - self.sent >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.queue.put((self.shard.label, self.batch))
            self.batch = []
        self.sent = time.monotonic()


class Relay:
    """The driver's side: the tasks' batches replayed into the run's events, each progress group prefixed by its
    shard (`[2/3] smollm2`); a warning every shard gives is passed on once."""

    def __init__(self, events: Events, warn: Callable[[str], None]) -> None:
        self.events, self.warn = events, warn
        self.warnings: list[str] = []

    def drain(self, queue: Any) -> None:
        """Replay every batch waiting in the queue."""
        from ray.util.queue import Empty

        while True:
            try:
                label, batch = queue.get_nowait()
            except Empty:
                return
            for item in batch:
                self.replay(f"[{label}] ", item)

    def replay(self, prefix: str, item: tuple) -> None:
        """One event. A trial's record travels with its model prefixed too, so the progress group a consumer
        derives from the record (roadtest.workflow.running.trial_label) is the prefixed one."""
        kind, *args = item
        if kind == "started":
            self.events.model_started(prefix + args[0], args[1])
        elif kind == "trial":
            self.events.trial_finished({**args[0], "model": prefix + args[0]["model"]})
        elif kind == "finished":
            self.events.model_finished(prefix + args[0])
        elif kind == "warn":
            self.warning(args[0])

    def warning(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            self.warn(message)
