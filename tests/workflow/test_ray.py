"""`roadtest run --ray --shards N` on a local Ray cluster (marked `ray`: the second, serial lane) against the stub:
the merged run is what `roadtest merge` writes from the same shard folders and decides as the unsharded run does;
a shard that stops keeps its folder and can be finished and merged. Without the marker: the missing extra, no
eager import, and the progress relay."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from roadtest.archive import RunArchive
from roadtest.errors import RoadtestError, RunError
from roadtest.plan.shards import Shard
from roadtest.workflow import merging, on_ray, running
from roadtest.workflow.running import RunOptions
from tests.conftest import write_workspace

ITEMS = [{"id": f"q{i:02d}", "question": f"What is {i} plus {i % 5}?", "answer": i + i % 5,
          "kind": "even" if i % 2 == 0 else "odd"} for i in range(24)]

ACCURACY = """\
---
id: adds
title: The model adds
decision: all
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_least: 0.5
---
# The model adds
"""

FILES = ["manifest.json", "plan.jsonl", "trials.jsonl", "scores.jsonl", "metrics.json", "verdicts.json"]
COMMAND = ["roadtest", "run", "--ray", "--shards", "3"]
NO_CACHE = RunOptions(cache=False, retry_base_s=0)


def answer(body: dict) -> str:
    """Deterministic per prompt, right for some items and wrong for others (so the scores vary)."""
    a, b = map(int, re.findall(r"What is (\d+) plus (\d+)", body["messages"][-1]["content"])[0])
    return str(a + b if (7 * a + b) % 4 else a + b + 1)


class Recorder:
    """Events kept in order: ('started', label, total), ('trial', record), ('finished', label)."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.cluster: str | None = None

    def model_started(self, label: str, total: int | None) -> None:
        ray = sys.modules.get("ray")   # asked only while connected: a Ray call after shutdown starts a new cluster
        if self.cluster is None and ray is not None and ray.is_initialized():
            self.cluster = ray.get_runtime_context().gcs_address
        self.seen.append(("started", label, total))

    def trial_finished(self, record: dict[str, Any]) -> None:
        self.seen.append(("trial", record))

    def model_finished(self, label: str) -> None:
        self.seen.append(("finished", label))


def _plan(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "plan.jsonl").read_text().splitlines() if line.strip()]


def _scores(folder: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (folder / "scores.jsonl").read_text().splitlines() if line.strip()]
    return {r["trial_id"]: r["score"] for r in rows}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.mark.ray
def test_ray_shards_merge_as_merge_does_and_decide_as_the_unsharded_run(tmp_path, stub):
    ray = pytest.importorskip("ray")
    replicas = [stub(answer=answer) for _ in range(2)]       # one model behind two replicas
    urls = "[" + ", ".join(url for _, url in replicas) + "]"
    root = write_workspace(tmp_path / "ws", urls, items=ITEMS, hypothesis=ACCURACY)
    events, warned = Recorder(), []
    began = time.time() - 1
    result, folders = on_ray.run_on_ray(root, None, None, events, COMMAND, NO_CACHE, warned.append, shards=3)
    assert not ray.is_initialized()   # the local cluster it started is stopped
    assert not any(p.name.startswith("rt-ray-") for p in Path(tempfile.gettempdir()).iterdir())
    assert not [p for p in (Path(tempfile.gettempdir()) / "ray").glob("session_*") if p.stat().st_mtime >= began]
    assert events.cluster is not None and events.cluster.startswith("127.0.0.1:")   # and listened on loopback only

    assert [f.name[-5:] for f in folders] == ["s1of3", "s2of3", "s3of3"]
    assert all(f.parent == root / "runs" for f in folders)
    again = tmp_path / "elsewhere" / result.archive.path.name
    merged_again = merging.merge([RunArchive(f) for f in folders], into=again).archive
    mine, theirs = _files(result.archive.path), _files(merged_again.path)
    assert set(FILES) <= set(mine)
    assert mine == theirs   # byte for byte, derived files included
    rows = [json.loads(line) for line in (result.archive.path / "trials.jsonl").read_text().splitlines()]
    assert {r["replica"] for r in rows} == {1, 2} and all(proxy.seen for proxy, _ in replicas)

    plain = running.run(root, None, None, Recorder(), ["roadtest", "run"], NO_CACHE)
    assert result.verdicts == plain.verdicts
    assert _scores(result.archive.path) == _scores(plain.archive.path)
    assert len(set(_scores(plain.archive.path).values())) > 1   # the stub is right for some items only
    assert (result.trials, result.errors) == (plain.trials, plain.errors) == (len(ITEMS), 0)

    trials = [e[1] for e in events.seen if e[0] == "trial"]
    planned = _plan(plain.archive.path)
    assert sorted(r["trial_id"] for r in trials) == sorted(p["id"] for p in planned)
    by_id = {p["id"]: p for p in planned}
    for record in trials:   # each progress record names the shard that sent it, and that shard owns the trial
        k = int(re.match(r"\[(\d)/3\] ", record["model"]).group(1))
        assert Shard(k, 3).owns_line(by_id[record["trial_id"]])
    started = {e[1]: e[2] for e in events.seen if e[0] == "started"}
    assert sum(started.values()) == len(ITEMS)
    assert {running.trial_label(r) for r in trials} <= set(started)


@pytest.mark.ray
def test_a_shard_that_stops_keeps_its_folder_and_is_finished_and_merged(tmp_path, stub):
    pytest.importorskip("ray")
    _, url = stub(answer=answer)
    root = write_workspace(tmp_path / "ws", url, items=ITEMS, hypothesis=ACCURACY)
    with pytest.raises(RunError) as caught:
        on_ray.run_on_ray(root, None, None, Recorder(), COMMAND, RunOptions(cache=False, deadline_s=0), shards=3)
    folders = sorted((root / "runs").glob("*-s?of3"))
    assert [f.name[-5:] for f in folders] == ["s1of3", "s2of3", "s3of3"]
    message, hint = caught.value.message, caught.value.hint
    assert "3 of 3 shards did not finish" in message and "deadline" in message
    for folder in folders:
        assert f"{root / 'runs' / folder.name}" in message   # the driver's folder, not the worker's
        assert f"roadtest run --resume {folder.name}" in hint
    assert f"roadtest merge {' '.join(f.name for f in folders)}" in hint

    for folder in folders:   # the hint works: each shard resumed from the bytes Ray brought back
        running.resume(root, RunArchive(folder), Recorder(), ["roadtest", "run", "--resume", folder.name], NO_CACHE)
    merged = merging.merge([RunArchive(f) for f in folders])
    assert running.result_of(merged.archive, merged.verdicts).trials == len(ITEMS)


def test_without_the_extra_it_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` raises ImportError
    root = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    with pytest.raises(RoadtestError) as caught:
        on_ray.run_on_ray(root, None, None, Recorder(), COMMAND, shards=3)
    assert caught.value.message == "the Ray extra is not installed"
    assert caught.value.hint == "pip install 'roadtest[ray]'"


def test_importing_roadtest_does_not_import_ray():
    code = ("import sys, roadtest.api, roadtest.cli, roadtest.workflow.on_ray; "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_relay_prefixes_each_group_and_its_records_by_shard():
    events, warned = Recorder(), []
    relay = on_ray.Relay(events, warned.append)
    record = {"trial_id": "t1", "model": "smollm2", "level": None, "kind": "trial"}
    for prefix in ("[1/2] ", "[2/2] "):
        relay.replay(prefix, ("started", running.trial_label(record), 5))
        relay.replay(prefix, ("trial", record))
        relay.replay(prefix, ("warn", "the same warning from every shard"))
    assert [e[1] for e in events.seen if e[0] == "started"] == ["[1/2] smollm2", "[2/2] smollm2"]
    relayed = [e[1] for e in events.seen if e[0] == "trial"]
    assert [running.trial_label(r) for r in relayed] == ["[1/2] smollm2", "[2/2] smollm2"]
    assert record["model"] == "smollm2"   # the shard's own record is left as it was
    assert warned == ["the same warning from every shard"]
