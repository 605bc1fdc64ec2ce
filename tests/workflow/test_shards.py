"""Shards: `run --shard K/N` sends a deterministic slice of the plan into its own run folder; `merge` checks that
the shards are one plan covered exactly once and writes one ordinary archive with the unsharded run's verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.cli.app import optional_values
from roadtest.plan.shards import Shard, shard_key, shard_of
from roadtest.errors import RoadtestError
from tests.workflow import workspaces

runner = CliRunner()
TIMING = ("latency_s", "warmup", "started_at")


@pytest.fixture
def served(stub):
    proxy, url = stub(answer=workspaces.answer)
    return proxy, url


def _run(ws: Path, *args: str) -> dict:
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--no-cache", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _shards_in_parallel(ws: Path, n: int) -> list[Path]:
    """`roadtest run --shard K/N` for every K, as separate processes at once (as a job array would)."""
    exe = [sys.executable, "-m", "roadtest"]
    procs = [subprocess.Popen([*exe, "run", "-w", str(ws), "-q", "--no-cache", "--json", "--shard", f"{k}/{n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(1, n + 1)]
    paths = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        paths.append(Path(json.loads(stdout)["path"]))
    return paths


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _untimed(rows: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in r.items() if k not in TIMING and "latency" not in k} for r in rows),
                  key=lambda r: json.dumps(r, sort_keys=True))


def _verdicts(path: Path) -> dict:
    data = json.loads((path / "verdicts.json").read_text())
    return {(h["id"], m, c.get("scenario"), c.get("metric"), c.get("load") and json.dumps(c["load"])): c["verdict"]
            for h in data["hypotheses"] for m, mv in h["models"].items() for c in mv["criteria"]}


def test_three_shards_in_parallel_merge_to_the_unsharded_run(tmp_path, stub):
    replicas = [stub(answer=workspaces.answer) for _ in range(2)]
    ws = workspaces.write(tmp_path / "ws", [url for _, url in replicas])   # one model behind two replicas
    whole = Path(_run(ws)["path"])
    shards = _shards_in_parallel(ws, 3)

    manifests = [json.loads((p / "manifest.json").read_text()) for p in shards]
    assert [m["shard"] for m in manifests] == [{"index": k, "count": 3} for k in (1, 2, 3)]
    assert {m["fingerprint"] for m in manifests} == {json.loads((whole / "manifest.json").read_text())["fingerprint"]}
    assert all(p.name.endswith(f"-s{k}of3") for k, p in enumerate(shards, 1))
    planned = {t["id"] for t in _lines(whole / "plan.jsonl")}
    sent = [r["trial_id"] for p in shards for r in _lines(p / "trials.jsonl")]
    assert sorted(sent) == sorted(planned)                  # every planned trial exactly once over the shards
    assert all(len(_lines(p / "trials.jsonl")) < len(planned) for p in shards)
    assert {r["replica"] for p in shards for r in _lines(p / "trials.jsonl")} == {1, 2}
    assert all(len(proxy.seen) > 0 for proxy, _ in replicas)
    levels = {p.name: {r.get("level") for r in _lines(p / "trials.jsonl")} for p in shards}
    assert sum("c3" in lv for lv in levels.values()) == 1   # a load level is one stream: it runs in one shard

    result = runner.invoke(app, ["merge", "-w", str(ws), *map(str, reversed(shards)), "--json"])
    assert result.exit_code == 0, result.output
    merged = Path(json.loads(result.stdout)["path"])
    assert merged.parent == shards[0].parent and merged.name.endswith("-merged")
    manifest = json.loads((merged / "manifest.json").read_text())
    assert [s["run_id"] for s in manifest["merged_from"]] == [p.name for p in shards]
    assert manifest["status"] == "complete" and "shard" not in manifest
    assert manifest["plan"] == json.loads((whole / "manifest.json").read_text())["plan"]

    assert _verdicts(merged) == _verdicts(whole)
    assert _untimed(_lines(merged / "scores.jsonl")) == _untimed(_lines(whole / "scores.jsonl"))
    accuracy = [json.loads((p / "metrics.json").read_text())["scenarios"]["sums"]["stub"]["variants"]["base"]["metrics"]["accuracy"]
                for p in (merged, whole)]
    assert accuracy[0] == accuracy[1]

    # an ordinary archive: verify, replay (byte for byte) and diff read it like any other; latest is it
    assert runner.invoke(app, ["verify", str(merged)]).exit_code == 0
    replay = runner.invoke(app, ["replay", str(merged), "--json"])
    assert replay.exit_code == 0, replay.output
    assert all(v == "identical" for v in json.loads(replay.stdout)["files"].values())
    diff = runner.invoke(app, ["diff", str(whole), str(merged), "--json"])
    assert json.loads(diff.stdout)["verdicts"] == []
    runs = runner.invoke(app, ["verify", "latest", "-w", str(ws), "--json"])
    assert json.loads(runs.stdout)["run_id"] == merged.name


def test_merge_refuses_a_missing_a_duplicated_and_a_foreign_shard(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    one, two = (Path(_run(ws, "--shard", f"{k}/3")["path"]) for k in (1, 2))
    again = Path(_run(ws, "--shard", "2/3")["path"])
    whole = Path(_run(ws)["path"])

    missing = runner.invoke(app, ["merge", "-w", str(ws), str(one), str(two)])
    assert missing.exit_code == 2
    assert "shard 3/3 is missing" in missing.output and one.name in missing.output
    assert "--shard 3/3" in missing.output                  # the hint says how to make it

    twice = runner.invoke(app, ["merge", "-w", str(ws), str(one), str(two), str(again)])
    assert twice.exit_code == 2
    assert "shard 2/3 is given twice" in twice.output and two.name in twice.output and again.name in twice.output

    foreign = runner.invoke(app, ["merge", "-w", str(ws), str(one), str(whole)])
    assert foreign.exit_code == 2 and f"run {whole.name} is not a shard" in foreign.output
    assert not list(ws.glob("runs/*-merged"))               # nothing was written by a refused merge


def test_merge_trusts_nothing_in_a_shard(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]

    # a record moved from shard 2 into shard 1 (hashes re-recorded so only the slice check can catch it)
    forged = tmp_path / "forged"
    shutil.copytree(shards[0], forged)
    stolen = (shards[1] / "trials.jsonl").read_text().splitlines()[0]
    with (forged / "trials.jsonl").open("a") as f:
        f.write(stolen + "\n")
    _rehash(forged)
    refused = runner.invoke(app, ["merge", "-w", str(ws), str(forged), str(shards[1])])
    assert refused.exit_code == 2
    assert "does not verify" in refused.output and "belongs to another shard" in refused.output
    verify = runner.invoke(app, ["verify", str(forged)])
    assert verify.exit_code == 1 and "belongs to another shard" in verify.output

    # a shard whose records changed after it ended
    altered = tmp_path / "altered"
    shutil.copytree(shards[1], altered)
    rows = _lines(altered / "trials.jsonl")
    rows[0]["response"]["body"]["choices"][0]["message"]["content"] = "999"
    (altered / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    refused = runner.invoke(app, ["merge", "-w", str(ws), str(shards[0]), str(altered)])
    assert refused.exit_code == 2 and "does not verify" in refused.output and "trials.jsonl" in refused.output

    # another configuration under the same shard numbers
    other = workspaces.write(tmp_path / "other", [url], concurrency=3)
    foreign = Path(_run(other, "--shard", "2/2")["path"])
    refused = runner.invoke(app, ["merge", "-w", str(ws), str(shards[0]), str(foreign)])
    assert refused.exit_code == 2 and "different configurations" in refused.output

    # an unfinished shard
    manifest = json.loads((shards[1] / "manifest.json").read_text())
    stopped = tmp_path / "stopped"
    shutil.copytree(shards[1], stopped)
    (stopped / "manifest.json").write_text(json.dumps({**manifest, "status": "stopped: deadline"}))
    refused = runner.invoke(app, ["merge", "-w", str(ws), str(shards[0]), str(stopped)])
    assert refused.exit_code == 2 and "not complete" in refused.output and "--resume" in refused.output

    # into a folder that holds something: refused, the folder untouched
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    refused = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--into", str(busy)])
    assert refused.exit_code == 2 and "exists already" in refused.output
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def _rehash(folder: Path) -> None:
    """Record the folder's sources again, as a forger who knows the format would."""
    from roadtest.archive import RunArchive

    archive = RunArchive(folder)
    archive.record_sources()


def test_merging_the_same_shards_twice_writes_the_same_bytes(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    first = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--json"])
    name = Path(json.loads(first.stdout)["path"]).name
    second = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--into", str(tmp_path / "b" / name)])
    assert second.exit_code == 0, second.output
    a, b = Path(json.loads(first.stdout)["path"]), tmp_path / "b" / name
    files = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    assert files == sorted(p.name for p in b.iterdir() if not p.name.startswith("."))
    assert {"manifest.json", "plan.jsonl", "trials.jsonl", "scores.jsonl", "metrics.json", "verdicts.json"} <= set(files)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_a_stopped_shard_resumes_its_own_slice_only(tmp_path, stub):
    _, url = stub(answer=workspaces.answer, delay_s=0.1)
    ws = workspaces.write(tmp_path / "ws", [url], concurrency=1)
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--no-cache", "--shard", "2/3", "--deadline", "1"])
    assert result.exit_code == 3, result.output
    folder = next(ws.glob("runs/*-s2of3"))
    before = len(_lines(folder / "trials.jsonl")) if (folder / "trials.jsonl").exists() else 0
    resumed = runner.invoke(app, ["run", "-w", str(ws), "-q", "--resume", str(folder), "--json"])
    assert resumed.exit_code == 0, resumed.output
    shard = Shard(2, 3)
    plan = _lines(folder / "plan.jsonl")
    mine = {t["id"] for t in plan if shard.owns_line(t)}
    assert {r["trial_id"] for r in _lines(folder / "trials.jsonl")} == mine
    assert len(mine) > before
    assert runner.invoke(app, ["verify", str(folder)]).exit_code == 0


def test_shard_assignment_is_stable_and_keeps_a_load_level_whole():
    # the same on every machine: a fixed key always lands in the same shard (sha256, not Python's hash)
    assert [shard_of(f"m/s/base/r0/i{i}", 3) for i in range(6)] == [shard_of(f"m/s/base/r0/i{i}", 3) for i in range(6)]
    assert shard_of("stub/sums/base/r0/q01", 3) == int.from_bytes(
        __import__("hashlib").sha256(b"stub/sums/base/r0/q01").digest()[:8], "big") % 3 + 1
    keys = [shard_key(f"m/s/load:c3/r0/i{i}", "m", "c3") for i in range(50)]
    assert len(set(keys)) == 1
    spread = {shard_of(f"m/s/base/r0/i{i}", 4) for i in range(200)}
    assert spread == {1, 2, 3, 4}


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "2/1001", ""])
def test_a_bad_shard_is_refused_with_an_example(text):
    with pytest.raises(RoadtestError) as info:
        Shard.parse(text)
    assert "--shard 2/3" in info.value.hint


def test_bad_combinations_of_shard_and_ray_flags_exit_2(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    for args, words in ((["--shards", "2"], "--shards works with --ray"), (["--ray"], "--ray needs --shards"),
                        (["--shard", "5/3"], "K/N"), (["--ray", "--shards", "2", "--shard", "1/2"], "do not apply"),
                        (["--resume", "latest", "--shard", "1/2"], "do not apply"),
                        (["--ray", "--shards", "2", "--runs-dir", str(tmp_path / "elsewhere")], "--runs-dir")):
        result = runner.invoke(app, ["run", "-w", str(ws), "-q", *optional_values(args)])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)
    assert not (ws / "runs").exists() or not any((ws / "runs").iterdir())


def test_a_bare_ray_flag_means_a_local_cluster():
    assert optional_values(["run", "--ray", "--shards", "2"]) == ["run", "--ray=local", "--shards", "2"]
    assert optional_values(["run", "--shards", "2", "--ray"]) == ["run", "--shards", "2", "--ray=local"]
    assert optional_values(["run", "--ray", "ray://head:10001", "--shards", "2"]) == \
        ["run", "--ray", "ray://head:10001", "--shards", "2"]
    assert optional_values(["run", "--", "--ray"]) == ["run", "--", "--ray"]


def test_latest_is_the_latest_whole_run_not_a_shard(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    whole = Path(_run(ws)["path"])
    Path(_run(ws, "--shard", "1/2")["path"])
    latest = runner.invoke(app, ["verify", "latest", "-w", str(ws), "--json"])
    assert json.loads(latest.stdout)["run_id"] == whole.name


def test_a_shard_is_not_a_decision(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    (ws / "decisions").mkdir()
    shard = Path(_run(ws, "--shard", "1/2")["path"])
    refused = runner.invoke(app, ["decide", "sums-hold", "--model", "stub", "--run", str(shard), "--by", "Ada",
                                  "--note", "looks fine", "-w", str(ws)])
    assert refused.exit_code == 2 and "shard 1/2" in refused.output and "roadtest merge" in refused.output
    history = runner.invoke(app, ["history", "-w", str(ws), "--json"])
    assert history.exit_code == 0, history.output
    record = json.loads(history.stdout)
    assert record["cells"] == []                                # its verdicts count nowhere
    assert any(shard.name in line and "shard 1/2" in line for line in record["skipped_runs"])


@pytest.mark.pdf
def test_reports_name_the_shards_and_a_shard_says_it_is_a_slice(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    merged = Path(json.loads(runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--json"]).stdout)["path"])
    assert runner.invoke(app, ["report", str(merged), "-w", str(ws)]).exit_code == 0
    html = (merged / "report.html").read_text()
    for shard in shards:
        assert shard.name in html                            # the appendix names every shard it was merged from
    assert "covers shard" not in html
    assert runner.invoke(app, ["report", str(shards[0]), "-w", str(ws)]).exit_code == 0
    assert "This document covers shard 1 of 2" in (shards[0] / "report.html").read_text()


def test_conversations_shard_by_conversation_and_merge_to_the_unsharded_run(tmp_path, stub):
    from tests.engine.test_conversation_engine import scripted
    from tests.engine.test_conversations import CASES, write_ws

    _, url = stub(answer=scripted)
    ws = write_ws(tmp_path / "ws", url, cases=CASES)
    whole = Path(_run(ws, "-m", "smollm2")["path"])
    shards = [Path(_run(ws, "-m", "smollm2", "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    turns = {p.name: {r["conversation"] for r in _lines(p / "trials.jsonl") if r.get("kind") == "turn"}
             for p in shards}
    assert all(turns.values()) and not set.intersection(*turns.values())   # each conversation in one shard, whole
    result = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--json"])
    assert result.exit_code in (0, 1), result.output
    merged = Path(json.loads(result.stdout)["path"])
    assert _verdicts(merged) == _verdicts(whole)
    assert _untimed(_lines(merged / "scores.jsonl")) == _untimed(_lines(whole / "scores.jsonl"))
    conversations = [json.loads((p / "metrics.json").read_text())["scenarios"]["order-support"]["smollm2"]
                     for p in (merged, whole)]
    assert json.dumps(conversations[0].get("failures"), sort_keys=True) == \
        json.dumps(conversations[1].get("failures"), sort_keys=True)

    # a shard with one conversation's every turn removed (hashes re-recorded) does not cover its slice
    cut = tmp_path / "cut"
    shutil.copytree(shards[1], cut)
    gone = sorted(turns[shards[1].name])[0]
    rows = [r for r in _lines(cut / "trials.jsonl") if r.get("conversation") != gone]
    (cut / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _rehash(cut)
    verify = runner.invoke(app, ["verify", str(cut)])
    assert verify.exit_code == 1 and "conversation has no turn" in verify.output and gone in verify.output
    refused = runner.invoke(app, ["merge", "-w", str(ws), str(shards[0]), str(cut)])
    assert refused.exit_code == 2 and "does not verify" in refused.output


def test_merge_refuses_a_target_inside_a_run_folder_and_damaged_manifests_by_name(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    inside = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards), "--into", str(shards[0] / "merged")])
    assert inside.exit_code == 2 and "inside the run folder" in inside.output
    assert not (shards[0] / "merged").exists()
    assert runner.invoke(app, ["verify", str(shards[0])]).exit_code == 0     # the shard is untouched

    for change, words in (({"started_at": "yesterday"}, "started_at"), ({"finished_at": "2026-12-01T10:00:00"},
                                                                         "finished_at"), ({"plan": None}, "plan")):
        damaged = tmp_path / f"damaged-{next(iter(change))}"
        shutil.copytree(shards[0], damaged)
        manifest = json.loads((damaged / "manifest.json").read_text())
        (damaged / "manifest.json").write_text(json.dumps({**manifest, **change}))
        refused = runner.invoke(app, ["merge", "-w", str(ws), str(damaged), str(shards[1])])
        assert refused.exit_code == 2, (change, refused.output)
        assert words in refused.output and "shard 1/2" in refused.output and "internal error" not in refused.output


def test_a_shard_that_changes_while_it_is_merged_is_refused_and_nothing_is_left(tmp_path, served, monkeypatch):
    from roadtest.workflow import merging

    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    checked = merging._check_plans

    def then_changed(ordered):   # an upload still arriving: the file grows after it was verified
        checked(ordered)
        with (shards[1] / "trials.jsonl").open("a") as f:
            f.write((shards[1] / "trials.jsonl").read_text().splitlines()[0] + "\n")

    monkeypatch.setattr(merging, "_check_plans", then_changed)
    refused = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards)])
    assert refused.exit_code == 1 and "changed while it was merged" in refused.output
    assert not list(ws.glob("runs/*-merged"))


def test_shards_of_a_server_whose_listing_stamps_the_time_merge_without_a_warning(tmp_path, served):
    _, url = served
    ws = workspaces.write(tmp_path / "ws", [url])
    shards = [Path(_run(ws, "--shard", f"{k}/2")["path"]) for k in (1, 2)]
    from roadtest.archive import RunArchive

    for n, shard in enumerate(shards):   # a vLLM-style listing: its `created` is the time it was asked
        manifest = json.loads((shard / "manifest.json").read_text())
        manifest["endpoints"]["stub"]["models_entry"] = {"id": "stub", "object": "model", "created": 1_700_000_000 + n}
        RunArchive(shard).write_manifest(manifest)
    result = runner.invoke(app, ["merge", "-w", str(ws), *map(str, shards)])
    assert result.exit_code == 0, result.output
    assert "saw another endpoint" not in result.output
