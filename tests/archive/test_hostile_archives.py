"""An archive is never trusted: links and odd files in it, a plan cut short, sources deleted or damaged, records
the plan does not explain, two writers at once, a full or read-only disk, a manifest that is not one.

Archives are copies of tests/fixtures/archives/v2-tiny (a real small run), edited by hand; a real run needs no
model: the fault proxy answers every call itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.archive import LOCK, ArchiveWriteError, RunArchive, RunLocked
from roadtest.archive import files as archive_files
from roadtest.archive import run_dir as run_dir_module
from roadtest.archive import trials_file
from roadtest.archive.verify import verify
from roadtest.cli import app
from roadtest.errors import AlteredArchive, RoadtestError, RunError
from roadtest.plan import Trial
from tests.conftest import write_workspace
from tests.support.proxy import FaultProxy

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
DERIVED = ("scores.jsonl", "metrics.json", "verdicts.json")
REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def archive_copy(tmp_path: Path, name: str = "v2-tiny") -> Path:
    target = tmp_path / "runs" / name
    shutil.copytree(FIXTURE, target)
    return target


def manifest_of(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def edit_manifest(run: Path, change) -> None:
    manifest = manifest_of(run)
    change(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))


def record_plan(run: Path) -> None:
    """What this roadtest records once plan.jsonl is written whole."""
    data = (run / "plan.jsonl").read_bytes()
    edit_manifest(run, lambda m: m.update(plan={"trials": data.count(b"\n"), "bytes": len(data),
                                                "sha256": hashlib.sha256(data).hexdigest()}))


def interrupted(run: Path) -> None:
    """A run killed before its end: no source hashes recorded, status as a kill leaves it."""
    def change(m):
        m["status"] = "interrupted"
        for name in ("trials.jsonl", "plan.jsonl"):
            m["files"].pop(name, None)
    edit_manifest(run, change)


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


# -- links and other non-regular files ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["metrics.json", "verdicts.json", "scores.jsonl", "report.html"])
def test_a_derived_file_that_is_a_link_is_never_written_through(tmp_path, name):
    run = archive_copy(tmp_path)
    victim = tmp_path / "elsewhere" / "bashrc"
    victim.parent.mkdir()
    victim.write_text("export PATH=/usr/bin\n")
    (run / name).unlink()
    (run / name).symlink_to(victim)
    for command in (["replay", run], ["report", run, "--format", "html"], ["diff", run, run]):
        result = invoke(*command, "-w", tmp_path)
        assert result.exit_code == 1, result.output
        assert name in result.output and "symbolic link" in result.output
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert (run / name).is_symlink()
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1 and f"MISMATCH: {name}: a symbolic link" in result.output


@pytest.mark.parametrize("name", ["manifest.json", "trials.jsonl", "plan.jsonl"])
def test_a_source_read_through_a_link_is_refused(tmp_path, name):
    run = archive_copy(tmp_path)
    real = tmp_path / "elsewhere" / name
    real.parent.mkdir()
    shutil.move(run / name, real)
    (run / name).symlink_to(real)
    for command in ("replay", "verify", "report"):
        result = invoke(command, run, "-w", tmp_path)
        assert result.exit_code == 1, result.output
        assert name in result.output and "symbolic link" in result.output
    with pytest.raises(AlteredArchive, match=name):
        list(RunArchive(run).trials()) if name == "trials.jsonl" else (
            list(RunArchive(run).plan()) if name == "plan.jsonl" else RunArchive(run).manifest())


def test_a_fifo_or_a_folder_in_the_archive_is_refused_without_hanging(tmp_path):
    run = archive_copy(tmp_path)
    (run / "trials.jsonl").unlink()
    os.mkfifo(run / "trials.jsonl")             # a read would wait forever for a writer
    (run / "metrics.json").unlink()
    (run / "metrics.json").mkdir()
    result = invoke("replay", run, "-w", tmp_path)
    assert result.exit_code == 1 and "metrics.json: a folder" in result.output and "1 more problem" in result.output
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1
    assert "MISMATCH: metrics.json: a folder" in result.output and "MISMATCH: trials.jsonl: a FIFO" in result.output
    with pytest.raises(AlteredArchive, match="FIFO"):
        list(RunArchive(run).trials())


def test_derived_files_are_replaced_whole_never_written_in_place(tmp_path):
    run = archive_copy(tmp_path)
    archive = RunArchive(run)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (run / "metrics.json").unlink()
    (run / "metrics.json").symlink_to(victim)
    with pytest.raises(AlteredArchive, match="metrics.json"):
        archive.write_derived("metrics.json", "{}")
    assert victim.read_text() == "keep me"
    (run / "metrics.json").unlink()
    inode = (run / "scores.jsonl").stat().st_ino
    archive.write_derived("metrics.json", "{}\n")
    archive.write_lines("scores.jsonl", iter(["a", "b"]))
    assert (run / "metrics.json").read_text() == "{}\n" and not (run / "metrics.json").is_symlink()
    assert (run / "scores.jsonl").read_text() == "a\nb\n" and (run / "scores.jsonl").stat().st_ino != inode
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


# -- the plan: written whole before it counts ---------------------------------------------------------------

def trial(i: int) -> Trial:
    return Trial(id=f"smollm2/tiny-math/base/r0/x{i}", model="smollm2", scenario="tiny-math", item=f"x{i}",
                 repeat=0, variant="base", endpoint="chat/completions",
                 body={"model": "smollm2", "messages": [{"role": "user", "content": f"{i} \udcff"}]}, reference={})


def fresh_archive(tmp_path: Path) -> RunArchive:
    return RunArchive.create(tmp_path / "runs", manifest_of(FIXTURE)["config"], ["roadtest", "run"], tmp_path)


def test_the_plan_is_recorded_only_once_written_whole(tmp_path):
    archive = fresh_archive(tmp_path)
    assert manifest_of(archive.path)["plan"] is None
    counts = archive.write_plan(trial(i) for i in range(7))
    data = (archive.path / "plan.jsonl").read_bytes()
    assert manifest_of(archive.path)["plan"] == {"trials": 7, "bytes": len(data),
                                                 "sha256": hashlib.sha256(data).hexdigest()}
    assert counts == {("smollm2", None, "model"): 7}
    assert [t.body for t in archive.plan()] == [trial(i).body for i in range(7)]   # a lone surrogate kept, escaped
    assert not [p for p in archive.path.iterdir() if p.name.endswith(".tmp")]
    archive.check_resumable()


def test_a_plan_whose_writing_failed_leaves_nothing_to_resume_from(tmp_path):
    archive = fresh_archive(tmp_path)

    def trials():
        yield from (trial(i) for i in range(3))
        raise RoadtestError("the dataset went away mid-plan")

    with pytest.raises(RoadtestError, match="mid-plan"):
        archive.write_plan(trials())
    assert not (archive.path / "plan.jsonl").exists()
    assert manifest_of(archive.path)["plan"] is None
    assert not [p for p in archive.path.iterdir() if p.name.endswith(".tmp")]
    result = invoke("run", "--resume", archive.path, "-w", tmp_path)
    assert result.exit_code == 2 and "plan.jsonl" in result.output


def test_kill_9_while_the_plan_is_written_then_resume_refuses(tmp_path):
    runs = tmp_path / "runs"
    script = textwrap.dedent(f"""
        import json, sys, time
        from pathlib import Path
        from roadtest.archive import RunArchive
        from tests.archive.test_hostile_archives import trial
        config = json.loads(Path({str(FIXTURE / "manifest.json")!r}).read_text())["config"]
        archive = RunArchive.create(Path({str(runs)!r}), config, ["roadtest", "run"], Path("."))
        def trials():
            for i in range(100_000):
                if i == 6_096:
                    print(archive.path, flush=True)
                    time.sleep(60)
                yield trial(i)
        archive.write_plan(trials())
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        run = Path(proc.stdout.readline().strip())
        assert run.is_dir(), run
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    partial = [p for p in run.iterdir() if p.name.startswith(".plan.jsonl.")]
    assert len(partial) == 1 and not (run / "plan.jsonl").exists()     # the half plan never took the name
    result = invoke("run", "--resume", run, "-w", tmp_path)
    assert result.exit_code == 2 and "plan.jsonl" in result.output
    partial[0].rename(run / "plan.jsonl")                                # as an older roadtest left it
    result = invoke("run", "--resume", run, "-w", tmp_path)
    assert result.exit_code == 2
    assert "the plan was never completely written, so no call was sent from it" in result.output
    assert "start the run again with `roadtest run`" in result.output


def test_an_old_archive_with_a_plan_cut_short_is_not_resumed(tmp_path):
    run = archive_copy(tmp_path)
    interrupted(run)
    (run / "plan.jsonl").write_text("".join(lines_of(run / "plan.jsonl")[:2]))
    result = invoke("run", "--resume", run, "-w", tmp_path)
    assert result.exit_code == 2, result.output
    assert "cannot be resumed" in result.output and "how many trials it planned" in result.output


def test_a_plan_that_no_longer_matches_its_record_is_refused(tmp_path):
    run = archive_copy(tmp_path)
    record_plan(run)
    interrupted(run)                                              # only the plan's own record can catch it
    (run / "plan.jsonl").write_text("".join(lines_of(run / "plan.jsonl")[:3]))
    for command in ("replay", "report"):
        result = invoke(command, run, "-w", tmp_path)
        assert result.exit_code == 1 and "plan.jsonl: 3 trials" in result.output and "recorded 5" in result.output
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1 and "MISMATCH: plan.jsonl: 3 trials" in result.output
    result = invoke("run", "--resume", run, "-w", tmp_path)
    assert result.exit_code == 1 and "plan.jsonl: 3 trials" in result.output
    with pytest.raises(AlteredArchive, match="not the plan its calls were sent from"):
        next(RunArchive(run).plan())


@pytest.mark.parametrize("line, why", [
    ('{"id": 3}\n', "id is 3"),
    ('[1, 2]\n', "a list, not a trial"),
    ('{"id": "x", "model": "nobody"}\n', "scenario is missing"),
    ('not json\n', "not JSON"),
])
def test_a_plan_line_that_is_not_a_trial_names_its_line(tmp_path, line, why):
    run = archive_copy(tmp_path)
    lines = lines_of(run / "plan.jsonl")
    (run / "plan.jsonl").write_text(lines[0] + line + "".join(lines[2:]))
    record_plan(run)
    interrupted(run)
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1 and "MISMATCH: plan.jsonl:2: not a valid trial" in result.output
    assert why in result.output
    for command in (["replay", run], ["run", "--resume", run]):
        result = invoke(*command, "-w", tmp_path)
        assert result.exit_code == 1 and "plan.jsonl:2" in result.output, result.output
    with pytest.raises(AlteredArchive, match="plan.jsonl:2"):
        list(RunArchive(run).plan())


# -- sources deleted or damaged --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["trials.jsonl", "plan.jsonl"])
def test_a_deleted_source_is_an_altered_archive(tmp_path, name):
    run = archive_copy(tmp_path)
    verdicts = (run / "verdicts.json").read_bytes()
    (run / name).unlink()
    for command in ("replay", "report"):
        result = invoke(command, run, "-w", tmp_path)
        assert result.exit_code == 1, result.output
        assert f"{name}: missing" in result.output
    assert (run / "verdicts.json").read_bytes() == verdicts          # never rewritten as NOT RUN
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1 and f"MISMATCH: {name}: missing" in result.output


def test_trials_deleted_from_a_run_that_made_calls_but_never_ended(tmp_path):
    run = archive_copy(tmp_path)
    interrupted(run)
    (run / "trials.jsonl").unlink()
    result = invoke("replay", run, "-w", tmp_path)
    assert result.exit_code == 1 and "trials.jsonl: missing, yet calls were made" in result.output


def corrupt_third_line(run: Path, with_bytes: bytes = b'{"trial_id": "smollm2/tiny-math/base/r0/a3", oops\n') -> None:
    lines = (run / "trials.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = with_bytes
    (run / "trials.jsonl").write_bytes(b"".join(lines))


def test_a_damaged_record_in_a_finished_run_is_caught_by_its_hash(tmp_path):
    run = archive_copy(tmp_path)
    corrupt_third_line(run)
    result = invoke("replay", run, "-w", tmp_path)
    assert result.exit_code == 1 and "no longer matches" in result.output
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1
    assert "MISMATCH: trials.jsonl: sha256" in result.output
    assert "MISMATCH: trials.jsonl:3: not a readable record" in result.output


@pytest.mark.parametrize("bad", [b'{"trial_id": "a3", oops\n', b'\xff\xfe{}\n', b'[]\n', b'{"model": "smollm2"}\n'])
def test_a_damaged_record_in_an_interrupted_run_is_never_skipped(tmp_path, bad):
    run = archive_copy(tmp_path)
    record_plan(run)
    interrupted(run)
    corrupt_third_line(run, bad)
    with pytest.raises(AlteredArchive, match="trials.jsonl:3"):
        list(RunArchive(run).trials())
    for command in (["replay", run], ["run", "--resume", run]):
        result = invoke(*command, "-w", tmp_path)
        assert result.exit_code == 1 and "trials.jsonl:3: not a readable record" in result.output, result.output
    assert "MISMATCH: trials.jsonl:3" in invoke("verify", run, "-w", tmp_path).output


def test_only_a_half_written_last_line_is_dropped(tmp_path):
    run = archive_copy(tmp_path)
    interrupted(run)
    with (run / "trials.jsonl").open("a") as f:
        f.write('{"trial_id": "smollm2/tiny-ma')                  # what kill -9 mid-write leaves
    assert len(list(RunArchive(run).trials())) == 5
    assert invoke("replay", run, "-w", tmp_path).exit_code == 0


# -- records the plan does not explain ---------------------------------------------------------------------------

def unfinished_with(run: Path, records: list[dict], status: str = "interrupted") -> None:
    record_plan(run)
    interrupted(run)
    edit_manifest(run, lambda m: m.update(status=status))
    with (run / "trials.jsonl").open("a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def first_record(run: Path) -> dict:
    return json.loads(lines_of(run / "trials.jsonl")[0])


def test_a_trial_that_is_not_in_the_plan_is_reported(tmp_path):
    run = archive_copy(tmp_path)
    stranger = {**first_record(run), "trial_id": "smollm2/tiny-math/base/r0/zz"}
    unfinished_with(run, [stranger])
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1
    assert "MISMATCH: trials.jsonl:6: trial smollm2/tiny-math/base/r0/zz is not in plan.jsonl" in result.output
    assert invoke("replay", run, "-w", tmp_path).exit_code == 1


def test_a_trial_answered_twice_is_reported(tmp_path):
    run = archive_copy(tmp_path)
    unfinished_with(run, [first_record(run)])                    # two writers at once
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 1 and "trials.jsonl:6: trial smollm2/tiny-math/base/r0/a1 was answered already (line 1)" \
        in result.output
    assert invoke("run", "--resume", run, "-w", tmp_path).exit_code == 1


def test_a_failed_call_sent_again_by_retry_errors_is_explained(tmp_path):
    run = archive_copy(tmp_path)
    lines = lines_of(run / "trials.jsonl")
    failed = {**json.loads(lines[0]), "error": {"kind": "timeout", "message": "timed out"}, "response": None}
    (run / "trials.jsonl").write_text(json.dumps(failed) + "\n" + "".join(lines[1:]))
    unfinished_with(run, [json.loads(lines[0])])
    assert "records, more than 0 resumes" in invoke("verify", run, "-w", tmp_path).output
    edit_manifest(run, lambda m: m.update(resumes=[{"retry_errors": True, "at": "x", "command": [],
                                                    "done_before": 5}]))
    mismatches = verify(RunArchive(run), None).mismatches
    assert [m.split(":")[0] for m in mismatches] == ["trials.jsonl"] and "never ended" in mismatches[0]


def test_a_record_whose_request_is_not_the_planned_one_is_reported(tmp_path):
    run = archive_copy(tmp_path)
    lines = lines_of(run / "trials.jsonl")
    record = json.loads(lines[1])
    record["request"]["body"]["temperature"] = 0.9
    (run / "trials.jsonl").write_text(lines[0] + json.dumps(record) + "\n" + "".join(lines[2:]))
    unfinished_with(run, [])
    assert "trials.jsonl:2: trial smollm2/tiny-math/base/r0/a2 does not carry the request plan.jsonl planned" \
        in invoke("verify", run, "-w", tmp_path).output


def test_a_complete_run_missing_planned_trials_is_reported(tmp_path):
    run = archive_copy(tmp_path)
    (run / "trials.jsonl").write_text("".join(lines_of(run / "trials.jsonl")[:2]))
    unfinished_with(run, [], status="complete")
    assert "trials.jsonl: 3 of 5 planned trials have no record, yet the run is marked complete" in \
        invoke("verify", run, "-w", tmp_path).output


# -- one writer at a time ------------------------------------------------------------------------------------------

def test_a_second_writer_is_refused_at_once_and_told_who_holds_the_lock(tmp_path):
    run = archive_copy(tmp_path)
    record_plan(run)
    first, second = RunArchive(run), RunArchive(run)
    with first.lock():
        with first.lock():                                         # nested holds are free
            assert first.locked
        for attempt in (second.lock().__enter__, second.open_trials, second.repair_trials,
                        lambda: second.write_manifest(manifest_of(run)), lambda: second.write_derived("x", "")):
            with pytest.raises(RunLocked) as caught:
                attempt()
            assert caught.value.exit_code == 2 and run.name in caught.value.message
            assert f"process {os.getpid()}" in caught.value.message or "this process" in caught.value.message
    with second.lock():
        assert second.locked
    assert not second.locked


def test_appending_trials_holds_the_lock_until_finish(tmp_path):
    run = archive_copy(tmp_path)
    writer = RunArchive(run)
    writer.open_trials()
    with pytest.raises(RunLocked):
        RunArchive(run).open_trials()
    writer.finish("complete")
    with RunArchive(run).lock():
        pass


def test_the_lock_held_by_another_process_names_its_pid(tmp_path):
    run = archive_copy(tmp_path)
    record_plan(run)
    script = (f"from pathlib import Path; from roadtest.archive import RunArchive\n"
              f"with RunArchive(Path({str(run)!r})).lock():\n    print('held', flush=True); import time; time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        result = invoke("run", "--resume", run, "-w", tmp_path, "--retry-errors")
        assert result.exit_code == 2, result.output
        assert f"being written by roadtest process {proc.pid}" in result.output
        assert invoke("replay", run, "-w", tmp_path).exit_code == 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with RunArchive(run).lock():                                   # the kernel let go with the process
        pass


def test_the_lock_file_is_no_part_of_the_record(tmp_path):
    run = archive_copy(tmp_path)
    assert invoke("replay", run, "-w", tmp_path).exit_code == 0
    assert (run / LOCK).is_file() and LOCK not in manifest_of(run)["files"]
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 0 and LOCK not in result.output
    rows = json.loads(invoke("runs", "-w", tmp_path, "--json").stdout)
    assert [r["run_id"] for r in rows] == ["v2-tiny"] and rows[0]["status"] == "complete"


def test_two_resumes_of_one_run_at_once_send_nothing_twice(tmp_path):
    proxy = FaultProxy(None, delay_s=0.3)
    items = [{"id": f"i{i}", "question": f"What is {i} plus 1?", "answer": i + 1, "kind": "add"} for i in range(12)]
    ws = write_workspace(tmp_path / "ws", url=proxy.start(), items=items)
    try:
        first = subprocess.Popen([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q"], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list((ws / "runs").glob("*/trials.jsonl")) or \
                not next((ws / "runs").glob("*/trials.jsonl")).read_text().count("\n"):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        run = next((ws / "runs").iterdir())
        result = invoke("run", "--resume", run.name, "-w", ws, "-q")
        assert result.exit_code == 2 and f"process {first.pid}" in result.output, result.output
        assert first.wait(60) == 0
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        proxy.stop()
    ids = [json.loads(line)["trial_id"] for line in lines_of(run / "trials.jsonl")]
    assert len(ids) == len(set(ids)) == 12 and len(proxy.seen) == 12
    assert invoke("verify", run, "-w", ws).exit_code == 0


# -- a full or read-only disk ---------------------------------------------------------------------------------------

def test_a_full_disk_while_appending_keeps_every_record_whole(tmp_path, monkeypatch):
    run = archive_copy(tmp_path)
    interrupted(run)
    before = (run / "trials.jsonl").read_bytes()
    archive = RunArchive(run)
    archive.open_trials()
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[:40]))                             # part of the record reaches the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trials_file.os, "write", half_then_full)
    record = first_record(run)
    with pytest.raises(RunError) as caught:
        archive.write(record)
    error = caught.value
    assert isinstance(error, ArchiveWriteError) and isinstance(error, OSError) and error.exit_code == 3
    assert error.message == f"could not write {run / 'trials.jsonl'}: No space left on device"
    assert error.hint == ("every call answered before is in the archive: free some space, then "
                          f"`roadtest run --resume {run.name}`")
    assert error.strerror == "No space left on device"             # what the engine shows when it stops
    assert (run / "trials.jsonl").read_bytes() == before           # the half record was cut off again
    monkeypatch.setattr(trials_file.os, "write", real_write)
    with pytest.raises(ArchiveWriteError):
        archive.write(record)                                      # nothing more after a failed write
    assert (run / "trials.jsonl").read_bytes() == before
    archive.finish("failed")
    assert manifest_of(run)["status"] == "failed"


def test_a_half_record_the_disk_would_not_let_go_is_repaired_on_resume(tmp_path, monkeypatch):
    run = archive_copy(tmp_path)
    interrupted(run)
    before = (run / "trials.jsonl").read_bytes()
    archive = RunArchive(run)
    archive.open_trials()
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[:40]))
        raise OSError(errno.EROFS, "Read-only file system")

    def no_truncate(fd, size):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(trials_file.os, "write", half_then_full)
    monkeypatch.setattr(trials_file.os, "ftruncate", no_truncate)
    with pytest.raises(ArchiveWriteError, match="Read-only file system") as caught:
        archive.write(first_record(run))
    assert "make the disk writable" in caught.value.hint
    monkeypatch.undo()
    archive.finish("failed")
    assert (run / "trials.jsonl").read_bytes() != before and len(list(RunArchive(run).trials())) == 5
    RunArchive(run).open_trials()                                  # what resume does first
    assert (run / "trials.jsonl").read_bytes() == before


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_a_plan_the_disk_refused_is_not_there(tmp_path, monkeypatch, where):
    archive = fresh_archive(tmp_path)

    def refuse(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive_files.os, where, refuse)
    with pytest.raises(RunError) as caught:
        archive.write_plan(trial(i) for i in range(3))
    monkeypatch.undo()
    assert caught.value.message == f"could not write {archive.path / 'plan.jsonl'}: No space left on device"
    assert "no call was sent" in caught.value.hint and "`roadtest run`" in caught.value.hint
    assert not (archive.path / "plan.jsonl").exists() and manifest_of(archive.path)["plan"] is None
    assert not [p for p in archive.path.iterdir() if p.name.endswith(".tmp")]


def test_replay_on_a_read_only_disk_is_a_clear_message(tmp_path, monkeypatch):
    run = archive_copy(tmp_path)
    before = {n: (run / n).read_bytes() for n in DERIVED}

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(archive_files.os, "replace", read_only)
    result = invoke("replay", run, "-w", tmp_path)
    assert result.exit_code == 3, result.output
    assert "could not write" in result.output and "Read-only file system" in result.output
    assert "make the disk writable" in result.output
    assert {n: (run / n).read_bytes() for n in DERIVED} == before
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


# -- a manifest that is not one -------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage, says", [
    (lambda raw: b"{not json", "not valid JSON"),
    (lambda raw: b"[1, 2, 3]", "a list, not an object"),
    (lambda raw: b'"just a string"', "a string, not an object"),
    (lambda raw: b"\xff\xfe" + raw, "not UTF-8"),
    (lambda raw: b"[" * 100_000 + b"]" * 100_000, "not a roadtest run manifest"),
    (lambda raw: _edit(raw, lambda m: m.pop("config")), "config is missing"),
    (lambda raw: _edit(raw, lambda m: m.update(status=3)), "status is a number, not a string"),
    (lambda raw: _edit(raw, lambda m: m.update(schema_version="2")), "schema_version is '2'"),
    (lambda raw: _edit(raw, lambda m: m["files"].update({"../../etc/passwd": "0" * 64})), "../../etc/passwd"),
    (lambda raw: _edit(raw, lambda m: m["config"]["selection"].update(scenarios=["ghost"])), "'ghost'"),
    (lambda raw: _edit(raw, lambda m: m.update(plan={"trials": "many", "sha256": "0" * 64, "bytes": 1})),
     "plan.trials is 'many'"),
    (lambda raw: _edit(raw, lambda m: m["config"]["scenarios"]["tiny-math"]["spec"].update(oops=1)),
     "config.scenarios"),
])
def test_a_manifest_that_is_not_a_run_manifest_is_a_clear_message(tmp_path, damage, says):
    run = archive_copy(tmp_path)
    (run / "manifest.json").write_bytes(damage((run / "manifest.json").read_bytes()))
    for command in ("replay", "verify", "report"):
        result = invoke(command, run, "-w", tmp_path)
        assert result.exit_code == 2, result.output
        assert "manifest.json" in result.output and says in result.output, result.output
    assert json.loads(invoke("runs", "-w", tmp_path, "--json").stdout)[0]["status"] == "unreadable"


def _edit(raw: bytes, change) -> bytes:
    manifest = json.loads(raw)
    change(manifest)
    return json.dumps(manifest).encode()


def test_a_huge_manifest_is_refused_unread(tmp_path, monkeypatch):
    run = archive_copy(tmp_path)
    monkeypatch.setattr(run_dir_module, "MAX_MANIFEST_BYTES", 1000)
    result = invoke("verify", run, "-w", tmp_path)
    assert result.exit_code == 2 and "bytes, more than the 1,000" in result.output


def test_a_verdicts_link_is_not_followed_by_the_listing(tmp_path):
    run = archive_copy(tmp_path)
    (run / "verdicts.json").unlink()
    os.mkfifo(run / "verdicts.json")
    rows = json.loads(invoke("runs", "-w", tmp_path, "--json").stdout)
    assert rows[0]["run_id"] == "v2-tiny" and rows[0]["verdicts"] == {}


# -- a real run, start to end ---------------------------------------------------------------------------------------

def test_a_run_records_its_plan_and_leaves_nothing_behind(tmp_path):
    proxy = FaultProxy(None)
    ws = write_workspace(tmp_path / "ws", url=proxy.start())
    try:
        assert invoke("run", "-w", ws, "-q").exit_code == 0
    finally:
        proxy.stop()
    run = next((ws / "runs").iterdir())
    manifest = manifest_of(run)
    data = (run / "plan.jsonl").read_bytes()
    assert manifest["plan"] == {"trials": 5, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    trials = (run / "trials.jsonl").read_bytes()
    assert manifest["trials"] == {"records": 5, "bytes": len(trials), "sha256": hashlib.sha256(trials).hexdigest()}
    assert sorted(p.name for p in run.iterdir()) == sorted([LOCK, "manifest.json", "plan.jsonl", "trials.jsonl",
                                                            *DERIVED])
    with RunArchive(run).lock():                                   # released at the end of the run
        pass
    assert invoke("verify", run, "-w", ws).exit_code == 0


def test_records_appended_by_a_stopped_resume_are_told_apart_from_records_changed(tmp_path):
    run = archive_copy(tmp_path)
    record_plan(run)
    lines = lines_of(run / "trials.jsonl")
    ended = "".join(lines[:3]).encode()                            # what the run had written when it last ended

    def ended_after_three(m):
        m["status"] = "interrupted"
        m["files"]["trials.jsonl"] = hashlib.sha256(ended).hexdigest()
        m["trials"] = {"records": 3, "bytes": len(ended), "sha256": hashlib.sha256(ended).hexdigest()}
    edit_manifest(run, ended_after_three)
    result = invoke("replay", run, "-w", tmp_path)                  # records 4 and 5 came from a killed resume
    assert result.exit_code == 2 and "appended after the run last ended" in result.output
    assert "roadtest run --resume v2-tiny" in result.output
    assert "records were appended after the run last ended" in invoke("verify", run, "-w", tmp_path).output
    RunArchive(run).check_resumable()
    (run / "trials.jsonl").write_text(lines[0].replace('"latency_s": ', '"latency_s": 1') + "".join(lines[1:]))
    result = invoke("run", "--resume", run, "-w", tmp_path)
    assert result.exit_code == 1 and "no longer match the sha256 recorded then" in result.output


def test_a_lock_file_that_is_a_link_is_refused(tmp_path):
    run = archive_copy(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (run / LOCK).symlink_to(victim)
    result = invoke("replay", run, "-w", tmp_path)
    assert result.exit_code == 1 and ".lock: a symbolic link" in result.output
    with pytest.raises(AlteredArchive, match=".lock"):
        with RunArchive(run).lock():
            pass
    assert victim.read_text() == "keep me"


def test_a_renderer_that_wants_a_path_writes_beside_the_target_then_renames(tmp_path):
    run = archive_copy(tmp_path)
    archive = RunArchive(run)
    with archive.derived_path("report.pdf") as tmp:
        assert tmp.parent == run and tmp.name != "report.pdf"
        tmp.write_bytes(b"%PDF-1.7")
    assert (run / "report.pdf").read_bytes() == b"%PDF-1.7"
    with pytest.raises(ValueError):
        with archive.derived_path("report.pdf") as tmp:
            tmp.write_bytes(b"half")
            raise ValueError("the renderer failed")
    assert (run / "report.pdf").read_bytes() == b"%PDF-1.7"
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_a_run_killed_mid_way_resumes_to_the_end_sending_nothing_twice(tmp_path):
    proxy = FaultProxy(None, delay_s=0.2)
    items = [{"id": f"i{i}", "question": f"What is {i} plus 2?", "answer": i + 2, "kind": "add"} for i in range(10)]
    ws = write_workspace(tmp_path / "ws", url=proxy.start(), items=items)
    try:
        first = subprocess.Popen([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q", "--no-cache"],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list((ws / "runs").glob("*/trials.jsonl")) or \
                next((ws / "runs").glob("*/trials.jsonl")).read_text().count("\n") < 2:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        run = next((ws / "runs").iterdir())
        done = len(lines_of(run / "trials.jsonl"))
        result = invoke("run", "--resume", run.name, "-w", ws, "-q", "--no-cache")
        assert result.exit_code == 0, result.output
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        proxy.stop()
    ids = [json.loads(line)["trial_id"] for line in lines_of(run / "trials.jsonl")]
    assert len(ids) == len(set(ids)) == 10 and done < 10
    assert manifest_of(run)["status"] == "complete"
    assert invoke("verify", run, "-w", ws).exit_code == 0


def test_rerun_copies_only_the_plan_its_run_recorded(tmp_path):
    original = archive_copy(tmp_path)
    record_plan(original)
    target = fresh_archive(tmp_path)
    target.copy_plan(RunArchive(original))
    assert manifest_of(target.path)["plan"] == manifest_of(original)["plan"]
    assert (target.path / "plan.jsonl").read_bytes() == (original / "plan.jsonl").read_bytes()
    (original / "plan.jsonl").write_text("".join(lines_of(original / "plan.jsonl")[:4]))
    with pytest.raises(AlteredArchive, match="plan.jsonl: 4 trials"):
        fresh_archive(tmp_path).copy_plan(RunArchive(original))
    real = tmp_path / "real-plan.jsonl"
    shutil.move(original / "plan.jsonl", real)
    (original / "plan.jsonl").symlink_to(real)
    with pytest.raises(AlteredArchive, match="symbolic link"):
        fresh_archive(tmp_path).copy_plan(RunArchive(original))


def test_the_first_refused_write_is_kept_for_the_caller(tmp_path, monkeypatch):
    run = archive_copy(tmp_path)
    archive = RunArchive(run)
    assert archive.write_failure is None

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive_files.os, "replace", full)
    with pytest.raises(ArchiveWriteError):
        archive.write_derived("metrics.json", "{}")
    with pytest.raises(ArchiveWriteError) as later:
        archive.write_manifest(manifest_of(run))                   # a later failure repeats the cause
    assert later.value is archive.write_failure and "metrics.json" in later.value.message
    assert "`roadtest replay v2-tiny` writes metrics.json again" in later.value.hint
